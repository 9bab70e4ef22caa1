"""Classifiers behind one interface and a registry: ``model.type`` in a config names one.

Registered: ``transformer`` (fine-tuned encoder) and the baselines ``majority``, ``keyword``,
``tfidf_logreg`` and ``embedding_logreg``; ``seed_ensemble`` averages one member per seed. A new model is a :class:`Classifier` subclass plus a
builder decorated with :func:`register_model`.
"""

from __future__ import annotations

from stance.models import baselines as _baselines  # noqa: F401  (registers majority and keyword)
from stance.models import logreg as _logreg  # noqa: F401  (registers tfidf_logreg and embedding_logreg)
from stance.models import transformer as _transformer  # noqa: F401  (registers the transformer)
from stance.models import ensemble as _ensemble  # noqa: F401  (registers seed_ensemble)
from stance.models.base import MODELS, Classifier, TextInputs, build_classifier, load_classifier, read_card, register_model

__all__ = ["MODELS", "Classifier", "TextInputs", "build_classifier", "load_classifier", "read_card", "register_model"]
