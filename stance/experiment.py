"""A run from a config: load → split → train → evaluate → report.

These are the functions the CLI calls; each is just as usable from a notebook::

    from stance import load_config, run_experiment
    run, evaluation = run_experiment(load_config("configs/default.yaml"))
    evaluation.tables["per_class"]
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from stance.config import ExperimentConfig, apply_overrides
from stance.data import PREDICT_FIELDS, file_sha256, load_statements, read_table, validate_statements
from stance.errors import ConfigError, DataError, RunError, StanceError
from stance.evaluate import (
    Interval,
    PairedTest,
    bootstrap_interval,
    breakdown_table,
    classification_metrics,
    confusion_table,
    error_table,
    paired_bootstrap_test,
    per_class_table,
    reliability_table,
    summary_table,
)
from stance.models import Classifier, TextInputs, build_classifier, load_classifier
from stance.report import plot_history, write_atomic, write_evaluation_report, write_tables
from stance.distributed import is_main_process
from stance.runs import Run, fail_run, finish_run, new_run, new_shared_run, reopen_run
from stance.seed import set_seed
from stance.splits import SPLITS, Split, hold_out_episodes, load_split, make_split, split_frames

#: Bootstrap resampling uses one fixed seed so that intervals of different runs are comparable.
BOOTSTRAP_SEED = 0


@dataclass
class Evaluation:
    """Metrics and report tables of one model on one labelled set."""

    name: str
    metrics: dict[str, float]
    tables: dict[str, pd.DataFrame]
    intervals: list[Interval] = field(default_factory=list)
    #: Things a reader of the scores must know (a class missing from the set, truncated texts);
    #: the CLI prints each as a ``warning:`` line.
    warnings: list[str] = field(default_factory=list)

    @property
    def predicted(self) -> list[str]:
        return self.tables["predictions"]["predicted"].tolist()

    @property
    def gold(self) -> list[str]:
        return self.tables["predictions"]["gold"].tolist()


# ----------------------------------------------------------------------------------------------
# Steps


def load_data(config: ExperimentConfig) -> tuple[pd.DataFrame, Split]:
    """The validated statements and their episode split (from the split file, or made from the seed)."""
    frame = load_statements(config.data.path, config.data.labels)
    return frame, resolve_split(config, frame)


def resolve_split(config: ExperimentConfig, frame: pd.DataFrame) -> Split:
    """The config's split file, or (``data.splits: null``) a split made from ``split.seed``."""
    if config.data.splits is not None:
        return load_split(config.data.splits)
    return make_split(frame, seed=config.split.seed, dev_fraction=config.split.dev_fraction,
                      test_fraction=config.split.test_fraction)


def data_provenance(config: ExperimentConfig, frame: pd.DataFrame, split: Split) -> dict:
    """Hashes a reviewer needs to know the run saw the same data and the same split."""
    files = {str(config.data.path): file_sha256(config.data.path)}
    if config.data.splits is not None:
        files[str(config.data.splits)] = file_sha256(config.data.splits)
    sizes = split.assign(frame).value_counts().to_dict()
    return {"files_sha256": files, "split_membership_sha256": split.membership_sha256(frame), "split_sizes": sizes}


def fit(config: ExperimentConfig, parts: dict[str, pd.DataFrame], run: Run | None = None,
        *, progress: bool = False, resume_from: Path | None = None) -> tuple[Classifier, list[dict]]:
    """Build the configured classifier and fit it on train, selecting on dev."""
    set_seed(config.train.seed)
    if config.train.threads:
        import torch

        torch.set_num_threads(config.train.threads)
    classifier = build_classifier(config)
    if hasattr(classifier, "progress"):  # the transformer and the ensemble report epochs as they go
        classifier.progress = progress
    # Only the transformer checkpoints; baselines have nothing to resume.
    if run is not None and hasattr(classifier, "checkpoint_dir"):
        classifier.checkpoint_dir = run.checkpoint_dir
        classifier.resume_from = resume_from
    mode, labels = config.input.mode, config.data.labels
    for name in ("train", "dev"):
        missing = sorted(set(labels) - set(parts[name]["label"]))
        if missing and name == "train":
            raise DataError(f"the train split has no {', '.join(missing)} statements", hint="remake the split")
    history = classifier.fit(
        TextInputs.from_frame(parts["train"], mode), parts["train"]["label"].tolist(),
        TextInputs.from_frame(parts["dev"], mode) if len(parts["dev"]) else None,
        parts["dev"]["label"].tolist() if len(parts["dev"]) else None,
        seed=config.train.seed,
    )
    return classifier, history


def evaluate_predictions(
    frame: pd.DataFrame,
    proba: np.ndarray,
    labels: Sequence[str],
    *,
    name: str = "test",
    bootstrap: int = 1000,
    confidence: float = 0.95,
    cluster_by: str | None = None,
    breakdowns: Sequence[str] = (),
    truncated: int | None = None,
) -> Evaluation:
    """Metrics, intervals and report tables for predictions ``proba`` on labelled ``frame``.

    ``truncated`` (statements cut to the model's input length) joins the metrics when given. A
    label with no gold statements is a warning, not an error: its F1 counts as 0 and every
    metric stays defined.
    """
    labels = list(labels)
    gold = frame["label"].tolist()
    predicted = [labels[i] for i in proba.argmax(axis=1)]
    metrics = classification_metrics(gold, predicted, labels, proba)
    if truncated is not None:
        metrics["truncated"] = truncated
    warnings = []
    absent = [label for label in labels if label not in set(gold)]
    if absent:
        warnings.append(
            f"{name}: no {', '.join(repr(label) for label in absent)} statements, so macro-F1 counts "
            f"{'their' if len(absent) > 1 else 'its'} F1 as 0 and is at most {1 - len(absent) / len(labels):.2f} "
            "(metrics stay defined; evaluate on a set with every class to compare with other splits)"
        )
    groups = frame[cluster_by].tolist() if cluster_by else None
    intervals = []
    if bootstrap > 0:
        intervals = [
            bootstrap_interval(gold, predicted, metric, labels=labels, n_resamples=bootstrap,
                               confidence=confidence, seed=BOOTSTRAP_SEED, groups=groups)
            for metric in ("accuracy", "macro_f1")
        ]
    predictions = predictions_table(frame, proba, labels)
    tables = {
        "summary": summary_table(metrics, intervals),
        "per_class": per_class_table(gold, predicted, labels),
        "confusion": confusion_table(gold, predicted, labels).reset_index(),
        "reliability": reliability_table(np.array([labels.index(g) for g in gold]), proba),
    }
    for column in breakdowns:
        if column in frame.columns:
            tables[f"by_{column}"] = breakdown_table(
                predictions.assign(**{column: frame[column].to_numpy()}), column, labels
            )
    tables["errors"] = error_table(predictions, labels)
    tables["predictions"] = predictions
    return Evaluation(name, metrics, tables, intervals, warnings)


def predictions_table(frame: pd.DataFrame, proba: np.ndarray, labels: Sequence[str]) -> pd.DataFrame:
    """One row per statement: its id, context, gold and predicted label, and class probabilities."""
    keep = [c for c in ("id", "episode", "actor", "requester", "source_type", "text") if c in frame.columns]
    out = frame[keep].copy().reset_index(drop=True)
    out["gold"] = frame["label"].to_numpy()
    out["predicted"] = [labels[i] for i in proba.argmax(axis=1)]
    out["correct"] = out["gold"] == out["predicted"]
    for i, label in enumerate(labels):
        out[f"p_{label}"] = proba[:, i].round(6)
    return out


def evaluate_classifier(classifier: Classifier, frame: pd.DataFrame, config: ExperimentConfig, name: str) -> Evaluation:
    """Predict ``frame`` with ``classifier`` and evaluate it as the config says.

    Statements the model reads only in part (longer than its input length) are counted as the
    ``truncated`` metric, with a warning when there are any.
    """
    check_label_set(frame, classifier.labels, source=name)
    inputs = TextInputs.from_frame(frame, config.input.mode)
    proba = classifier.predict_proba(inputs)
    truncated = classifier.count_truncated(inputs)
    ev = config.evaluate
    evaluation = evaluate_predictions(frame, proba, classifier.labels, name=name, bootstrap=ev.bootstrap,
                                      confidence=ev.confidence, cluster_by=ev.cluster_by, breakdowns=ev.breakdowns,
                                      truncated=truncated)
    if truncated:
        evaluation.warnings.append(
            f"{name}: {truncated} of {len(frame)} statement(s) are longer than {getattr(classifier, 'max_length', '?')} "
            "tokens and were truncated (raise input.max_length to let the model read them whole)"
        )
    return evaluation


def check_label_set(frame: pd.DataFrame, labels: Sequence[str], source: str) -> None:
    """A labelled set may only use labels the model knows (``_line``, when present, names the lines)."""
    unknown_rows = ~frame["label"].isin(labels)
    if unknown_rows.any():
        unknown = sorted(set(frame.loc[unknown_rows, "label"]))
        where = ""
        if "_line" in frame.columns:
            lines = frame.loc[unknown_rows, "_line"].tolist()
            where = f" on line(s) {', '.join(str(n) for n in lines[:5])}" + (
                f" and {len(lines) - 5} more" if len(lines) > 5 else "")
        raise DataError(
            f"{source}: label(s) {', '.join(repr(label) for label in unknown)}{where} are not in the model's "
            f"label set ({', '.join(labels)})",
            hint="evaluate with data labelled in the model's scheme, or map the labels first",
        )


def save_evaluation(run: Run, evaluation: Evaluation) -> None:
    """Write an evaluation's tables, plots and HTML page under ``reports/<name>/`` and its metrics
    into metrics.json."""
    folder = run.reports_dir(evaluation.name)
    write_tables(evaluation.tables, folder, title=f"{run.id}: {evaluation.name}")
    history = run.path / "history.png"
    write_evaluation_report(evaluation.tables, folder, f"{run.id}: {evaluation.name} ({run.config().model.type})",
                            images={"training history": history} if history.is_file() else None)
    metrics = dict(evaluation.metrics)
    for interval in evaluation.intervals:
        metrics[f"{interval.metric}_ci_low"] = interval.low
        metrics[f"{interval.metric}_ci_high"] = interval.high
    run.record_metrics(evaluation.name, metrics)


# ----------------------------------------------------------------------------------------------
# The commands


def train(config: ExperimentConfig, *, command: str | None = None, progress: bool = False,
          evaluate_split: str | None = None, resume: Run | None = None,
          finish: bool = True, data: tuple[pd.DataFrame, Split] | None = None) -> tuple[Run, dict[str, Evaluation]]:
    """Train into a new run directory, evaluate on dev (and ``evaluate_split``), and finish the run.

    With ``resume``, training continues in that incomplete run, in its own folder, from its last
    complete checkpoint (from the start if it has none); the config and data must be the ones it
    started with (:func:`resume_run` takes care of that). With ``finish=False`` the run stays open
    (incomplete) for the caller to add to and finish. ``data`` passes statements and split already
    loaded by :func:`load_data`.
    """
    frame, split = data or load_data(config)
    parts = split_frames(frame, split, str(config.data.path))
    provenance = data_provenance(config, frame, split)
    # Under torchrun every process trains (DDP, through the Trainer); only rank 0 writes the run.
    main = is_main_process()
    if resume is not None:
        _check_resumable(resume, config, provenance)
        if main:
            reopen_run(resume, command)
    run = resume or new_shared_run(config, command=command)
    if main:
        run.update_manifest(data=provenance, seed=config.train.seed, kind="train" if finish else "run")
    try:
        resume_from = _last_checkpoint(run) if resume else None
        classifier, history = fit(config, parts, run, progress=progress and main, resume_from=resume_from)
        if not main:
            return run, {}
        classifier.save(run.model_dir)
        write_atomic(run.path / "history.csv", pd.DataFrame(history).to_csv(index=False))
        plot_history(pd.DataFrame(history), run.path / "history.png", title=f"{run.id}: training")
        evaluations = {}
        for name in dict.fromkeys(["dev", evaluate_split or "dev"]):
            if len(parts[name]):
                evaluations[name] = evaluate_classifier(classifier, parts[name], config, name)
                save_evaluation(run, evaluations[name])
    except BaseException as err:
        if main:
            fail_run(run, f"{type(err).__name__}: {err}",
                     status="interrupted" if isinstance(err, KeyboardInterrupt) else "failed")
        raise
    shutil.rmtree(run.checkpoint_dir, ignore_errors=True)
    return (finish_run(run) if finish else run), evaluations


def resume_run(run: Run, *, command: str | None = None, progress: bool = False) -> tuple[Run, dict[str, Evaluation]]:
    """Continue an interrupted ``stance train`` or ``stance run`` from its last checkpoint.

    The run keeps its folder, id and manifest (which records the resumption) and is renamed to its
    final name when it completes; the result is the same model and metrics as an uninterrupted run.
    Returns the run and its evaluations by split name.
    """
    if run.complete:
        raise RunError(f"{run.path} is complete: there is nothing to resume", hint="start a new run with `stance train CONFIG`")
    config = run.config()
    kind = run.manifest().get("kind", "train")
    if kind == "train":
        return train(config, command=command, progress=progress, resume=run)
    if kind == "run":
        finished, evaluation = run_experiment(config, command=command, progress=progress, resume=run)
        return finished, ({evaluation.name: evaluation} if evaluation is not None else {})  # None: not rank 0
    raise RunError(f"{run.path} is a {kind} run, which cannot be resumed", hint="start it again")


def _check_resumable(run: Run, config: ExperimentConfig, provenance: dict) -> None:
    if run.complete:
        raise RunError(f"{run.path} is complete: there is nothing to resume", hint="start a new run with `stance train CONFIG`")
    if run.config().dump() != config.dump():
        raise RunError(f"{run.path} was started with a different config",
                       hint="resume it with its own: `stance train --resume RUN`")
    started = run.manifest().get("data")
    if started and started != provenance:
        changed = [path for path, digest in provenance["files_sha256"].items()
                   if started.get("files_sha256", {}).get(path) != digest] or ["the split"]
        raise RunError(f"{run.path}: {', '.join(changed)} changed since the run started, so it cannot be resumed",
                       hint="restore the data or start a new run")


def _last_checkpoint(run: Run) -> Path | None:
    """The newest checkpoint written in full; newer half-written ones (a kill mid-save) are removed.

    The Trainer writes ``trainer_state.json`` last, so a checkpoint whose state parses and whose
    weights are safetensors is complete. Only safetensors weights are ever resumed from.
    """
    import json

    folders = [p for p in run.checkpoint_dir.glob("checkpoint-*") if p.name.rsplit("-", 1)[-1].isdigit()]
    for checkpoint in sorted(folders, key=lambda p: int(p.name.rsplit("-", 1)[-1]), reverse=True):
        try:
            state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = None
        if state is None or not (checkpoint / "model.safetensors").is_file():
            shutil.rmtree(checkpoint, ignore_errors=True)
            continue
        best = state.get("best_model_checkpoint")
        if best and Path(best).parent != run.checkpoint_dir:
            # The run folder was moved since: point the Trainer at the best checkpoint's new place.
            state["best_model_checkpoint"] = str(run.checkpoint_dir / Path(best).name)
            write_atomic(checkpoint / "trainer_state.json", json.dumps(state, indent=2))
        return checkpoint
    return None


def compare_with_baselines(config: ExperimentConfig, parts: dict[str, pd.DataFrame], evaluation: Evaluation,
                           run: Run | None = None) -> pd.DataFrame:
    """Fit each configured baseline on the same split, evaluate it on the same statements, and test it.

    One row per model (the run's own first): macro-F1 and accuracy with bootstrap intervals, the
    difference to the run's model and the p-value of a paired approximate-randomisation test.
    """
    ev = config.evaluate
    name = evaluation.name
    labels = config.data.labels
    rows = [comparison_row(config.model.type, evaluation, None)]
    for baseline in ev.baselines:
        if baseline == config.model.type:
            continue
        baseline_config = apply_overrides(config, {"model.type": baseline, "model.params": {}},
                                          source=f"evaluate.baselines: {baseline}")
        classifier, _ = fit(baseline_config, parts)
        result = evaluate_classifier(classifier, parts[name], baseline_config, name)
        test = paired_bootstrap_test(evaluation.gold, evaluation.predicted, result.predicted, labels=labels,
                                     n_resamples=ev.significance_resamples, seed=BOOTSTRAP_SEED)
        rows.append(comparison_row(baseline, result, test))
        if run is not None:
            folder = run.reports_dir(name) / "baselines"
            folder.mkdir(parents=True, exist_ok=True)
            write_atomic(folder / f"{baseline}_predictions.csv", result.tables["predictions"].to_csv(index=False))
    return pd.DataFrame(rows)


def comparison_row(model: str, evaluation: Evaluation, test: PairedTest | None,
                   difference: str = "model_minus_this") -> dict:
    """One row of a comparison table: ``model``, metrics with their intervals, and ``test``'s
    difference (in the column named ``difference``) and p-value (NaN without a test)."""
    row = {"model": model}
    for interval in evaluation.intervals:
        row[interval.metric] = interval.estimate
        row[f"{interval.metric}_low"] = interval.low
        row[f"{interval.metric}_high"] = interval.high
    if not evaluation.intervals:
        row.update(macro_f1=evaluation.metrics["macro_f1"], accuracy=evaluation.metrics["accuracy"])
    row[difference] = float("nan") if test is None else test.difference
    row["p_value"] = float("nan") if test is None else test.p_value
    return row


def run_experiment(config: ExperimentConfig, *, command: str | None = None,
                   progress: bool = False, resume: Run | None = None) -> tuple[Run, Evaluation | None]:
    """Train, evaluate on the config's held-out split beside the baselines, write every report.

    The one-command experiment. The held-out evaluation's tables gain ``comparison``: the model
    and every baseline of ``evaluate.baselines`` on the same statements, with intervals and
    paired p-values. ``resume`` continues that interrupted run (see :func:`resume_run`). Under
    torchrun, the processes other than rank 0 return ``(run, None)`` once training is done.
    """
    split_name = config.evaluate.split
    frame, split = load_data(config)
    run, evaluations = train(config, command=command, progress=progress, evaluate_split=split_name,
                             finish=False, data=(frame, split), resume=resume)
    if not is_main_process():  # another process of a torchrun job: it helped train; rank 0 reports
        return run, None
    evaluation = evaluations[split_name]
    try:
        if config.evaluate.baselines:
            parts = split_frames(frame, split, str(config.data.path))
            comparison = compare_with_baselines(config, parts, evaluation, run)
            evaluation.tables = {"comparison": comparison, **evaluation.tables}
            save_evaluation(run, evaluation)
    except BaseException as err:
        fail_run(run, f"{type(err).__name__}: {err}",
                 status="interrupted" if isinstance(err, KeyboardInterrupt) else "failed")
        raise
    run = finish_run(run)
    return run, evaluation


def evaluate_run(run: Run, data: str | Path | None = None, split: str | None = None) -> Evaluation:
    """Evaluate a finished run on a labelled file (default: the run's own data) or one of its splits."""
    config = run.config()
    path = Path(data) if data else config.data.path
    if split and split not in SPLITS:
        raise DataError(f"unknown split {split!r}", hint=f"use one of {', '.join(SPLITS)}")
    # read_table + validate_statements keep the file's line numbers (``_line``) for the label check.
    frame = validate_statements(read_table(path), path, labels=None, required=PREDICT_FIELDS)
    if "label" not in frame.columns:
        raise DataError(f"{path}: no 'label' column to evaluate against", hint="use `stance predict` for unlabelled data")
    frame = validate_statements(frame, path, labels=sorted(set(frame["label"].str.lower())))
    classifier = load_classifier(run.model_dir)
    check_label_set(frame, classifier.labels, source=str(path))
    frame = frame.drop(columns="_line").reset_index(drop=True)
    name = Path(path).stem
    if split:
        frame = split_frames(frame, resolve_split(config, frame), str(path))[split]
        name = f"{name}-{split}"
        if frame.empty:
            raise StanceError(f"{path}: split {split!r} is empty")
    evaluation = evaluate_classifier(classifier, frame, config, name)
    save_evaluation(run, evaluation)
    return evaluation


# ----------------------------------------------------------------------------------------------
# Cross-validation

#: The name under which a cross-validation run reports its pooled out-of-fold predictions.
CROSS_VALIDATION = "cross_validation"


@dataclass
class CrossValidation:
    """A cross-validation run: per-fold metrics, their mean ± std, and the pooled evaluation."""

    run: Run
    folds: pd.DataFrame  # fold, episodes, train, dev, test (statements), then the fold's metrics
    aggregate: pd.DataFrame  # metric, mean, std, min, max over the folds
    evaluation: Evaluation  # every statement, predicted by the model of the fold that held it out


def cross_validate(config: ExperimentConfig, folds: int | None = None, *,
                   command: str | None = None) -> CrossValidation:
    """k-fold cross-validation by episode over the whole data file, written as a run.

    scikit-learn's GroupKFold deals whole episodes into ``folds`` folds (default:
    ``evaluate.cross_validation``), so no episode is on both sides. Each fold fits the configured
    model on the other folds less a dev slice for model selection (whole episodes,
    ``split.dev_fraction`` of those statements, stratified by label, as the fixed split takes dev)
    and predicts the held-out fold. ``reports/cross_validation/`` holds ``folds``, ``mean_std``
    (sample std over folds) and every usual table and plot of the pooled out-of-fold predictions.
    Those cover each statement once, so ``stance report compare --split cross_validation`` pairs
    this run with a cross-validation of a baseline config on the same file.
    """
    from sklearn.model_selection import GroupKFold

    k = folds or config.evaluate.cross_validation
    if k is None:
        raise ConfigError("cross-validation needs a number of folds", hint="set evaluate.cross_validation=5")
    config = apply_overrides(config, {"evaluate.cross_validation": k}, source="cross_validate")
    frame = load_statements(config.data.path, config.data.labels)
    if k > frame["episode"].nunique():
        raise DataError(f"{config.data.path}: {k} folds need {k} episodes, found {frame['episode'].nunique()}",
                        hint="use fewer folds")
    labels, ev = config.data.labels, config.evaluate
    run = new_run(config, command=command)
    run.update_manifest(kind=CROSS_VALIDATION, seed=config.train.seed,
                        data={"files_sha256": {str(config.data.path): file_sha256(config.data.path)}})
    try:
        proba, rows, episodes = np.zeros((len(frame), len(labels))), [], {}
        for fold, (rest, held) in enumerate(GroupKFold(n_splits=k).split(frame, groups=frame["episode"]), start=1):
            parts = {**_hold_out_dev(frame.iloc[rest].reset_index(drop=True), config),
                     "test": frame.iloc[held].reset_index(drop=True)}
            classifier, _ = fit(config, parts)
            proba[held] = classifier.predict_proba(TextInputs.from_frame(parts["test"], config.input.mode))
            metrics = evaluate_predictions(parts["test"], proba[held], labels, name=f"fold {fold}", bootstrap=0).metrics
            episodes[fold] = sorted(parts["test"]["episode"].unique())
            rows.append({"fold": fold, "episodes": len(episodes[fold]), **{n: len(p) for n, p in parts.items()},
                         **{m: v for m, v in metrics.items() if m != "n"}})
        fold_table = pd.DataFrame(rows)
        metric_columns = [c for c in fold_table.columns if c not in ("fold", "episodes", "train", "dev", "test")]
        aggregate = fold_table[metric_columns].agg(["mean", "std", "min", "max"]).T.rename_axis("metric").reset_index()
        evaluation = evaluate_predictions(frame, proba, labels, name=CROSS_VALIDATION, bootstrap=ev.bootstrap,
                                          confidence=ev.confidence, cluster_by=ev.cluster_by, breakdowns=ev.breakdowns)
        evaluation.tables = {"folds": fold_table, "mean_std": aggregate, **evaluation.tables}
        by_metric = aggregate.set_index("metric")
        evaluation.metrics.update({f"{m}_fold_{stat}": float(by_metric.loc[m, stat])
                                   for m in ("accuracy", "macro_f1") for stat in ("mean", "std")})
        save_evaluation(run, evaluation)
        run.update_manifest(folds={str(fold): names for fold, names in episodes.items()})
    except BaseException as err:
        fail_run(run, f"{type(err).__name__}: {err}",
                 status="interrupted" if isinstance(err, KeyboardInterrupt) else "failed")
        raise
    return CrossValidation(finish_run(run), fold_table, aggregate, evaluation)


def _hold_out_dev(train: pd.DataFrame, config: ExperimentConfig) -> dict[str, pd.DataFrame]:
    is_dev = np.zeros(len(train), dtype=bool)
    is_dev[hold_out_episodes(train, config.split.dev_fraction, config.split.seed)] = True
    return {"train": train[~is_dev].reset_index(drop=True), "dev": train[is_dev].reset_index(drop=True)}


# ----------------------------------------------------------------------------------------------
# Seeds and sweeps


def run_many(config: ExperimentConfig, *, command: str | None = None, progress: bool = False) -> tuple[Path, pd.DataFrame]:
    """One run per sweep point and seed, then an aggregated report in ``<output.dir>/<id>-sweep/``.

    Returns the folder and the per-run table (the point's keys, seed, run id, dev and held-out
    metrics). ``aggregate.csv`` holds mean ± std per point; ``runs.csv`` every run.
    """
    from stance.config import expand
    from stance.runs import new_sweep_dir, write_json

    points = expand(config)
    folder = new_sweep_dir(config)
    rows = []
    for assignments, point_config in points:
        if point_config.evaluate.cross_validation:
            run = cross_validate(point_config, command=command).run
        else:
            run, _ = run_experiment(point_config, command=command, progress=progress)
        metrics = run.metrics()
        row = {**assignments, "run": run.id}
        for split, values in metrics.items():
            for key in ("macro_f1", "accuracy"):
                if key in values:
                    row[f"{split}_{key}"] = values[key]
        rows.append(row)
    runs = pd.DataFrame(rows)
    aggregate = aggregate_runs(runs, keys=[k for k in runs.columns if k in (config.sweep or {})])
    write_tables({"aggregate": aggregate, "runs": runs}, folder, title=f"sweep {folder.name}")
    write_json(folder / "sweep.json", {"config": config.dump(), "points": [p for p, _ in points], "command": command})
    return folder, runs


def aggregate_runs(runs: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Mean, standard deviation and count of every metric column per sweep point."""
    metrics = [c for c in runs.columns if c.endswith(("macro_f1", "accuracy"))]
    grouped = runs.groupby(list(keys), dropna=False) if keys else runs.assign(_all="all").groupby("_all")
    table = grouped[metrics].agg(["mean", "std", "count"])
    table.columns = [f"{metric}_{stat}" for metric, stat in table.columns]
    table = table.reset_index()
    return table.drop(columns=["_all"], errors="ignore")


# ----------------------------------------------------------------------------------------------
# Reproduction


@dataclass
class Reproduction:
    """The comparison of a rerun with its original."""

    original: Run
    rerun: Run
    metrics: pd.DataFrame  # split, metric, original, reproduced, difference, ok
    warnings: list[str]
    predictions_identical: bool

    @property
    def ok(self) -> bool:
        return bool(self.metrics["ok"].all()) and self.predictions_identical


def reproduce_run(original: Run, *, tolerance: float = 0.0, progress: bool = False) -> Reproduction:
    """Rerun ``original`` from its saved config into a new run and compare every metric.

    ``tolerance`` is the largest absolute difference accepted (0: bit for bit, what the CPU
    gives). Warnings name environment differences that could explain a mismatch: package
    versions, data and split hashes.
    """
    config = original.config()
    manifest = original.manifest()
    warnings = _environment_differences(manifest, config)
    kind = manifest.get("kind", "run")
    if kind == "train":
        rerun, _ = train(config, command=f"stance reproduce {original.path}", progress=progress)
    elif kind == CROSS_VALIDATION:
        rerun = cross_validate(config, command=f"stance reproduce {original.path}").run
    else:
        rerun, _ = run_experiment(config, command=f"stance reproduce {original.path}", progress=progress)
    rows = []
    new_metrics = rerun.metrics()
    for split, values in original.metrics().items():
        for metric, value in values.items():
            again = new_metrics.get(split, {}).get(metric)
            diff = float("nan") if again is None else abs(float(again) - float(value))
            ok = again is not None and (diff <= tolerance or (np.isnan(value) and np.isnan(again)))
            rows.append({"split": split, "metric": metric, "original": value, "reproduced": again,
                         "difference": diff, "ok": bool(ok)})
    identical = all(
        _same_file(original.reports_dir(split) / "predictions.csv", rerun.reports_dir(split) / "predictions.csv")
        for split in original.metrics()
    )
    return Reproduction(original, rerun, pd.DataFrame(rows), warnings, identical)


def _same_file(a: Path, b: Path) -> bool:
    return a.is_file() and b.is_file() and a.read_bytes() == b.read_bytes()


def _environment_differences(manifest: dict, config: ExperimentConfig) -> list[str]:
    from stance.runs import environment

    warnings = []
    before = manifest.get("environment", {}).get("packages", {})
    now = environment()["packages"]
    for name, version in before.items():
        if now.get(name) != version:
            warnings.append(f"{name} was {version}, is {now.get(name)}")
    for path, digest in manifest.get("data", {}).get("files_sha256", {}).items():
        if not Path(path).is_file():
            warnings.append(f"data file {path} is missing")
        elif file_sha256(path) != digest:
            warnings.append(f"data file {path} has changed: sha256 was {digest[:12]}…, is {file_sha256(path)[:12]}…")
    return warnings
