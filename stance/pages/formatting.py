"""How a number reads on a page: intervals, p-values, counts, signed differences and column names.

Every function returns text, and the text for a missing value (``None`` or NaN) is the empty
string: a page never shows ``NaN``.
"""

from __future__ import annotations

import math
from numbers import Integral, Number

import numpy as np
import pandas as pd

#: Decimals of every score (F1, accuracy, probabilities) on a page.
DECIMALS = 3

#: Readable names of the report tables' columns and of the metrics in ``metrics.json``.
READABLE = {
    "macro_f1": "macro-F1",
    "f1": "F1",
    "accuracy": "accuracy",
    "cohen_kappa": "Cohen's κ",
    "log_loss": "log loss",
    "ece": "calibration error (ECE)",
    "ece_uncalibrated": "ECE before temperature scaling",
    "log_loss_uncalibrated": "log loss before temperature scaling",
    "temperature": "temperature (T)",
    "confidence_uncalibrated": "confidence before scaling",
    "accuracy_uncalibrated": "accuracy before scaling",
    "count_uncalibrated": "statements before scaling",
    "n": "n",
    "truncated": "truncated statements",
    "p_value": "p",
    "model_minus_this": "model − this",
    "best_minus_this": "best − this",
    "label": "gold",
    "gold": "gold",
    "prediction": "predicted",
    "predicted": "predicted",
    "source_type": "source type",
    "confidence": "confidence",
    "count": "statements",
    "support": "support",
    "bin": "confidence bin",
    "metric": "metric",
    "value": "value",
    "std": "std",
    "episodes": "episodes",
    "train": "train",
    "dev": "dev",
    "test": "test",
}

#: Columns (and metrics) that count things: shown as integers, never ``323.000``.
COUNTS = frozenset({"n", "support", "count", "truncated", "episodes", "train", "dev", "test", "fold"})


def is_missing(value: object) -> bool:
    """``None``, NaN, or pandas' NA/NaT."""
    missing = pd.isna(value)
    return isinstance(missing, (bool, np.bool_)) and bool(missing)  # a list or array is not one missing value


def number(value: object, decimals: int = DECIMALS) -> str:
    """A score with ``decimals`` decimals: ``0.775``; empty when missing."""
    if is_missing(value):
        return ""
    return f"{float(value):.{decimals}f}"


def count(value: object) -> str:
    """A count as an integer with thousands separators: ``1,897``; empty when missing."""
    if is_missing(value):
        return ""
    return f"{int(round(float(value))):,}"


def interval(value: object, low: object = None, high: object = None, decimals: int = DECIMALS) -> str:
    """``0.775 [0.726, 0.820]``; just the value when either bound is missing."""
    if is_missing(value):
        return ""
    if is_missing(low) or is_missing(high):
        return number(value, decimals)
    return f"{number(value, decimals)} [{number(low, decimals)}, {number(high, decimals)}]"


def p_value(value: object) -> str:
    """``< 0.001`` below a thousandth, else three decimals (``0.027``); empty when missing."""
    if is_missing(value):
        return ""
    value = float(value)
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def signed(value: object, decimals: int = DECIMALS) -> str:
    """A difference with its sign: ``+0.061``, ``−0.012`` (a true minus), ``0.000``."""
    if is_missing(value):
        return ""
    text = f"{abs(float(value)):.{decimals}f}"
    if float(text) == 0:
        return text
    return ("+" if value > 0 else "−") + text


def readable(name: str) -> str:
    """A column's or metric's name as a reader would write it: ``macro_f1`` → ``macro-F1``,
    ``p_comply`` → ``P(comply)``, ``by_source_type`` → ``by source type``."""
    if name in READABLE:
        return READABLE[name]
    if name.startswith("p_") and len(name) > 2:
        return f"P({name[2:]})"
    return name.replace("_", " ")


def confidence_label(confidence: float) -> str:
    """``95% CI`` for ``0.95``."""
    return f"{confidence:.0%} CI"


def cell(value: object, column: str = "") -> str:
    """Any table value as text, chosen by its column: counts as integers, p-values and floats as
    above, everything else as ``str``."""
    if is_missing(value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Integral) or (column in COUNTS and isinstance(value, Number)):
        return count(value)
    if column == "p_value":
        return p_value(value)
    if column.endswith("_minus_this"):
        return signed(value)
    if isinstance(value, Number):
        if math.isinf(float(value)):
            return "∞" if value > 0 else "−∞"
        return number(value)
    return str(value)
