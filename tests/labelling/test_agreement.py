"""Agreement statistics against hand-computed and published examples; reading logs and label files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stance.errors import DataError, StanceError
from stance.labelling import (
    Annotations,
    agreement_report,
    coincidence_matrix,
    cohen_kappa,
    fleiss_category_kappas,
    fleiss_kappa,
    krippendorff_alpha,
    load_annotations,
    read_annotations,
    specific_agreement,
)

from .scripted import write_log


L3 = ["decline", "consider", "comply"]


def pairs_from_table(table: list[list[int]], labels: list[str]) -> tuple[list[str], list[str]]:
    """Two annotators' labels from a confusion table (rows: first annotator, columns: second)."""
    a, b = [], []
    for i, row in enumerate(table):
        for j, n in enumerate(row):
            a += [labels[i]] * n
            b += [labels[j]] * n
    return a, b


# A 3×3 table worked by hand: N = 50, p_o = (10 + 8 + 21) / 50 = 0.78;
# margins A (15, 10, 25), B (13, 12, 25): p_e = (15·13 + 10·12 + 25·25) / 2500 = 940 / 2500 = 0.376;
# kappa = (0.78 − 0.376) / (1 − 0.376) = 0.404 / 0.624 = 0.647436.
TABLE_3X3 = [[10, 2, 3], [1, 8, 1], [2, 2, 21]]


KAPPA_3X3 = 0.404 / 0.624


def test_cohen_kappa_on_the_2x2_textbook_table():
    # Wikipedia's example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no. p_o = 0.7, p_e = 0.5 → 0.4.
    a, b = pairs_from_table([[20, 5], [10, 15]], ["yes", "no"])
    assert cohen_kappa(a, b, ["yes", "no"]) == pytest.approx(0.4)


def test_cohen_kappa_on_a_3x3_table_worked_by_hand():
    a, b = pairs_from_table(TABLE_3X3, L3)
    assert cohen_kappa(a, b, L3) == pytest.approx(KAPPA_3X3)


# Fleiss (1971) as on Wikipedia: 10 subjects, 14 raters, 5 categories. Column sums (20, 28, 39, 21, 32):
# P̄e = (20² + 28² + 39² + 21² + 32²) / 140² = 4170 / 19600; sum_i (sum_j n_ij² − 14) = 688, P̄ = 688 / (10·14·13);
# kappa = (P̄ − P̄e) / (1 − P̄e) = 0.2099 (Wikipedia rounds to 0.210).
FLEISS_1971 = np.array([
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
])


def test_fleiss_kappa_on_the_fleiss_1971_example():
    p_bar, p_e = 688 / 1820, 4170 / 19600
    assert fleiss_kappa(FLEISS_1971) == pytest.approx((p_bar - p_e) / (1 - p_e))
    assert fleiss_kappa(FLEISS_1971) == pytest.approx(0.210, abs=5e-4)


def test_fleiss_category_kappas_by_hand():
    # 3 statements, 3 raters, 2 labels: (3, 0), (2, 1), (0, 3). p = (5/9, 4/9).
    # Label 1: sum n_ij (n − n_ij) = 0 + 2 + 0 = 2; N n (n − 1) p q = 18 · 20/81; kappa = 1 − 2 / (360/81) = 0.55.
    counts = np.array([[3, 0], [2, 1], [0, 3]])
    assert fleiss_category_kappas(counts) == pytest.approx([0.55, 0.55])
    assert fleiss_kappa(counts) == pytest.approx(0.55)  # with two labels each equals the overall kappa
    with pytest.raises(ValueError):
        fleiss_kappa(np.array([[2, 0], [1, 0]]))


# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", example C: 4 observers, 12 units,
# nominal values 1-5 with missing data; published alpha (nominal) = 0.743.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def counts_from_observers(observers: list[list], categories: list) -> np.ndarray:
    units = list(zip(*observers))
    return np.array([[sum(v == c for v in unit) for c in categories] for unit in units], dtype=float)


def test_krippendorff_alpha_on_the_published_example():
    counts = counts_from_observers(KRIPPENDORFF_2011, [1, 2, 3, 4, 5])
    assert krippendorff_alpha(counts) == pytest.approx(0.743, abs=5e-4)
    # The coincidence matrix holds n = 40 pairable values (unit 12 has one value and drops out).
    assert coincidence_matrix(counts).sum() == pytest.approx(40)


def test_krippendorff_alpha_on_a_small_hand_example():
    # Two coders, units (a, a), (a, b), (b, b): o_aa = 2, o_ab = o_ba = 1, o_bb = 2; n_a = n_b = 3, n = 6.
    # alpha = 1 − (n − 1) · (o_ab + o_ba) / (2 n_a n_b) = 1 − 5 · 2 / 18 = 4/9.
    counts = np.array([[2, 0], [1, 1], [0, 2]])
    assert np.allclose(coincidence_matrix(counts), [[2, 1], [1, 2]])
    assert krippendorff_alpha(counts) == pytest.approx(4 / 9)
    assert np.isnan(krippendorff_alpha(np.array([[2, 0], [3, 0]])))  # one category only: undefined


def test_specific_agreement_by_hand():
    # Two annotators, TABLE_3X3: decline 2·10 / (15 + 13), consider 2·8 / (10 + 12), comply 2·21 / (25 + 25).
    a, b = pairs_from_table(TABLE_3X3, L3)
    counts = np.array([[(x == label) + (y == label) for label in L3] for x, y in zip(a, b)])
    assert specific_agreement(counts) == pytest.approx([20 / 28, 16 / 22, 42 / 50])


def two_annotators() -> list[Annotations]:
    a, b = pairs_from_table(TABLE_3X3, L3)
    ids = [f"s{i:02d}" for i in range(len(a))]
    return [Annotations("ana", dict(zip(ids, a)), {"s10": "hard one"}), Annotations("ben", dict(zip(ids, b)))]


def test_report_for_two_annotators_matches_the_hand_computed_table():
    tables = agreement_report(two_annotators())
    summary = tables["summary"].set_index("statistic")
    assert summary.loc["Cohen's kappa", "value"] == pytest.approx(KAPPA_3X3)
    assert summary.loc["raw agreement (all labels equal)", "value"] == pytest.approx(0.78)
    assert summary.loc["Cohen's kappa", "statements"] == 50
    assert "Fleiss' kappa (statements labelled by all)" not in summary.index
    confusion = tables["confusion"].set_index("label_a")[L3]
    assert confusion.to_numpy().tolist() == TABLE_3X3
    per_label = tables["per_label"].set_index("label")
    assert per_label["specific_agreement"].tolist() == pytest.approx([20 / 28, 16 / 22, 42 / 50])
    assert per_label["n_ana"].tolist() == [15, 10, 25] and per_label["n_ben"].tolist() == [13, 12, 25]
    assert len(tables["disagreements"]) == 11
    assert tables["disagreements"].set_index("id").loc["s10", "notes"] == "ana: hard one"


def test_report_for_three_annotators_uses_fleiss_and_alpha_with_missing_labels():
    # Three annotators on five statements, one label missing: Fleiss uses the four complete ones.
    ann = [Annotations("a", {"s1": "comply", "s2": "comply", "s3": "decline", "s4": "consider", "s5": "comply"}),
           Annotations("b", {"s1": "comply", "s2": "decline", "s3": "decline", "s4": "consider", "s5": "comply"}),
           Annotations("c", {"s1": "comply", "s2": "comply", "s3": "decline", "s4": "comply"})]
    tables = agreement_report(ann)
    summary = tables["summary"].set_index("statistic")
    complete = np.array([[0, 0, 3], [1, 0, 2], [3, 0, 0], [0, 2, 1]])
    with_missing = np.vstack([complete, [[0, 0, 2]]])
    assert summary.loc["Fleiss' kappa (statements labelled by all)", "value"] == pytest.approx(fleiss_kappa(complete))
    assert summary.loc["Fleiss' kappa (statements labelled by all)", "statements"] == 4
    assert summary.loc["Krippendorff's alpha (nominal)", "value"] == pytest.approx(krippendorff_alpha(with_missing))
    assert summary.loc["Krippendorff's alpha (nominal)", "statements"] == 5
    assert len(tables["pairwise"]) == 3 and len(tables["confusion"]) == 9
    assert tables["disagreements"]["id"].tolist() == ["s2", "s4"]


def test_agreement_needs_two_annotators():
    with pytest.raises(StanceError, match="at least two"):
        agreement_report(two_annotators()[:1])


def test_logs_are_read_as_their_current_labels_and_plain_files_as_they_are(tmp_path):
    log = write_log(tmp_path / "ana.jsonl", "ana", [("label", "a", "comply"), ("label", "b", "decline"),
                                                     ("retract", "b"), ("skip", "c")], source="../s.jsonl")
    read = read_annotations(log)
    assert (read.annotator, read.labels, read.source) == ("ana", {"a": "comply"}, tmp_path.parent / "s.jsonl")
    plain = tmp_path / "second_pass.csv"
    pd.DataFrame({"id": ["a", "b"], "label": ["Comply", "consider"]}).to_csv(plain, index=False)
    assert read_annotations(plain).labels == {"a": "comply", "b": "consider"}
    assert read_annotations(plain).annotator == "second_pass"
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"id": ["a"], "stance": ["comply"]}).to_csv(bad, index=False)
    with pytest.raises(DataError, match="neither an annotation log"):
        read_annotations(bad)
    with pytest.raises(DataError, match="both by annotator 'ana'"):
        load_annotations([log, log])
