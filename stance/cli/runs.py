"""Run commands: ``stance runs list|card|track``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from stance.cli._app import RunArg, WideOpt, console, handles_errors

runs_app = typer.Typer(help="List run directories; write a run's model card; log a run to a tracker.",
                       no_args_is_help=True)


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


@runs_app.command("card")
@handles_errors
def runs_card(
    run: RunArg,
    cross_validation: Annotated[Optional[Path], typer.Option(
        help="A cross-validation run of the same config, whose figures the card reports too.",
        show_default=False)] = None,
) -> None:
    """(Re)write RUN's model card, model/README.md, from the run as it is now (after `stance evaluate
    RUN --data FILE`, the card reports that file too)."""
    from stance.model_card import write_model_card
    from stance.runs import open_run

    path = write_model_card(open_run(run), cross_validation=open_run(cross_validation) if cross_validation else None)
    console.print(f"wrote [bold]{path}[/]")


@runs_app.command("track")
@handles_errors
def runs_track(
    run: RunArg,
    track: Annotated[str, typer.Option("--track", help="mlflow or tensorboard.")],
) -> None:
    """Log a finished RUN to MLflow or TensorBoard, as `stance run --track` does at the end of a run
    (MLFLOW_TRACKING_URI or the run config's tracking.uri picks the server, else ./mlruns)."""
    from stance.runs import open_run
    from stance.tracking import track_run

    where = track_run(open_run(run), track)
    console.print(f"logged to {where['backend']}: " + ", ".join(f"{k} {v}" for k, v in where.items() if k != "backend"),
                  highlight=False, soft_wrap=True)
