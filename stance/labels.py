"""The label set: the default stance scheme and the maps models need."""

from __future__ import annotations

from collections.abc import Sequence

#: The project's scheme (see ``data/CODEBOOK.md``): does the statement say the actor will give
#: (some of) what was asked?  Order matters: it is the order of model outputs and of report rows.
DEFAULT_LABELS: tuple[str, ...] = ("decline", "consider", "comply")


def label_maps(labels: Sequence[str]) -> tuple[dict[int, str], dict[str, int]]:
    """Return ``(id2label, label2id)`` for a label sequence, in its order."""
    id2label = dict(enumerate(labels))
    return id2label, {label: i for i, label in id2label.items()}


def label_lookup(labels: Sequence[str]) -> dict[str, str]:
    """Each label's case-folded spelling mapped to its spelling in ``labels``: how a file's
    ``against`` is read as the label set's ``AGAINST``."""
    return {label.strip().lower(): label for label in labels}


def canonical_labels(values: Sequence[str], labels: Sequence[str]) -> list[str]:
    """``values`` with every label of ``labels`` (matched case-insensitively, spaces stripped)
    spelled as in ``labels``; values that match none are kept as they are, for the caller to report."""
    lookup = label_lookup(labels)
    return [lookup.get(str(value).strip().lower(), value) for value in values]


#: A task's official metric: the mean F1 over some of its classes, by name. SemEval-2016 Task 6's
#: F_avg (also P-Stance's) leaves NONE out: the mean of F1(FAVOR) and F1(AGAINST).
OFFICIAL_METRICS: dict[str, tuple[str, ...]] = {"f_avg": ("FAVOR", "AGAINST")}


def official_metric_classes(metric: str, labels: Sequence[str]) -> list[int]:
    """Positions in ``labels`` of the classes official ``metric`` averages (matched case-insensitively)."""
    lookup = {label.lower(): i for i, label in enumerate(labels)}
    return [lookup[name.lower()] for name in OFFICIAL_METRICS[metric]]


def official_metric_problem(metric: str, labels: Sequence[str]) -> str | None:
    """Why ``metric`` cannot be computed over ``labels`` (unknown, or a class it needs is missing); None if it can."""
    if metric not in OFFICIAL_METRICS:
        return f"unknown metric {metric!r}; known: {', '.join(OFFICIAL_METRICS)}"
    missing = [name for name in OFFICIAL_METRICS[metric] if name.lower() not in {label.lower() for label in labels}]
    if missing:
        return f"{metric} needs the label(s) {', '.join(missing)}, which data.labels lacks"
    return None
