"""Classifiers behind one interface and a registry: ``model.type`` in a config names one.

Registered: ``transformer`` (fine-tuned encoder) and the baselines ``majority``, ``keyword``,
``tfidf_logreg`` and ``embedding_logreg``. A new model is a :class:`Classifier` subclass plus a
builder decorated with :func:`register_model`.
"""

from __future__ import annotations

from pathlib import Path

from stance.errors import ModelError
from stance.models import baselines as _baselines  # noqa: F401  (registers the baselines)
from stance.models import transformer as _transformer  # noqa: F401  (registers the transformer)
from stance.models.base import MODELS, Classifier, TextInputs, read_card, register_model


def build_classifier(config) -> Classifier:
    """An unfitted classifier of ``config.model.type``, built from the validated config."""
    return MODELS[config.model.type].builder(config)


def load_classifier(path: str | Path) -> Classifier:
    """Reopen a saved classifier of any registered kind (no code is executed from the folder)."""
    card = read_card(Path(path))
    entry = MODELS.get(card.get("kind", ""))
    if entry is None:
        raise ModelError(f"{path}: unknown model kind {card.get('kind')!r}", hint=f"known: {', '.join(MODELS)}")
    return entry.loader(Path(path))


__all__ = ["MODELS", "Classifier", "TextInputs", "build_classifier", "load_classifier", "read_card", "register_model"]
