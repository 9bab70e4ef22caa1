"""Temperature scaling (Guo et al., 2017): one scalar ``T`` that divides a model's logits, fitted on
the dev split by minimising the negative log-likelihood of the gold labels.

Dividing every logit by the same ``T`` never changes which class is most probable, so accuracy and
macro-F1 stay as they were; only the confidence moves (``T > 1`` softens an over-confident model).

Everything here works on probabilities, not logits: ``log p`` differs from the logits by one
constant per row, which softmax ignores, so ``softmax(log p / T)`` is exactly what dividing the
logits by ``T`` gives. That lets the same functions serve a transformer (whose logits are at hand),
a seed ensemble (whose averaged probabilities are all it has) and a finished run's saved
``predictions.csv`` (:func:`stance.recipes.calibrate_run`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stance.errors import ModelError

#: The search range of ``T``: far beyond what a fine-tuned encoder needs, and it keeps a dev split
#: the model fits perfectly (where the NLL falls forever as ``T`` shrinks) from giving ``T = 0``.
TEMPERATURE_RANGE = (0.05, 20.0)

#: Decimals a fitted temperature is rounded to (the NLL cannot tell finer values apart).
TEMPERATURE_DECIMALS = 4

#: Probabilities below this count as this much: saved prediction files round to 6 decimals, so a 0
#: there means "below 5e-7", and log 0 would be -inf.
_SMALLEST = 5e-7


def temper(proba: np.ndarray, temperature: float) -> np.ndarray:
    """``proba`` with its logits divided by ``temperature``: ``softmax(log proba / temperature)``.

    ``temper(temper(p, t), 1 / t)`` gives ``p`` back (up to rounding), which is how a report
    recovers the probabilities before scaling without a second forward pass.
    """
    proba = np.asarray(proba, dtype=np.float64)
    if temperature == 1.0 or proba.size == 0:
        return proba
    return _softmax(np.log(np.maximum(proba, _SMALLEST)) / temperature)


def fit_temperature(proba: np.ndarray, gold: Sequence[int]) -> float:
    """The ``T`` that minimises the mean NLL of ``gold`` (class indices) under ``temper(proba, T)``.

    With ``β = 1/T`` the NLL is convex in ``β`` (a log-sum-exp of terms linear in ``β``), so its
    derivative, ``mean(E_p[z] - z_gold)``, rises with ``β`` and has one root: found by bisection on
    ``log T`` inside :data:`TEMPERATURE_RANGE` (deterministic, no optimiser settings). Returns 1.0
    for an empty set.
    """
    proba = np.asarray(proba, dtype=np.float64)
    gold = np.asarray(gold, dtype=int)
    if len(gold) == 0:
        return 1.0
    logits = np.log(np.maximum(proba, _SMALLEST))
    chosen = logits[np.arange(len(gold)), gold]

    def slope(log_t: float) -> float:  # d NLL / d β at β = exp(-log_t)
        p = _softmax(logits * np.exp(-log_t))
        return float(np.mean((p * logits).sum(axis=1) - chosen))

    low, high = np.log(TEMPERATURE_RANGE[0]), np.log(TEMPERATURE_RANGE[1])
    # slope rises with β, so it falls as log T rises: positive at the low end means T is there.
    if slope(high) >= 0:
        return TEMPERATURE_RANGE[1]
    if slope(low) <= 0:
        return TEMPERATURE_RANGE[0]
    for _ in range(80):
        middle = (low + high) / 2
        if slope(middle) > 0:
            low = middle
        else:
            high = middle
    return round(float(np.exp((low + high) / 2)), TEMPERATURE_DECIMALS)


def card_temperature(card: Mapping[str, Any], path: Path) -> float:
    """The ``temperature`` of a saved model's card (1.0 when the card, written before calibration
    existed, has none); anything but a positive finite number is refused."""
    value = card.get("temperature", 1.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ModelError(f"{path}: the model card's temperature must be a positive number, found {value!r}",
                         hint="set it to 1.0 (no scaling) or refit it with `stance calibrate RUN`")
    return float(value)


def negative_log_likelihood(proba: np.ndarray, gold: Sequence[int]) -> float:
    """Mean ``-log p(gold)`` (what :func:`fit_temperature` minimises)."""
    proba = np.asarray(proba, dtype=np.float64)
    gold = np.asarray(gold, dtype=int)
    return float(-np.mean(np.log(np.maximum(proba[np.arange(len(gold)), gold], _SMALLEST))))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
