"""Metrics and statistics for stance predictions: scores, calibration, intervals, paired tests.

Point metrics come from scikit-learn. The resampling statistics (bootstrap intervals, paired
tests) are computed here because they must be fast: every resample is reduced to a confusion
matrix, built as a weighted sum of per-group confusion matrices, so 1,000 resamples are a few
matrix products instead of 1,000 calls to scikit-learn. An ungrouped analysis is the special case
of one group per statement, so the clustered (by episode) and plain versions share one code path.

Macro F1 is always averaged over the *whole* label set, with F1 = 0 for a label that is neither
gold nor predicted (scikit-learn's ``zero_division=0``): a model is never rewarded for a class
that happens to be missing from a sample, and scores stay comparable across samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
)

from stance.labels import label_maps

#: Metrics that :func:`bootstrap_interval` and :func:`paired_bootstrap_test` can resample.
RESAMPLED_METRICS: tuple[str, ...] = ("accuracy", "macro_f1")

#: Methods of :func:`paired_bootstrap_test`.
PAIRED_METHODS: tuple[str, ...] = ("permutation", "bootstrap")

# Resamples are processed in chunks of at most this many (resample, group) cells, so memory
# stays bounded for large evaluation sets while each chunk is still one matrix product.
_CHUNK_CELLS = 2_000_000


@dataclass(frozen=True)
class Interval:
    """A percentile bootstrap confidence interval for one metric."""

    metric: str
    estimate: float
    low: float
    high: float
    confidence: float
    n_resamples: int
    clustered: bool


@dataclass(frozen=True)
class PairedTest:
    """A two-sided significance test of ``score_a - score_b`` on the same statements."""

    metric: str
    score_a: float
    score_b: float
    difference: float
    p_value: float
    n_resamples: int
    method: str


# ---------------------------------------------------------------------------------------------
# Point metrics


def classification_metrics(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    labels: Sequence[str],
    proba: np.ndarray | None = None,
) -> dict[str, float]:
    """Accuracy, macro F1 (over all ``labels``), Cohen's kappa and ``n``.

    With ``proba`` (shape ``(n, len(labels))``, columns in ``labels`` order) also ``log_loss``
    and top-label ``ece``. Kappa is NaN when it is undefined (gold and predictions both a single
    class, so chance agreement is 1).
    """
    labels = list(labels)
    metrics: dict[str, float] = {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "cohen_kappa": float(cohen_kappa_score(y_true, y_pred, labels=labels)),
        "n": len(y_true),
    }
    if proba is not None:
        proba = np.asarray(proba, dtype=float)
        y_idx = _encode(y_true, labels)
        # Pass integer classes: with string labels log_loss sorts them alphabetically and would
        # read the probability columns in the wrong order.
        metrics["log_loss"] = float(log_loss(y_idx, proba, labels=list(range(len(labels)))))
        metrics["ece"] = expected_calibration_error(y_idx, proba)
    return metrics


def per_class_table(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]
) -> pd.DataFrame:
    """Precision, recall, F1 and support, one row per label in ``labels`` order."""
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=list(labels), zero_division=0
    )
    return pd.DataFrame(
        {
            "label": list(labels),
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support,
        }
    )


def confusion_table(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]
) -> pd.DataFrame:
    """Counts with gold labels as rows (index ``gold``) and predictions as columns (``predicted``)."""
    labels = list(labels)
    return pd.DataFrame(
        confusion_matrix(y_true, y_pred, labels=labels),
        index=pd.Index(labels, name="gold"),
        columns=pd.Index(labels, name="predicted"),
    )


# ---------------------------------------------------------------------------------------------
# Calibration


def expected_calibration_error(y_true_idx: np.ndarray, proba: np.ndarray, n_bins: int = 10) -> float:
    """Top-label ECE: the count-weighted mean gap between confidence and accuracy per bin.

    Confidence is the largest probability of each row; bins are ``n_bins`` equal-width intervals
    ``[k/n_bins, (k+1)/n_bins)``, the last one closed at 1.
    """
    counts, confidence, accuracy = _calibration_bins(y_true_idx, proba, n_bins)
    filled = counts > 0
    gaps = np.abs(accuracy[filled] - confidence[filled])
    return float(np.sum(counts[filled] * gaps) / counts.sum())


def reliability_table(y_true_idx: np.ndarray, proba: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """One row per confidence bin (empty bins included, with NaN means): the data of a
    reliability diagram. Columns: bin (``"[0.7, 0.8)"``), confidence, accuracy, count."""
    counts, confidence, accuracy = _calibration_bins(y_true_idx, proba, n_bins)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    names = [f"[{lo:.3g}, {hi:.3g})" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    names[-1] = names[-1][:-1] + "]"  # the last bin includes confidence 1
    return pd.DataFrame(
        {"bin": names, "confidence": confidence, "accuracy": accuracy, "count": counts}
    )


def _calibration_bins(
    y_true_idx: np.ndarray, proba: np.ndarray, n_bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-bin count, mean confidence and accuracy (NaN for empty bins)."""
    proba = np.asarray(proba, dtype=float)
    y_true_idx = np.asarray(y_true_idx)
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y_true_idx).astype(float)
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(bins, weights=confidence, minlength=n_bins) / counts
        mean_acc = np.bincount(bins, weights=correct, minlength=n_bins) / counts
    return counts, mean_conf, mean_acc


# ---------------------------------------------------------------------------------------------
# Resampling statistics


def bootstrap_interval(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    metric: str = "macro_f1",
    *,
    labels: Sequence[str],
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    groups: Sequence[str] | None = None,
) -> Interval:
    """Percentile bootstrap interval for ``metric`` (``accuracy`` or ``macro_f1``).

    Resamples statements with replacement; with ``groups`` (e.g. the episode of each statement)
    it resamples whole groups instead, because statements about one request are not independent
    and treating them as such gives intervals that are too narrow. The same ``seed`` gives the
    same interval, and one group per statement gives exactly the plain bootstrap.
    """
    _check_metric(metric)
    group_conf = _group_confusions(y_true, y_pred, labels, groups)
    rng = np.random.default_rng(seed)
    scores = np.concatenate(
        [
            _score(_bootstrap_weights(rng, size, len(group_conf)) @ group_conf, metric)
            for size in _chunks(n_resamples, len(group_conf))
        ]
    )
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(scores, [alpha, 1.0 - alpha])
    return Interval(
        metric=metric,
        estimate=float(_score(group_conf.sum(axis=0, keepdims=True), metric)[0]),
        low=float(low),
        high=float(high),
        confidence=confidence,
        n_resamples=n_resamples,
        clustered=groups is not None,
    )


def paired_bootstrap_test(
    y_true: Sequence[str],
    pred_a: Sequence[str],
    pred_b: Sequence[str],
    *,
    labels: Sequence[str],
    metric: str = "macro_f1",
    n_resamples: int = 1000,
    seed: int = 0,
    groups: Sequence[str] | None = None,
    method: str = "permutation",
) -> PairedTest:
    """Two-sided test of whether systems A and B differ on ``metric`` over the same statements.

    ``permutation`` (default) is approximate randomisation: under the null hypothesis the two
    systems are exchangeable, so each statement's pair of predictions is swapped with probability
    1/2 and ``p = (#{|diff_perm| >= |diff_obs|} + 1) / (n_resamples + 1)``. It needs no
    distributional assumption and is the usual choice for comparing NLP systems. ``bootstrap`` is
    the paired bootstrap with the null imposed by shifting (Berg-Kirkpatrick et al. 2012):
    ``p = (#{|diff_boot - diff_obs| >= |diff_obs|} + 1) / (n_resamples + 1)``. With ``groups``,
    whole groups are swapped or resampled together. Identical predictions give ``p == 1.0``.
    """
    _check_metric(metric)
    if method not in PAIRED_METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {PAIRED_METHODS}")
    conf_a = _group_confusions(y_true, pred_a, labels, groups)
    conf_b = _group_confusions(y_true, pred_b, labels, groups)
    score_a = float(_score(conf_a.sum(axis=0, keepdims=True), metric)[0])
    score_b = float(_score(conf_b.sum(axis=0, keepdims=True), metric)[0])
    observed = score_a - score_b
    rng = np.random.default_rng(seed)
    diffs = []
    for size in _chunks(n_resamples, len(conf_a)):
        if method == "permutation":
            swap = rng.integers(0, 2, size=(size, len(conf_a))).astype(float)
            keep = 1.0 - swap
            diff = _score(keep @ conf_a + swap @ conf_b, metric) - _score(
                swap @ conf_a + keep @ conf_b, metric
            )
        else:
            weights = _bootstrap_weights(rng, size, len(conf_a))
            diff = _score(weights @ conf_a, metric) - _score(weights @ conf_b, metric) - observed
        diffs.append(diff)
    # The tolerance keeps resamples that reproduce the observed difference exactly (up to float
    # rounding) counted as "at least as extreme", so identical systems get p = 1.
    extreme = np.abs(np.concatenate(diffs)) >= abs(observed) - 1e-12
    return PairedTest(
        metric=metric,
        score_a=score_a,
        score_b=score_b,
        difference=observed,
        p_value=float((extreme.sum() + 1) / (n_resamples + 1)),
        n_resamples=n_resamples,
        method=method,
    )


def _check_metric(metric: str) -> None:
    if metric not in RESAMPLED_METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {RESAMPLED_METRICS}")


def _encode(values: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Indices of ``values`` in ``labels``; an unknown label is a bug upstream, so it raises."""
    _, label2id = label_maps(labels)
    unknown = sorted(set(values) - set(label2id))
    if unknown:
        raise ValueError(f"labels {unknown} are not in the label set {list(labels)}")
    return np.array([label2id[v] for v in values], dtype=int)


def _group_confusions(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    labels: Sequence[str],
    groups: Sequence[str] | None,
) -> np.ndarray:
    """Flattened confusion matrix of each group, shape ``(n_groups, L*L)``.

    Without ``groups`` every statement is its own group. Groups are numbered in order of first
    appearance, so one distinct group per statement reproduces the ungrouped draws exactly.
    """
    n_labels = len(labels)
    true_idx, pred_idx = _encode(y_true, labels), _encode(y_pred, labels)
    if len(true_idx) != len(pred_idx):
        raise ValueError("y_true and predictions must have the same length")
    if groups is None:
        group_idx, n_groups = np.arange(len(true_idx)), len(true_idx)
    else:
        if len(groups) != len(true_idx):
            raise ValueError("groups must have one entry per statement")
        group_idx, uniques = pd.factorize(pd.Series(list(groups), dtype=object))
        n_groups = len(uniques)
    cell = group_idx * n_labels * n_labels + true_idx * n_labels + pred_idx
    counts = np.bincount(cell, minlength=n_groups * n_labels * n_labels)
    return counts.reshape(n_groups, n_labels * n_labels).astype(float)


def _bootstrap_weights(rng: np.random.Generator, n_resamples: int, n_groups: int) -> np.ndarray:
    """How often each group is drawn in each resample, shape ``(n_resamples, n_groups)``."""
    draws = rng.integers(0, n_groups, size=(n_resamples, n_groups))
    draws += np.arange(n_resamples)[:, None] * n_groups
    counts = np.bincount(draws.ravel(), minlength=n_resamples * n_groups)
    return counts.reshape(n_resamples, n_groups).astype(float)


def _chunks(n_resamples: int, n_groups: int) -> list[int]:
    """Sizes of the resample chunks (see ``_CHUNK_CELLS``)."""
    if n_resamples < 1:
        raise ValueError("n_resamples must be at least 1")
    size = max(1, _CHUNK_CELLS // max(n_groups, 1))
    return [min(size, n_resamples - start) for start in range(0, n_resamples, size)]


def _score(confusions: np.ndarray, metric: str) -> np.ndarray:
    """``metric`` of each flattened confusion matrix in ``confusions`` (shape ``(R, L*L)``)."""
    n_labels = int(round(np.sqrt(confusions.shape[1])))
    matrices = confusions.reshape(-1, n_labels, n_labels)
    hits = np.diagonal(matrices, axis1=1, axis2=2)
    if metric == "accuracy":
        return hits.sum(axis=1) / matrices.sum(axis=(1, 2))
    # F1 = 2TP / (gold count + predicted count); 0 when the label is neither gold nor predicted.
    sizes = matrices.sum(axis=2) + matrices.sum(axis=1)
    f1 = np.divide(2 * hits, sizes, out=np.zeros_like(hits), where=sizes > 0)
    return f1.mean(axis=1)


# ---------------------------------------------------------------------------------------------
# Report tables


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

    ``frame`` needs columns ``gold``, ``predicted`` and ``by``. Rows are sorted by n, largest
    first (ties by group value); macro F1 is over all ``labels``, as everywhere in this module.
    """
    rows = [
        {
            by: value,
            "n": len(group),
            "accuracy": float(accuracy_score(group["gold"], group["predicted"])),
            "macro_f1": float(
                f1_score(
                    group["gold"], group["predicted"], labels=list(labels),
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

    ``frame`` needs columns id, text, gold, predicted and ``p_<label>`` for every label;
    confidence is the largest of those probabilities. All columns of ``frame`` are kept.
    """
    proba_columns = [f"p_{label}" for label in labels]
    errors = frame.loc[frame["gold"] != frame["predicted"]].copy()
    errors["confidence"] = errors[proba_columns].max(axis=1)
    return errors.sort_values("confidence", ascending=False, kind="stable").reset_index(drop=True)
