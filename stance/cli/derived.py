"""Commands that make a better model out of a finished run: calibrate (temperature scaling) and
distill (a small student trained on a teacher run's probabilities)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from stance.cli._app import ConfigArg, RunArg, SetOpt, WideOpt, app, command_line, console, handles_errors


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


@app.command()
@handles_errors
def distill(
    teacher: Annotated[Path, typer.Argument(help="The teacher: a finished run directory.", show_default=False)],
    config: ConfigArg,
    unlabelled: Annotated[Optional[Path], typer.Option(
        help="Statements without labels (text, and request for request_text models) that the teacher labels "
        "for the student to fit too.", show_default=False)] = None,
    set_: SetOpt = None,
    wide: WideOpt = False,
) -> None:
    """Train CONFIG's model on TEACHER's class probabilities (knowledge distillation), as a new run.

    The student fits the teacher's probabilities on the train split (and on --unlabelled), softened by
    distill.temperature and mixed with the gold labels by distill.hard_weight; it is then calibrated
    and evaluated like `stance run`. The run's config names the teacher, which reproducing it needs.
    """
    from stance.cli.experiments import print_evaluation
    from stance.config import load_config
    from stance.recipes import distill as distill_run

    run, evaluation = distill_run(teacher, load_config(config, set_ or []), unlabelled=unlabelled,
                                  command=command_line(), progress=True)
    if evaluation is None:  # a torchrun process other than rank 0: rank 0 reports
        return
    print_evaluation(evaluation, f"student of {teacher}: {evaluation.name} split ({run.id})", full=True, wide=wide)
    console.print(f"reports: [bold]{run.reports_dir(evaluation.name)}[/]")
