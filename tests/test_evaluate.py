"""Tests for stance.evaluate: every statistic is checked against a case worked out by hand."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest

from stance.evaluate import (
    Interval,
    bootstrap_interval,
    breakdown_table,
    classification_metrics,
    confusion_table,
    ece_interval,
    error_table,
    evaluate_predictions,
    expected_calibration_error,
    paired_bootstrap_test,
    per_class_table,
    reliability_table,
    summary_table,
)

LABELS = ["decline", "consider", "comply"]


def from_confusion(matrix: list[list[int]], labels: list[str] = LABELS) -> tuple[list, list]:
    """Gold and predicted label lists realising ``matrix`` (rows gold, columns predicted)."""
    gold, pred = [], []
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            gold += [labels[i]] * count
            pred += [labels[j]] * count
    return gold, pred


# Rows gold, columns predicted, in LABELS order (n = 15, 12 on the diagonal):
#               decline consider comply | gold total
#   decline        4       1       0    |   5
#   consider       1       3       1    |   5
#   comply         0       0       5    |   5
#   predicted      5       4       6
# precision: decline 4/5 = 0.8, consider 3/4 = 0.75, comply 5/6
# recall:    decline 4/5 = 0.8, consider 3/5 = 0.6,  comply 5/5 = 1
# F1 = 2TP/(gold+predicted): decline 8/10 = 0.8, consider 6/9 = 2/3, comply 10/11
# accuracy = 12/15 = 0.8
# kappa: p_o = 0.8, p_e = (5*5 + 5*4 + 5*6)/15^2 = 75/225 = 1/3, kappa = (0.8-1/3)/(2/3) = 0.7
MATRIX = [[4, 1, 0], [1, 3, 1], [0, 0, 5]]
MACRO_F1 = (0.8 + 2 / 3 + 10 / 11) / 3

# Four predictions for the calibration case, columns in LABELS order:
#   row  proba               gold  top  confidence  correct
#   1    .92 .04 .04         0     0    .92         yes
#   2    .02 .96 .02         2     1    .96         no
#   3    .20 .15 .65         2     2    .65         yes
#   4    .45 .30 .25         1     0    .45         no
# 10 bins: [0.9,1] holds rows 1,2 (mean conf .94, acc .5, gap .44, weight 2/4 -> .22);
#          [0.6,0.7) holds row 3 (gap .35, weight 1/4 -> .0875);
#          [0.4,0.5) holds row 4 (gap .45, weight 1/4 -> .1125).    ECE = .42
# 2 bins:  [0,0.5) row 4 (gap .45 -> .1125); [0.5,1] rows 1-3 (conf 2.53/3, acc 2/3,
#          gap .53/3, weight 3/4 -> .1325).                          ECE = .245
# log loss = -(ln .92 + ln .02 + ln .65 + ln .30) / 4 (the gold column of each row)
PROBA = np.array(
    [[0.92, 0.04, 0.04], [0.02, 0.96, 0.02], [0.20, 0.15, 0.65], [0.45, 0.30, 0.25]]
)
PROBA_GOLD = np.array([0, 2, 2, 1])


def test_classification_metrics_match_hand_computed_confusion():
    gold, pred = from_confusion(MATRIX)
    metrics = classification_metrics(gold, pred, LABELS)
    assert metrics["accuracy"] == pytest.approx(0.8)
    assert metrics["macro_f1"] == pytest.approx(MACRO_F1)
    assert metrics["cohen_kappa"] == pytest.approx(0.7)
    assert metrics["n"] == 15
    assert "log_loss" not in metrics and "ece" not in metrics


def test_per_class_table_matches_hand_computed_confusion():
    gold, pred = from_confusion(MATRIX)
    table = per_class_table(gold, pred, LABELS)
    assert table["label"].tolist() == LABELS
    assert table["precision"].tolist() == pytest.approx([0.8, 0.75, 5 / 6])
    assert table["recall"].tolist() == pytest.approx([0.8, 0.6, 1.0])
    assert table["f1"].tolist() == pytest.approx([0.8, 2 / 3, 10 / 11])
    assert table["support"].tolist() == [5, 5, 5]


def test_confusion_table_has_gold_rows_and_predicted_columns():
    gold, pred = from_confusion(MATRIX)
    table = confusion_table(gold, pred, LABELS)
    assert table.index.name == "gold" and table.columns.name == "predicted"
    assert table.index.tolist() == LABELS and table.columns.tolist() == LABELS
    assert table.to_numpy().tolist() == MATRIX


def test_ece_matches_hand_computed_four_examples():
    assert expected_calibration_error(PROBA_GOLD, PROBA) == pytest.approx(0.42)
    assert expected_calibration_error(PROBA_GOLD, PROBA, n_bins=2) == pytest.approx(0.245)


def test_ece_is_zero_when_confidence_equals_accuracy():
    # Four rows at confidence 0.75, three of them right: accuracy 0.75 = confidence, gap 0.
    proba = np.tile([0.75, 0.25], (4, 1))
    assert expected_calibration_error(np.array([0, 0, 0, 1]), proba) == pytest.approx(0.0)


def test_reliability_table_lists_every_bin_with_counts():
    table = reliability_table(PROBA_GOLD, PROBA)
    assert table.columns.tolist() == ["bin", "confidence", "accuracy", "count"]
    assert len(table) == 10 and table["count"].sum() == 4
    assert table["bin"].iloc[0] == "[0, 0.1)" and table["bin"].iloc[-1] == "[0.9, 1]"
    last = table.iloc[-1]
    assert (last["count"], last["confidence"], last["accuracy"]) == (2, pytest.approx(0.94), 0.5)
    assert table.loc[table["count"] == 0, "accuracy"].isna().all()


def test_log_loss_reads_probability_columns_in_label_order():
    # LABELS is not alphabetical, so reading columns in sorted order would give another value.
    gold = [LABELS[i] for i in PROBA_GOLD]
    pred = [LABELS[i] for i in PROBA.argmax(axis=1)]
    metrics = classification_metrics(gold, pred, LABELS, proba=PROBA)
    expected = -(math.log(0.92) + math.log(0.02) + math.log(0.65) + math.log(0.30)) / 4
    assert metrics["log_loss"] == pytest.approx(expected)
    assert metrics["ece"] == pytest.approx(0.42)


def test_class_absent_from_gold_keeps_metrics_defined():
    # Nobody complies: comply is neither gold nor predicted, so its F1 is 0 and macro F1 over
    # the three labels is (1 + 1 + 0) / 3; kappa is 1 (perfect agreement, p_e = 1/2).
    gold = ["decline", "consider", "decline", "consider"]
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.8, 0.1, 0.1], [0.1, 0.8, 0.1]])
    metrics = classification_metrics(gold, gold, LABELS, proba=proba)
    assert metrics["accuracy"] == 1.0
    assert metrics["macro_f1"] == pytest.approx(2 / 3)
    assert metrics["cohen_kappa"] == pytest.approx(1.0)
    assert metrics["log_loss"] == pytest.approx(-math.log(0.8))
    assert all(math.isfinite(v) for v in metrics.values())


def balanced(n_per_class: int, n_wrong: int = 0, seed: int = 0) -> tuple[list[str], list[str]]:
    """Gold labels with ``n_per_class`` of each label; ``n_wrong`` random items mispredicted."""
    rng = np.random.default_rng(seed)
    gold = np.array(LABELS * n_per_class)
    pred = gold.copy()
    for i in rng.choice(len(gold), size=n_wrong, replace=False):
        pred[i] = LABELS[(LABELS.index(gold[i]) + 1) % 3]
    return gold.tolist(), pred.tolist()


def test_bootstrap_estimate_is_the_full_sample_metric():
    gold, pred = from_confusion(MATRIX)
    assert bootstrap_interval(gold, pred, labels=LABELS).estimate == pytest.approx(MACRO_F1)
    acc = bootstrap_interval(gold, pred, "accuracy", labels=LABELS)
    assert acc.estimate == pytest.approx(0.8)


def test_bootstrap_is_deterministic_for_a_seed_and_contains_the_estimate():
    gold, pred = balanced(30, n_wrong=25)
    first = bootstrap_interval(gold, pred, labels=LABELS, seed=7)
    assert first == bootstrap_interval(gold, pred, labels=LABELS, seed=7)
    assert first != bootstrap_interval(gold, pred, labels=LABELS, seed=8)
    assert first.low <= first.estimate <= first.high
    assert first.low < first.high
    assert (first.metric, first.confidence, first.n_resamples, first.clustered) == (
        "macro_f1", 0.95, 1000, False,
    )


def test_bootstrap_interval_narrows_with_more_data():
    gold, pred = balanced(20, n_wrong=15)
    small = bootstrap_interval(gold, pred, "accuracy", labels=LABELS)
    large = bootstrap_interval(gold * 9, pred * 9, "accuracy", labels=LABELS)
    # Same accuracy, 9x the data: the width should shrink by about sqrt(9) = 3.
    assert small.estimate == pytest.approx(large.estimate)
    assert (large.high - large.low) < 0.5 * (small.high - small.low)


def test_bootstrap_higher_confidence_gives_a_wider_interval():
    gold, pred = balanced(30, n_wrong=25)
    narrow = bootstrap_interval(gold, pred, labels=LABELS, confidence=0.5)
    wide = bootstrap_interval(gold, pred, labels=LABELS, confidence=0.99)
    assert wide.low < narrow.low and narrow.high < wide.high


@pytest.mark.parametrize("metric", ["accuracy", "macro_f1"])
def test_bootstrap_of_all_correct_predictions_is_one_one(metric):
    # 100 of each class: a resample missing a class (which would score 0 on it) is practically
    # impossible, so every resample scores exactly 1.
    gold, _ = balanced(100)
    interval = bootstrap_interval(gold, gold, metric, labels=LABELS)
    assert (interval.estimate, interval.low, interval.high) == (1.0, 1.0, 1.0)


def test_clustered_bootstrap_with_one_group_per_item_equals_plain_bootstrap():
    gold, pred = balanced(30, n_wrong=25)
    groups = [f"statement-{i}" for i in range(len(gold))]
    plain = bootstrap_interval(gold, pred, labels=LABELS, seed=3)
    clustered = bootstrap_interval(gold, pred, labels=LABELS, seed=3, groups=groups)
    assert clustered.clustered and not plain.clustered
    assert (clustered.estimate, clustered.low, clustered.high) == (
        plain.estimate, plain.low, plain.high,
    )


def test_clustered_bootstrap_is_wider_when_errors_cluster_by_episode():
    # 20 episodes of 15 statements; in 6 episodes the model gets everything wrong. Statements
    # are not independent, so resampling statements understates the uncertainty.
    gold = LABELS * 100
    episodes = [f"episode-{i // 15}" for i in range(len(gold))]
    pred = [
        LABELS[(LABELS.index(g) + 1) % 3] if int(e.split("-")[1]) < 6 else g
        for g, e in zip(gold, episodes)
    ]
    plain = bootstrap_interval(gold, pred, "accuracy", labels=LABELS)
    clustered = bootstrap_interval(gold, pred, "accuracy", labels=LABELS, groups=episodes)
    assert clustered.estimate == plain.estimate == pytest.approx(0.7)
    assert (clustered.high - clustered.low) > 2 * (plain.high - plain.low)


def calibrated_sample(n: int, seed: int = 0, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Gold indices and probabilities whose top-label confidence is right on average, or too high
    by ``shift`` (the model says 0.9 where it is right 0.9 - shift of the time)."""
    rng = np.random.default_rng(seed)
    top = rng.uniform(0.4, 0.95, n)
    proba = np.column_stack([top, (1 - top) / 2, (1 - top) / 2])
    correct = rng.uniform(size=n) < top - shift
    gold = np.where(correct, 0, rng.integers(1, 3, n))
    return gold, proba


def test_ece_interval_estimate_is_the_metric_and_contains_it():
    gold, proba = calibrated_sample(400, shift=0.15)
    interval = ece_interval(gold, proba, seed=1)
    assert interval.metric == "ece" and not interval.clustered
    assert interval.estimate == pytest.approx(expected_calibration_error(gold, proba))
    assert interval.low <= interval.estimate <= interval.high


def test_ece_interval_separates_a_calibrated_model_from_an_overconfident_one():
    calibrated = ece_interval(*calibrated_sample(400), seed=1)
    overconfident = ece_interval(*calibrated_sample(400, shift=0.2), seed=1)
    # By chance alone a calibrated model's ECE on 400 statements is a few hundredths, not 0.
    assert 0.0 < calibrated.estimate < 0.08
    assert calibrated.high < overconfident.low
    assert overconfident.low > 0.1


def test_clustered_ece_interval_with_one_group_per_item_equals_plain():
    gold, proba = calibrated_sample(200, shift=0.1)
    plain = ece_interval(gold, proba, seed=3)
    clustered = ece_interval(gold, proba, seed=3, groups=[f"s{i}" for i in range(200)])
    assert (clustered.estimate, clustered.low, clustered.high) == (plain.estimate, plain.low, plain.high)


def test_evaluation_reports_the_ece_interval_in_its_metrics_and_summary():
    gold, proba = calibrated_sample(120, shift=0.1)
    frame = pd.DataFrame({"id": [f"s{i}" for i in range(120)], "text": "x",
                          "label": [LABELS[i] for i in gold], "episode": [f"e{i % 12}" for i in range(120)]})
    evaluation = evaluate_predictions(frame, proba, LABELS, bootstrap=200, cluster_by="episode")
    row = evaluation.tables["summary"].set_index("metric").loc["ece"]
    assert row["value"] == pytest.approx(expected_calibration_error(gold, proba))
    assert row["ci_low"] <= row["value"] <= row["ci_high"]
    assert any(i.metric == "ece" and i.clustered for i in evaluation.intervals)


def test_bootstrap_of_300_items_is_fast():
    gold, pred = balanced(100, n_wrong=60)
    start = time.perf_counter()
    bootstrap_interval(gold, pred, labels=LABELS, n_resamples=1000)
    assert time.perf_counter() - start < 1.0


def test_f_avg_is_the_mean_f1_of_favor_and_against_with_its_interval():
    from stance.evaluate.evaluation import evaluate_predictions
    from stance.evaluate.metrics import official_metric

    labels = ["FAVOR", "AGAINST", "NONE"]
    # rows gold, columns predicted: FAVOR 3 1 0 / AGAINST 1 4 1 / NONE 0 2 2
    gold, predicted = from_confusion([[3, 1, 0], [1, 4, 1], [0, 2, 2]], labels)
    # F1(FAVOR) = 2*3 / (4 + 4) = 0.75; F1(AGAINST) = 2*4 / (6 + 7) = 8/13; NONE (0.5) left out.
    expected = (0.75 + 8 / 13) / 2
    assert official_metric(gold, predicted, labels, "f_avg") == pytest.approx(expected)
    interval = bootstrap_interval(gold, predicted, "f_avg", labels=labels, n_resamples=200)
    assert interval.estimate == pytest.approx(expected) and interval.low <= expected <= interval.high
    proba = np.eye(3)[[labels.index(p) for p in predicted]]
    evaluation = evaluate_predictions(pd.DataFrame({"label": gold}), proba, labels, bootstrap=100, official=["f_avg"])
    assert evaluation.metrics["f_avg"] == pytest.approx(expected)
    assert "f_avg" in evaluation.tables["summary"]["metric"].tolist()
    assert [i.metric for i in evaluation.intervals] == ["accuracy", "macro_f1", "f_avg", "ece"]


def test_bootstrap_rejects_unknown_metric_and_labels():
    with pytest.raises(ValueError, match="unknown metric"):
        bootstrap_interval(["comply"], ["comply"], "f2", labels=LABELS)
    with pytest.raises(ValueError, match="not in the label set"):
        bootstrap_interval(["comply"], ["maybe"], labels=LABELS)


def test_paired_test_finds_a_perfect_system_better_than_a_random_one():
    rng = np.random.default_rng(1)
    gold = rng.choice(LABELS, size=200).tolist()
    random_pred = rng.choice(LABELS, size=200).tolist()
    result = paired_bootstrap_test(gold, gold, random_pred, labels=LABELS)
    assert result.method == "permutation"
    assert result.score_a == 1.0
    assert result.difference == pytest.approx(1.0 - result.score_b)
    assert result.difference > 0.4
    assert result.p_value < 0.01
    assert result.p_value >= 1 / 1001  # the +1 correction: never exactly 0


def test_paired_bootstrap_method_agrees_on_a_clear_difference():
    rng = np.random.default_rng(1)
    gold = rng.choice(LABELS, size=200).tolist()
    random_pred = rng.choice(LABELS, size=200).tolist()
    result = paired_bootstrap_test(gold, gold, random_pred, labels=LABELS, method="bootstrap")
    assert result.method == "bootstrap" and result.p_value < 0.01


@pytest.mark.parametrize("method", ["permutation", "bootstrap"])
def test_paired_test_of_identical_predictions_has_p_one(method):
    gold, pred = balanced(30, n_wrong=25)
    result = paired_bootstrap_test(gold, pred, pred, labels=LABELS, method=method)
    assert result.difference == 0.0
    assert result.p_value == 1.0


def test_paired_test_with_a_single_disagreement_is_never_significant():
    # A and B differ on one statement only (A right, B wrong). Every permutation either keeps or
    # swaps that pair, so |diff_perm| always equals |diff_obs|: p = (1000 + 1) / (1000 + 1) = 1.
    gold, pred = balanced(10)
    pred_b = list(pred)
    pred_b[0] = "comply" if gold[0] != "comply" else "decline"
    result = paired_bootstrap_test(gold, pred, pred_b, labels=LABELS, metric="accuracy")
    assert result.difference == pytest.approx(1 / 30)
    assert result.p_value == 1.0


def test_paired_test_is_symmetric_in_the_two_systems():
    gold, pred_a = balanced(30, n_wrong=20, seed=1)
    _, pred_b = balanced(30, n_wrong=30, seed=2)
    ab = paired_bootstrap_test(gold, pred_a, pred_b, labels=LABELS, seed=5)
    ba = paired_bootstrap_test(gold, pred_b, pred_a, labels=LABELS, seed=5)
    assert ab.difference == pytest.approx(-ba.difference)
    assert ab.p_value == ba.p_value
    assert 0 < ab.p_value <= 1


def test_paired_test_by_group_swaps_whole_groups():
    # With one group for everything, only two permutations exist (keep or swap all), and both
    # give |diff| = |diff_obs|: p = 1 however large the difference.
    gold, pred = balanced(30)
    _, worse = balanced(30, n_wrong=45)
    result = paired_bootstrap_test(gold, pred, worse, labels=LABELS, groups=["one"] * 90)
    assert result.difference > 0.3 and result.p_value == 1.0


def test_summary_table_joins_metrics_and_intervals():
    interval = Interval("macro_f1", 0.7, 0.6, 0.8, 0.95, 1000, False)
    table = summary_table({"accuracy": 0.75, "macro_f1": 0.7, "n": 40}, [interval])
    assert table.columns.tolist() == ["metric", "value", "ci_low", "ci_high"]
    assert table["metric"].tolist() == ["accuracy", "macro_f1", "n"]
    row = table.set_index("metric").loc["macro_f1"]
    assert (row["value"], row["ci_low"], row["ci_high"]) == (0.7, 0.6, 0.8)
    assert table.set_index("metric").loc["accuracy", ["ci_low", "ci_high"]].isna().all()


def test_breakdown_table_scores_each_group_largest_first():
    frame = pd.DataFrame(
        {
            "actor": ["Canada"] * 2 + ["Germany"] * 3,
            "label": ["decline", "comply", "consider", "consider", "comply"],
            "prediction": ["decline", "decline", "consider", "consider", "comply"],
        }
    )
    table = breakdown_table(frame, "actor", LABELS)
    assert table.columns.tolist() == ["actor", "n", "accuracy", "macro_f1"]
    assert table["actor"].tolist() == ["Germany", "Canada"]
    assert table["n"].tolist() == [3, 2]
    # Germany: all right, decline absent -> F1 (0 + 1 + 1) / 3.
    # Canada: decline F1 = 2*1/(1+2) = 2/3, comply F1 = 0, consider absent -> (2/3) / 3.
    assert table["accuracy"].tolist() == pytest.approx([1.0, 0.5])
    assert table["macro_f1"].tolist() == pytest.approx([2 / 3, 2 / 9])


def test_error_table_lists_misclassified_rows_most_confident_first():
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "text": ["x", "y", "z"],
            "label": ["decline", "comply", "consider"],
            "prediction": ["consider", "comply", "decline"],
            "p_decline": [0.3, 0.1, 0.9],
            "p_consider": [0.6, 0.1, 0.05],
            "p_comply": [0.1, 0.8, 0.05],
        }
    )
    table = error_table(frame, LABELS)
    assert table["id"].tolist() == ["c", "a"]
    assert table["confidence"].tolist() == pytest.approx([0.9, 0.6])
