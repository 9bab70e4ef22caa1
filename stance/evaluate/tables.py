"""Report tables built from scores and predictions: the summary, breakdowns by a column, the errors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

from stance.evaluate.resampling import Interval
from stance.io import LABEL, PREDICTION, probability_column


def summary_table(metrics: dict[str, float], intervals: Sequence[Interval]) -> pd.DataFrame:
    """One row per metric: metric, value, ci_low, ci_high (NaN where there is no interval).

    A metric that has an interval but is missing from ``metrics`` gets a row with the
    interval's estimate as its value.
    """
    by_metric = {interval.metric: interval for interval in intervals}
    values = dict(metrics)
    for name, interval in by_metric.items():
        values.setdefault(name, interval.estimate)
    rows = [
        {
            "metric": name,
            "value": float(value),
            "ci_low": by_metric[name].low if name in by_metric else np.nan,
            "ci_high": by_metric[name].high if name in by_metric else np.nan,
        }
        for name, value in values.items()
    ]
    return pd.DataFrame(rows, columns=["metric", "value", "ci_low", "ci_high"])


def breakdown_table(frame: pd.DataFrame, by: str, labels: Sequence[str]) -> pd.DataFrame:
    """Scores per value of column ``by`` (e.g. actor, episode): ``by``, n, accuracy, macro_f1.

    ``frame`` needs the gold ``label``, the ``prediction`` and ``by`` (:mod:`stance.io`'s prediction schema). Rows are sorted by n, largest
    first (ties by group value); macro F1 is over all ``labels``, as everywhere in this module.
    """
    rows = [
        {
            by: value,
            "n": len(group),
            "accuracy": float(accuracy_score(group[LABEL], group[PREDICTION])),
            "macro_f1": float(
                f1_score(
                    group[LABEL], group[PREDICTION], labels=list(labels),
                    average="macro", zero_division=0,
                )
            ),
        }
        for value, group in frame.groupby(by, sort=True, dropna=False)
    ]
    table = pd.DataFrame(rows, columns=[by, "n", "accuracy", "macro_f1"])
    return table.sort_values("n", ascending=False, kind="stable").reset_index(drop=True)


def error_table(frame: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """The misclassified rows of ``frame``, most confident first, with a ``confidence`` column.

    ``frame`` is a predictions table (:mod:`stance.io`'s schema: the gold ``label``, the
    ``prediction`` and ``p_<label>`` for every label); confidence is the largest of those
    probabilities. All columns of ``frame`` are kept.
    """
    proba_columns = [probability_column(label) for label in labels]
    errors = frame.loc[frame[LABEL] != frame[PREDICTION]].copy()
    errors["confidence"] = errors[proba_columns].max(axis=1)
    return errors.sort_values("confidence", ascending=False, kind="stable").reset_index(drop=True)
