"""The root Typer app, its error handling, and the terminal output every command group shares."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from stance.errors import StanceError

app = typer.Typer(
    help="Classify how governments answer an ally's request: decline, consider or comply.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

console = Console()
err_console = Console(stderr=True)
_state = {"debug": False}

ConfigArg = Annotated[Path, typer.Argument(help="Experiment config (YAML).", show_default=False)]
SetOpt = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Override a config key, e.g. --set train.learning_rate=3e-5 (repeatable)."),
]
RunArg = Annotated[Path, typer.Argument(help="Run directory (under experiments/).", show_default=False)]
TrackOpt = Annotated[Optional[str], typer.Option(
    "--track", help="Also log the run to mlflow or tensorboard (sets tracking.backend; MLFLOW_TRACKING_URI picks "
    "the MLflow server, else ./mlruns).", show_default=False)]
WideOpt = Annotated[bool, typer.Option("--wide", help="Show every column of the tables (the default fits an "
                                       "80-column terminal; the CSV files always hold every column).")]


def handles_errors(command):
    """Turn a StanceError into its one-line message and exit status 1 (traceback with --debug)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except StanceError as err:
            if _state["debug"]:
                raise
            # One line, whatever the message quotes; escaped, because user data (labels, paths)
            # must not be read as rich markup.
            message = " ".join(str(err).splitlines())
            err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
            raise typer.Exit(err.exit_code) from None
        except KeyboardInterrupt:
            if _state["debug"]:
                raise
            err_console.print("interrupted (an unfinished run stays <id>.incomplete; `stance train --resume RUN` "
                              "continues it)", highlight=False, soft_wrap=True)
            raise typer.Exit(130) from None

    return wrapper


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")] = False,
) -> None:
    _state["debug"] = debug
    # The CLI owns the terminal: keep the libraries' load reports and per-file progress bars out of
    # it (our own rich progress shows training and prediction). --debug lets them through.
    if not debug:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


def command_line() -> str:
    """The command as typed, recorded in each run's provenance."""
    return " ".join(["stance", *sys.argv[1:]])


def warn(message: str) -> None:
    """One ``warning:`` line on stderr (the message quotes user data, so it is not read as markup)."""
    err_console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


def refuse_existing(*paths: Optional[Path], force: bool) -> None:
    """Stop before any work if an output file exists and ``--force`` was not given."""
    for path in paths:
        if path is not None and path.exists() and not force:
            raise StanceError(f"{path} already exists", hint="pass --force to overwrite it")


def with_tracking(overrides: Optional[list[str]], track: Optional[str]) -> list[str]:
    """The ``--set`` overrides with ``--track BACKEND`` added as ``tracking.backend=BACKEND``."""
    return [*(overrides or []), *([f"tracking.backend={track}"] if track else [])]
