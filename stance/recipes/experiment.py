"""``stance run``: the one-command experiment. Train, evaluate on the held-out split beside the
baselines, write every report."""

from __future__ import annotations

import pandas as pd

from stance.config import ExperimentConfig, apply_overrides
from stance.distributed import is_main_process
from stance.evaluate import BOOTSTRAP_SEED, Evaluation, comparison_row, paired_bootstrap_test
from stance.io import write_frame
from stance.models import MODELS
from stance.recipes.steps import conclude_run, evaluate_classifier, fit, load_data, save_evaluation, training_parts
from stance.recipes.training import train
from stance.runs import Run, recording


def run_experiment(config: ExperimentConfig, *, command: str | None = None,
                   progress: bool = False, resume: Run | None = None) -> tuple[Run, Evaluation | None]:
    """Train, evaluate on the config's held-out split beside the baselines, write every report.

    The held-out evaluation's tables gain ``comparison``: the model and every baseline of
    ``evaluate.baselines`` on the same statements, with intervals and paired p-values. ``resume``
    continues that interrupted run (see :func:`stance.recipes.resume_run`). Under torchrun, the
    processes other than rank 0 return ``(run, None)`` once training is done.
    """
    split_name = config.evaluate.split
    baselines, _ = usable_baselines(config)  # before any training: the CLI has shown why any are skipped
    frame, split = load_data(config)
    run, evaluations = train(config, command=command, progress=progress, evaluate_split=split_name,
                             finish=False, data=(frame, split), resume=resume)
    if not is_main_process():  # another process of a torchrun job: it helped train; rank 0 reports
        return run, None
    evaluation = evaluations[split_name]
    with recording(run):
        if baselines:
            parts = training_parts(config, frame, split)  # the baselines train on what the model trained on
            comparison = compare_with_baselines(config, parts, evaluation, run, baselines)
            evaluation.tables = {"comparison": comparison, **evaluation.tables}
            save_evaluation(run, evaluation)
    return conclude_run(run), evaluation


def usable_baselines(config: ExperimentConfig) -> tuple[list[str], list[str]]:
    """The baselines of ``evaluate.baselines`` that can serve ``data.labels``, and a warning for each
    one that cannot (the keyword lexicon knows only decline / consider / comply): checked from the
    config alone, so that a run never trains for minutes and then fails at its baselines."""
    usable, warnings = [], []
    for baseline in config.evaluate.baselines:
        entry = MODELS.get(baseline)
        problem = entry.label_problem(config.data.labels, config.evaluate.baseline_params.get(baseline, {})) if (
            entry is not None and entry.label_problem is not None) else None
        if problem:
            warnings.append(f"evaluate.baselines: skipping {baseline}: {problem}")
        else:
            usable.append(baseline)
    return usable, warnings


def compare_with_baselines(config: ExperimentConfig, parts: dict[str, pd.DataFrame], evaluation: Evaluation,
                           run: Run | None = None, baselines: list[str] | None = None) -> pd.DataFrame:
    """Fit each baseline (default: ``evaluate.baselines``) on the same split, evaluate it on the same
    statements, and test it; ``evaluate.baseline_params`` gives a baseline its ``model.params``.

    One row per model (the run's own first): macro-F1 and accuracy with bootstrap intervals, the
    difference to the run's model and the p-value of a paired approximate-randomisation test.
    """
    ev = config.evaluate
    name = evaluation.name
    labels = config.data.labels
    rows = [comparison_row(config.model.type, evaluation, None)]
    for baseline in ev.baselines if baselines is None else baselines:
        if baseline == config.model.type:
            continue
        params = ev.baseline_params.get(baseline, {})
        baseline_config = apply_overrides(config, {"model.type": baseline, "model.params": params},
                                          source=f"evaluate.baselines: {baseline}")
        classifier, _ = fit(baseline_config, parts)
        result = evaluate_classifier(classifier, parts[name], baseline_config, name)
        test = paired_bootstrap_test(evaluation.gold, evaluation.predicted, result.predicted, labels=labels,
                                     n_resamples=ev.significance_resamples, seed=BOOTSTRAP_SEED)
        rows.append(comparison_row(baseline, result, test))
        if run is not None:
            write_frame(result.tables["predictions"], run.reports_dir(name) / "baselines" / f"{baseline}_predictions.csv")
    return pd.DataFrame(rows)
