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
