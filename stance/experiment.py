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
from stance.data import file_sha256, load_statements
from stance.errors import DataError, StanceError
from stance.evaluate import (
    Interval,
    bootstrap_interval,
    breakdown_table,
    classification_metrics,
    confusion_table,
    error_table,
    paired_bootstrap_test,
    per_class_table,
    summary_table,
)
from stance.models import Classifier, TextInputs, build_classifier, load_classifier
from stance.report import write_atomic, write_tables
from stance.runs import Run, fail_run, finish_run, new_run
from stance.seed import set_seed
from stance.splits import Split, load_split, make_split, split_frames

#: Bootstrap resampling uses one fixed seed so that intervals of different runs are comparable.
BOOTSTRAP_SEED = 0


@dataclass
class Evaluation:
    """Metrics and report tables of one model on one labelled set."""

    name: str
    metrics: dict[str, float]
    tables: dict[str, pd.DataFrame]
    intervals: list[Interval] = field(default_factory=list)

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
    if config.data.splits is not None:
        split = load_split(config.data.splits)
    else:
        split = make_split(frame, seed=config.split.seed, dev_fraction=config.split.dev_fraction,
                           test_fraction=config.split.test_fraction)
    return frame, split


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
    # Only the transformer checkpoints; baselines have nothing to resume.
    if run is not None and hasattr(classifier, "checkpoint_dir"):
        classifier.checkpoint_dir = run.checkpoint_dir
        classifier.resume_from = resume_from
        classifier.progress = progress
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
) -> Evaluation:
    """Metrics, intervals and report tables for predictions ``proba`` on labelled ``frame``."""
    labels = list(labels)
    gold = frame["label"].tolist()
    predicted = [labels[i] for i in proba.argmax(axis=1)]
    metrics = classification_metrics(gold, predicted, labels, proba)
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
    }
    for column in breakdowns:
        if column in frame.columns:
            tables[f"by_{column}"] = breakdown_table(
                predictions.assign(**{column: frame[column].to_numpy()}), column, labels
            )
    tables["errors"] = error_table(predictions, labels)
    tables["predictions"] = predictions
    return Evaluation(name, metrics, tables, intervals)


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
    """Predict ``frame`` with ``classifier`` and evaluate it as the config says."""
    check_label_set(frame, classifier.labels, source=name)
    proba = classifier.predict_proba(TextInputs.from_frame(frame, config.input.mode))
    ev = config.evaluate
    return evaluate_predictions(frame, proba, classifier.labels, name=name, bootstrap=ev.bootstrap,
                                confidence=ev.confidence, cluster_by=ev.cluster_by, breakdowns=ev.breakdowns)


def check_label_set(frame: pd.DataFrame, labels: Sequence[str], source: str) -> None:
    """A labelled set may only use labels the model knows."""
    unknown = sorted(set(frame["label"]) - set(labels))
    if unknown:
        raise DataError(
            f"{source}: label(s) {', '.join(unknown)} are not in the model's label set ({', '.join(labels)})",
            hint="evaluate with data labelled in the same scheme",
        )


def save_evaluation(run: Run, evaluation: Evaluation) -> None:
    """Write an evaluation's tables under ``reports/<name>/`` and its metrics into metrics.json."""
    write_tables(evaluation.tables, run.reports_dir(evaluation.name), title=f"{run.id}: {evaluation.name}")
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

    With ``resume``, training continues in that incomplete run from its last checkpoint. With
    ``finish=False`` the run stays open (incomplete) for the caller to add to and finish. ``data``
    passes statements and split already loaded by :func:`load_data`.
    """
    frame, split = data or load_data(config)
    parts = split_frames(frame, split, str(config.data.path))
    run = resume or new_run(config, command=command)
    run.update_manifest(data=data_provenance(config, frame, split), seed=config.train.seed,
                        kind="train" if finish else "run")
    try:
        resume_from = _last_checkpoint(run) if resume else None
        classifier, history = fit(config, parts, run, progress=progress, resume_from=resume_from)
        classifier.save(run.model_dir)
        write_atomic(run.path / "history.csv", pd.DataFrame(history).to_csv(index=False))
        evaluations = {}
        for name in dict.fromkeys(["dev", evaluate_split or "dev"]):
            if len(parts[name]):
                evaluations[name] = evaluate_classifier(classifier, parts[name], config, name)
                save_evaluation(run, evaluations[name])
    except BaseException as err:
        fail_run(run, f"{type(err).__name__}: {err}")
        raise
    shutil.rmtree(run.checkpoint_dir, ignore_errors=True)
    return (finish_run(run) if finish else run), evaluations


def _last_checkpoint(run: Run) -> Path | None:
    checkpoints = sorted(run.checkpoint_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    return checkpoints[-1] if checkpoints else None


def compare_with_baselines(config: ExperimentConfig, parts: dict[str, pd.DataFrame], evaluation: Evaluation,
                           run: Run | None = None) -> pd.DataFrame:
    """Fit each configured baseline on the same split, evaluate it on the same statements, and test it.

    One row per model (the run's own first): macro-F1 and accuracy with bootstrap intervals, the
    difference to the run's model and the p-value of a paired approximate-randomisation test.
    """
    ev = config.evaluate
    name = evaluation.name
    labels = config.data.labels
    rows = [_comparison_row(config.model.type, evaluation, None)]
    for baseline in ev.baselines:
        if baseline == config.model.type:
            continue
        baseline_config = apply_overrides(config, {"model.type": baseline, "model.params": {}},
                                          source=f"evaluate.baselines: {baseline}")
        classifier, _ = fit(baseline_config, parts)
        result = evaluate_classifier(classifier, parts[name], baseline_config, name)
        test = paired_bootstrap_test(evaluation.gold, evaluation.predicted, result.predicted, labels=labels,
                                     n_resamples=ev.significance_resamples, seed=BOOTSTRAP_SEED)
        rows.append(_comparison_row(baseline, result, test))
        if run is not None:
            folder = run.reports_dir(name) / "baselines"
            folder.mkdir(parents=True, exist_ok=True)
            write_atomic(folder / f"{baseline}_predictions.csv", result.tables["predictions"].to_csv(index=False))
    return pd.DataFrame(rows)


def _comparison_row(model: str, evaluation: Evaluation, test) -> dict:
    row = {"model": model}
    for interval in evaluation.intervals:
        row[interval.metric] = interval.estimate
        row[f"{interval.metric}_low"] = interval.low
        row[f"{interval.metric}_high"] = interval.high
    if not evaluation.intervals:
        row.update(macro_f1=evaluation.metrics["macro_f1"], accuracy=evaluation.metrics["accuracy"])
    row["model_minus_this"] = float("nan") if test is None else test.difference
    row["p_value"] = float("nan") if test is None else test.p_value
    return row


def run_experiment(config: ExperimentConfig, *, command: str | None = None,
                   progress: bool = False) -> tuple[Run, Evaluation]:
    """Train, evaluate on the config's held-out split beside the baselines, write every report.

    The one-command experiment. The held-out evaluation's tables gain ``comparison``: the model
    and every baseline of ``evaluate.baselines`` on the same statements, with intervals and
    paired p-values.
    """
    split_name = config.evaluate.split
    frame, split = load_data(config)
    run, evaluations = train(config, command=command, progress=progress, evaluate_split=split_name,
                             finish=False, data=(frame, split))
    evaluation = evaluations[split_name]
    try:
        if config.evaluate.baselines:
            parts = split_frames(frame, split, str(config.data.path))
            comparison = compare_with_baselines(config, parts, evaluation, run)
            evaluation.tables = {"comparison": comparison, **evaluation.tables}
            save_evaluation(run, evaluation)
    except BaseException as err:
        fail_run(run, f"{type(err).__name__}: {err}")
        raise
    run = finish_run(run)
    return run, evaluation


def evaluate_run(run: Run, data: str | Path | None = None, split: str | None = None) -> Evaluation:
    """Evaluate a finished run on a labelled file (default: the run's own data) or one of its splits."""
    config = run.config()
    path = Path(data) if data else config.data.path
    frame = load_statements(path, labels=None)
    if "label" not in frame.columns:
        raise DataError(f"{path}: no 'label' column to evaluate against", hint="use `stance predict` for unlabelled data")
    frame = load_statements(path, labels=sorted(set(frame["label"].str.lower())))
    name = Path(path).stem
    if split:
        split_obj = load_split(config.data.splits) if config.data.splits else make_split(
            frame, seed=config.split.seed, dev_fraction=config.split.dev_fraction, test_fraction=config.split.test_fraction)
        frame = split_frames(frame, split_obj, str(path))[split]
        name = f"{name}-{split}"
        if frame.empty:
            raise StanceError(f"{path}: split {split!r} is empty")
    classifier = load_classifier(run.model_dir)
    evaluation = evaluate_classifier(classifier, frame, config, name)
    save_evaluation(run, evaluation)
    return evaluation


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
        run, evaluation = run_experiment(point_config, command=command, progress=progress)
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
