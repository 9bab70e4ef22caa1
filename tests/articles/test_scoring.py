"""Scoring against an expected table (hand-computed), and the shipped example articles."""

from __future__ import annotations

import pandas as pd
import pytest

from stance.articles import evaluate_articles
from stance.errors import DataError

from .samples import ARTICLES, RULES_ARTICLES, rules_articles


def test_evaluation_scores_extraction_by_hand(tmp_path, gazetteer):
    (tmp_path / "one.txt").write_text("Canada said it would send a ship.\nGermany said it would not take part.\n")
    # Expected: Canada, Germany, Italy in one; Spain in two. Found: Canada, Germany; Spain.
    (tmp_path / "expected.csv").write_text(
        "article,actor,stance\none,Canada,comply\none,Germany,decline\none,Italy,comply\ntwo,Spain,consider\n")
    (tmp_path / "two.txt").write_text("Spain said it would consider the request.\nFrance said it would send a ship.\n")
    evaluation = evaluate_articles(tmp_path, gazetteer=gazetteer, n_resamples=50)
    # found 3 of 4 expected (recall 3/4); 3 of the 4 extracted are expected (precision 3/4)
    assert evaluation.value("extraction_recall") == pytest.approx(0.75)
    assert evaluation.value("extraction_precision") == pytest.approx(0.75)
    assert evaluation.value("extraction_f1") == pytest.approx(0.75)
    per_article = evaluation.tables["per_article"].set_index("article")
    assert per_article.loc["one", "missed"] == "Italy" and per_article.loc["two", "extra"] == "France"
    assert "stance_accuracy" not in set(evaluation.summary["metric"])  # no model, no stances


def test_evaluation_names_a_missing_article(tmp_path):
    (tmp_path / "expected.csv").write_text("article,actor,stance\nghost,Canada,comply\n")
    with pytest.raises(DataError, match="ghost"):
        evaluate_articles(tmp_path)


def test_shipped_articles_and_expected_table_agree():
    expected = pd.read_csv(ARTICLES / "expected.csv")
    names = sorted(p.stem for p in ARTICLES.glob("*.txt"))
    assert len(names) >= 12 and sorted(expected["article"].unique()) == names
    assert set(expected["stance"]) <= {"decline", "consider", "comply"}
    for name in names:
        words = len((ARTICLES / f"{name}.txt").read_text(encoding="utf-8").split())
        assert 250 <= words <= 750, (name, words)  # the wire-style articles run to about 700 words
    row = expected[expected["article"] == "isis-2015-letters"].set_index("actor")["stance"].to_dict()
    assert row == {"Canada": "decline", "Germany": "decline", "Australia": "consider"}


GOLD_FOLDERS = [f for f in (ARTICLES, ARTICLES.parent / "articles-heldout") if (f / "expected.csv").is_file()]


@pytest.mark.parametrize("folder", GOLD_FOLDERS, ids=lambda f: f.name)
def test_article_folders_have_gold_for_every_article(folder):
    """An article folder's files agree with its gold (checked without analysing a single article):
    the development articles, and a held-out round when one is waiting."""
    names = sorted(p.stem for p in folder.glob("*.txt"))
    expected = pd.read_csv(folder / "expected.csv")
    answers = pd.read_csv(folder / "answers.csv")
    # A whole folder, not a stray file: the development articles number in the hundreds, a held-out
    # round 16 to 22 articles.
    assert len(names) >= (100 if folder == ARTICLES else 10) and sorted(expected["article"].unique()) == names
    assert set(answers["article"]) == set(names) and set(answers["label"]) <= {"decline", "consider", "comply"}
    for name, rows in answers.groupby("article"):
        text = (folder / f"{name}.txt").read_text(encoding="utf-8")
        assert all(text.count(quote) == 1 for quote in rows["quote"]), name
    # every expected government has answer rows, and its overall stance is its last row's label
    last = {(r.article, r.actor): r.label for r in answers.itertuples()}
    assert all(last.get((r.article, r.actor)) == r.stance for r in expected.itertuples())


def test_shipped_articles_extraction_recall_target(gazetteer, tmp_path):
    # The 0.9 target is the frozen rules' on the articles they were developed on; the harder issue 21
    # articles are scored by the same command (0.58 recall with these rules on 2026-12-07).
    evaluation = evaluate_articles(rules_articles(tmp_path / "rules"), gazetteer=gazetteer, n_resamples=20)
    assert evaluation.value("extraction_recall") >= 0.9
    assert set(RULES_ARTICLES) < {p.stem for p in ARTICLES.glob("*.txt")}
