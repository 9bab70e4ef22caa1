"""Resampling statistics: bootstrap confidence intervals and paired significance tests.

Every resample is reduced to a confusion matrix, built as a weighted sum of per-group confusion
matrices, so 1,000 resamples are a few matrix products instead of 1,000 calls to scikit-learn. An
ungrouped analysis is the special case of one group per statement, so the clustered (by episode)
and plain versions share one code path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stance.evaluate.metrics import _encode
from stance.labels import OFFICIAL_METRICS, official_metric_classes

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
    """Percentile bootstrap interval for ``metric`` (``accuracy``, ``macro_f1`` or an official metric
    of :data:`~stance.labels.OFFICIAL_METRICS`, such as ``f_avg``).

    Resamples statements with replacement; with ``groups`` (e.g. the episode of each statement)
    it resamples whole groups instead, because statements about one request are not independent
    and treating them as such gives intervals that are too narrow. The same ``seed`` gives the
    same interval, and one group per statement gives exactly the plain bootstrap.
    """
    _check_metric(metric)
    classes = _classes(metric, labels)
    group_conf = _group_confusions(y_true, y_pred, labels, groups)
    rng = np.random.default_rng(seed)
    scores = np.concatenate(
        [
            _score(_bootstrap_weights(rng, size, len(group_conf)) @ group_conf, metric, classes)
            for size in _chunks(n_resamples, len(group_conf))
        ]
    )
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(scores, [alpha, 1.0 - alpha])
    return Interval(
        metric=metric,
        estimate=float(_score(group_conf.sum(axis=0, keepdims=True), metric, classes)[0]),
        low=float(low),
        high=float(high),
        confidence=confidence,
        n_resamples=n_resamples,
        clustered=groups is not None,
    )


def ece_interval(
    y_true_idx: Sequence[int],
    proba: np.ndarray,
    *,
    n_bins: int = 10,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    groups: Sequence[str] | None = None,
) -> Interval:
    """Percentile bootstrap interval for the top-label ECE
    (:func:`~stance.evaluate.metrics.expected_calibration_error`, the same bins).

    ECE is ``sum over bins |correct - confidence| / n``, so each group (an episode, or a statement
    when ``groups`` is None) is reduced to its per-bin sums of correct predictions, confidences and
    counts, and every resample is one matrix product, as for the other metrics. A test set of a few
    hundred statements gives a perfectly calibrated model an ECE of a few hundredths by chance
    alone: the interval says how far a figure like 0.05 can be read.
    """
    proba = np.asarray(proba, dtype=float)
    y_true_idx = np.asarray(y_true_idx)
    if len(y_true_idx) != len(proba):
        raise ValueError("y_true_idx and proba must have the same length")
    top = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y_true_idx).astype(float)
    bins = np.minimum((top * n_bins).astype(int), n_bins - 1)
    group_idx, n_groups = _group_index(groups, len(top))
    cell = group_idx * n_bins + bins
    size = n_groups * n_bins
    # Per group and bin: correct minus confidence (whose absolute sum over bins, divided by n, is
    # the ECE), and the count.
    gap = np.bincount(cell, weights=correct - top, minlength=size).reshape(n_groups, n_bins)
    count = np.bincount(group_idx, minlength=n_groups).astype(float)

    def score(weights: np.ndarray) -> np.ndarray:
        return np.abs(weights @ gap).sum(axis=1) / (weights @ count)

    rng = np.random.default_rng(seed)
    scores = np.concatenate([score(_bootstrap_weights(rng, chunk, n_groups))
                             for chunk in _chunks(n_resamples, n_groups)])
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(scores, [alpha, 1.0 - alpha])
    return Interval(metric="ece", estimate=float(score(np.ones((1, n_groups)))[0]), low=float(low),
                    high=float(high), confidence=confidence, n_resamples=n_resamples,
                    clustered=groups is not None)


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
    if metric not in RESAMPLED_METRICS and metric not in OFFICIAL_METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {(*RESAMPLED_METRICS, *OFFICIAL_METRICS)}")


def _classes(metric: str, labels: Sequence[str]) -> list[int] | None:
    """The label positions an official metric averages F1 over; None for the others (all labels)."""
    return official_metric_classes(metric, labels) if metric in OFFICIAL_METRICS else None


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
    group_idx, n_groups = _group_index(groups, len(true_idx))
    cell = group_idx * n_labels * n_labels + true_idx * n_labels + pred_idx
    counts = np.bincount(cell, minlength=n_groups * n_labels * n_labels)
    return counts.reshape(n_groups, n_labels * n_labels).astype(float)


def _group_index(groups: Sequence[str] | None, n: int) -> tuple[np.ndarray, int]:
    """Each statement's group number (in order of first appearance) and the number of groups;
    without ``groups`` every statement is its own group."""
    if groups is None:
        return np.arange(n), n
    if len(groups) != n:
        raise ValueError("groups must have one entry per statement")
    group_idx, uniques = pd.factorize(pd.Series(list(groups), dtype=object))
    return group_idx, len(uniques)


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


def _score(confusions: np.ndarray, metric: str, classes: Sequence[int] | None = None) -> np.ndarray:
    """``metric`` of each flattened confusion matrix in ``confusions`` (shape ``(R, L*L)``); F1 is
    averaged over ``classes`` (label positions) where given, else over every label."""
    n_labels = int(round(np.sqrt(confusions.shape[1])))
    matrices = confusions.reshape(-1, n_labels, n_labels)
    hits = np.diagonal(matrices, axis1=1, axis2=2)
    if metric == "accuracy":
        return hits.sum(axis=1) / matrices.sum(axis=(1, 2))
    # F1 = 2TP / (gold count + predicted count); 0 when the label is neither gold nor predicted.
    sizes = matrices.sum(axis=2) + matrices.sum(axis=1)
    f1 = np.divide(2 * hits, sizes, out=np.zeros_like(hits), where=sizes > 0)
    return (f1 if classes is None else f1[:, list(classes)]).mean(axis=1)
