"""One model scored on one labelled set: the :class:`Evaluation` every recipe, comparison and report
reads, and the functions that make it from predictions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from stance.errors import DataError
from stance.evaluate.metrics import (
    classification_metrics,
    confusion_table,
    official_metric,
    per_class_table,
    reliability_table,
)
from stance.evaluate.resampling import Interval, PairedTest, bootstrap_interval, ece_interval
from stance.evaluate.tables import breakdown_table, error_table, summary_table
from stance.io import LABEL, PREDICTION, with_predictions

#: Bootstrap resampling uses one fixed seed so that intervals of different runs are comparable.
BOOTSTRAP_SEED = 0

#: Columns of the evaluated statements kept in a predictions table, when present, before the gold label.
CONTEXT_COLUMNS: tuple[str, ...] = ("id", "episode", "actor", "requester", "source_type", "text")


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
        return self.tables["predictions"][PREDICTION].tolist()

    @property
    def gold(self) -> list[str]:
        return self.tables["predictions"][LABEL].tolist()


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
    official: Sequence[str] = (),
    uncalibrated: np.ndarray | None = None,
    temperature: float | None = None,
) -> Evaluation:
    """Metrics, intervals and report tables for predictions ``proba`` on labelled ``frame``.

    ``official`` names a task's official metrics (:data:`~stance.labels.OFFICIAL_METRICS`, e.g.
    ``f_avg``), computed and bootstrapped beside accuracy and macro-F1.

    ``truncated`` (statements cut to the model's input length) joins the metrics when given.
    ``uncalibrated`` are the probabilities before temperature scaling (``proba`` after it, with
    ``temperature``): the metrics gain ``ece_uncalibrated``, ``log_loss_uncalibrated`` and
    ``temperature``, the reliability table the bins before scaling beside those after. A
    label with no gold statements is a warning, not an error: its F1 counts as 0 and every
    metric stays defined.
    """
    labels = list(labels)
    gold = frame[LABEL].tolist()
    predicted = [labels[i] for i in proba.argmax(axis=1)]
    metrics = classification_metrics(gold, predicted, labels, proba)
    for metric in official:
        metrics[metric] = official_metric(gold, predicted, labels, metric)
    if truncated is not None:
        metrics["truncated"] = truncated
    if uncalibrated is not None:
        before = classification_metrics(gold, predicted, labels, uncalibrated)
        metrics.update(ece_uncalibrated=before["ece"], log_loss_uncalibrated=before["log_loss"])
        if temperature is not None:
            metrics["temperature"] = float(temperature)
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
            for metric in ("accuracy", "macro_f1", *official)
        ]
        intervals.append(ece_interval([labels.index(g) for g in gold], proba, n_resamples=bootstrap,
                                      confidence=confidence, seed=BOOTSTRAP_SEED, groups=groups))
    predictions = predictions_table(frame, proba, labels)
    tables = {
        "summary": summary_table(metrics, intervals),
        "per_class": per_class_table(gold, predicted, labels),
        "confusion": confusion_table(gold, predicted, labels).reset_index(),
        "reliability": reliability_table(np.array([labels.index(g) for g in gold]), proba, uncalibrated=uncalibrated),
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
    """One row per statement in :mod:`stance.io`'s prediction schema: its id and context, the gold
    ``label``, the ``prediction``, whether it is ``correct``, and the class probabilities."""
    keep = [c for c in CONTEXT_COLUMNS if c in frame.columns]
    out = frame[keep].copy().reset_index(drop=True)
    out[LABEL] = frame[LABEL].to_numpy()
    out = with_predictions(out, proba, labels)
    out.insert(out.columns.get_loc(PREDICTION) + 1, "correct", out[LABEL] == out[PREDICTION])
    return out


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


def check_label_set(frame: pd.DataFrame, labels: Sequence[str], source: str) -> None:
    """A labelled set may only use labels the model knows (``_line``, when present, names the lines)."""
    unknown_rows = ~frame[LABEL].isin(labels)
    if unknown_rows.any():
        unknown = sorted(set(frame.loc[unknown_rows, LABEL]))
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
