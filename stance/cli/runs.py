"""Run commands: ``stance runs list``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stance.cli._app import WideOpt, console, handles_errors

runs_app = typer.Typer(help="List run directories.", no_args_is_help=True)


@runs_app.command("list")
@handles_errors
def runs_list(parent: Annotated[Path, typer.Argument(help="Folder of runs.")] = Path("experiments"),
              wide: WideOpt = False) -> None:
    """One row per run: its id, status, dev and test macro-F1 (--wide: name, model, start, wall
    time and accuracies too)."""
    from stance.report import runs_view, show
    from stance.runs import list_runs

    table = list_runs(parent)
    if table.empty:
        console.print(f"no runs under {parent}")
        return
    show(runs_view(table, wide=wide), console=console, max_rows=200)
