"""Evaluation: metrics and statistics for stance predictions (scores, calibration, intervals, paired
tests), the report tables, and the :class:`Evaluation` of a model on a labelled set.

Point metrics come from scikit-learn. The resampling statistics (bootstrap intervals, paired
tests) are computed here because they must be fast: every resample is reduced to a confusion
matrix, built as a weighted sum of per-group confusion matrices, so 1,000 resamples are a few
matrix products instead of 1,000 calls to scikit-learn. An ungrouped analysis is the special case
of one group per statement, so the clustered (by episode) and plain versions share one code path.

Macro F1 is always averaged over the *whole* label set, with F1 = 0 for a label that is neither
gold nor predicted (scikit-learn's ``zero_division=0``): a model is never rewarded for a class
that happens to be missing from a sample, and scores stay comparable across samples.

Modules: :mod:`~stance.evaluate.metrics` (point metrics, calibration), :mod:`~stance.evaluate.resampling`
(bootstrap intervals, paired tests), :mod:`~stance.evaluate.tables` (summary, breakdowns, errors) and
:mod:`~stance.evaluate.evaluation` (:class:`Evaluation` and how it is made). Every name is importable
from ``stance.evaluate``.
"""

from stance.evaluate.evaluation import (
    BOOTSTRAP_SEED,
    CONTEXT_COLUMNS,
    Evaluation,
    check_label_set,
    comparison_row,
    evaluate_predictions,
    predictions_table,
)
from stance.evaluate.metrics import (
    classification_metrics,
    confusion_table,
    expected_calibration_error,
    per_class_table,
    reliability_table,
)
from stance.evaluate.resampling import (
    PAIRED_METHODS,
    RESAMPLED_METRICS,
    Interval,
    PairedTest,
    bootstrap_interval,
    ece_interval,
    paired_bootstrap_test,
)
from stance.evaluate.tables import breakdown_table, error_table, summary_table

__all__ = [
    "BOOTSTRAP_SEED", "CONTEXT_COLUMNS", "PAIRED_METHODS", "RESAMPLED_METRICS", "Evaluation", "Interval",
    "PairedTest", "bootstrap_interval", "breakdown_table", "check_label_set", "classification_metrics",
    "comparison_row", "confusion_table", "ece_interval", "error_table", "evaluate_predictions", "expected_calibration_error",
    "paired_bootstrap_test", "per_class_table", "predictions_table", "reliability_table", "summary_table",
]
