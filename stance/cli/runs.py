"""Run commands: ``stance runs list``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stance.cli._app import console, handles_errors

runs_app = typer.Typer(help="List run directories.", no_args_is_help=True)


@runs_app.command("list")
@handles_errors
def runs_list(parent: Annotated[Path, typer.Argument(help="Folder of runs.")] = Path("experiments")) -> None:
    """One row per run: name, model, status, dev and test macro-F1."""
    from stance.report import show
    from stance.runs import list_runs

    table = list_runs(parent)
    if table.empty:
        console.print(f"no runs under {parent}")
        return
    show(table, console=console, max_rows=200)
