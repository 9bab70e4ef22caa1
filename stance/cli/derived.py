"""Commands that make a better model out of a finished run: calibrate (temperature scaling) and
distill (a small student trained on a teacher run's probabilities)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from stance.cli._app import RunArg, app, command_line, console, handles_errors


@app.command()
@handles_errors
def calibrate(run: RunArg) -> None:
    """Temperature-scale RUN from its saved dev predictions, without retraining.

    Fits one temperature T on reports/dev/predictions.csv, saves it in the model card (predict,
    evaluate, analyze and annotate use it from then on) and rescores every evaluated split with ECE
    before and after. New runs with evaluate.calibrate: true (the default) are calibrated already.
    """
    from stance.recipes import calibrate_run
    from stance.report import show
    from stance.runs import open_run

    result = calibrate_run(open_run(run), command=command_line())
    rows = [{"split": name, "ece_before": e.metrics["ece_uncalibrated"], "ece_after": e.metrics["ece"],
             "log_loss_before": e.metrics["log_loss_uncalibrated"], "log_loss_after": e.metrics["log_loss"]}
            for name, e in result.evaluations.items()]
    import pandas as pd

    show(pd.DataFrame(rows), title=f"temperature T = {result.temperature:.4f} (fitted on dev)", console=console)
    console.print(f"calibrated: [bold]{result.run.path}[/]")
