"""Classifiers behind one interface and a registry: ``model.type`` in a config names one.

Registered: ``transformer`` (fine-tuned encoder) and the baselines ``majority``, ``keyword``,
``tfidf_logreg`` and ``embedding_logreg``; ``seed_ensemble`` averages one member per seed. A new model is a :class:`Classifier` subclass plus a
builder decorated with :func:`register_model`.
"""

from __future__ import annotations

from pathlib import Path

from stance.errors import ModelError
from stance.models import baselines as _baselines  # noqa: F401  (registers the baselines)
from stance.models import transformer as _transformer  # noqa: F401  (registers the transformer)
from stance.models import ensemble as _ensemble  # noqa: F401  (registers seed_ensemble)
from stance.models.base import MODELS, Classifier, TextInputs, read_card, register_model


def build_classifier(config) -> Classifier:
    """An unfitted classifier of ``config.model.type``, built from the validated config."""
    return MODELS[config.model.type].builder(config)


def load_classifier(path: str | Path) -> Classifier:
    """Reopen a saved classifier of any registered kind (no code is executed from the folder)."""
    card = read_card(Path(path))
    entry = MODELS.get(str(card.get("kind", "")))
    if entry is None:
        raise ModelError(f"{path}: unknown model kind {card.get('kind')!r}", hint=f"known: {', '.join(MODELS)}")
    try:
        return entry.loader(Path(path))
    except ModelError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as err:
        # A missing or damaged file, or an .npz holding pickled objects (refused by allow_pickle=False).
        first_line = (str(err).splitlines() or [type(err).__name__])[0]
        raise ModelError(
            f"{path}: cannot load the saved {entry.name} model ({type(err).__name__}: {first_line})",
            hint="the folder is damaged or was not written by stance; retrain the run",
        ) from None


__all__ = ["MODELS", "Classifier", "TextInputs", "build_classifier", "load_classifier", "read_card", "register_model"]
