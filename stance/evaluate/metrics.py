"""Point metrics and calibration: accuracy, macro F1 over the whole label set, Cohen's kappa, log
loss, expected calibration error, and the per-class, confusion and reliability tables."""

from __future__ import annotations

from collections.abc import Sequence

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

from stance.labels import OFFICIAL_METRICS, label_maps, official_metric_classes


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


def official_metric(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str], metric: str) -> float:
    """A task's official metric (:data:`~stance.labels.OFFICIAL_METRICS`): the mean F1 of its classes,
    e.g. SemEval-2016's F_avg = (F1(FAVOR) + F1(AGAINST)) / 2, the NONE class left out."""
    if metric not in OFFICIAL_METRICS:
        raise ValueError(f"unknown official metric {metric!r}; known: {', '.join(OFFICIAL_METRICS)}")
    subset = [list(labels)[i] for i in official_metric_classes(metric, labels)]
    return float(f1_score(y_true, y_pred, labels=subset, average="macro", zero_division=0))


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


def reliability_table(y_true_idx: np.ndarray, proba: np.ndarray, n_bins: int = 10,
                      uncalibrated: np.ndarray | None = None) -> pd.DataFrame:
    """One row per confidence bin (empty bins included, with NaN means): the data of a
    reliability diagram. Columns: bin (``"[0.7, 0.8)"``), confidence, accuracy, count; with
    ``uncalibrated`` (the probabilities before temperature scaling) also the same three for them,
    suffixed ``_uncalibrated``."""
    counts, confidence, accuracy = _calibration_bins(y_true_idx, proba, n_bins)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    names = [f"[{lo:.3g}, {hi:.3g})" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    names[-1] = names[-1][:-1] + "]"  # the last bin includes confidence 1
    table = pd.DataFrame(
        {"bin": names, "confidence": confidence, "accuracy": accuracy, "count": counts}
    )
    if uncalibrated is not None:
        counts, confidence, accuracy = _calibration_bins(y_true_idx, uncalibrated, n_bins)
        table = table.assign(confidence_uncalibrated=confidence, accuracy_uncalibrated=accuracy,
                             count_uncalibrated=counts)
    return table


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


def _encode(values: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Indices of ``values`` in ``labels``; an unknown label is a bug upstream, so it raises."""
    _, label2id = label_maps(labels)
    unknown = sorted(set(values) - set(label2id))
    if unknown:
        raise ValueError(f"labels {unknown} are not in the label set {list(labels)}")
    return np.array([label2id[v] for v in values], dtype=int)
