"""The articles' gold answers as statements for the stance classifier (`stance articles statements`)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from stance.articles import gold_statements
from stance.cli import app
from stance.errors import DataError

LETTER = """\
Canada reviews its coalition role

OTTAWA — Canada confirmed on Wednesday that it had received a letter from the US defence secretary which asked for more military contributions to the fight against Islamic State.

Defence Minister Harjit Sajjan said the government was reviewing its contribution and would have more to say in the new year.

A spokesperson for the Canadian defence minister later said the plan to pull the jets out of the bombing mission had not changed.
"""

GOLD = ("article,actor,label,quote\n"
        "letter,Canada,consider,was reviewing its contribution and would\n"
        "letter,Canada,decline,plan to pull the jets out\n")


def test_each_gold_answer_becomes_a_statement_with_its_whole_sentence_and_the_request(tmp_path, gazetteer):
    (tmp_path / "letter.txt").write_text(LETTER)
    gold = pd.read_csv(pd.io.common.StringIO(GOLD))
    records = gold_statements([tmp_path], gold, gazetteer=gazetteer, backend="rules")
    assert records["id"].tolist() == ["letter-a1", "letter-a2"]
    assert records["label"].tolist() == ["consider", "decline"]
    assert records.loc[0, "text"].startswith("Defence Minister Harjit Sajjan said")  # the sentence, not the quote
    assert records.loc[1, "text"].endswith("had not changed.")
    assert set(records["requester"]) == {"United States"} and set(records["episode"]) == {"letter"}
    assert "contributions" in records.loc[0, "request"] and set(records["source_type"]) == {"article"}


def test_a_quote_no_sentence_holds_is_an_error(tmp_path, gazetteer):
    (tmp_path / "letter.txt").write_text(LETTER)
    gold = pd.DataFrame({"article": ["letter"], "actor": ["Canada"], "label": ["comply"],
                         "quote": ["will send six more jets"]})
    with pytest.raises(DataError, match="no sentence holds the gold quote"):
        gold_statements([tmp_path], gold, gazetteer=gazetteer, backend="rules")


def test_cli_articles_statements_takes_only_the_listed_articles(tmp_path):
    (tmp_path / "letter.txt").write_text(LETTER)
    (tmp_path / "other.txt").write_text(LETTER.replace("Canada", "Norway").replace("Canadian", "Norwegian"))
    (tmp_path / "answers.csv").write_text(GOLD + GOLD.splitlines()[1].replace("letter,Canada", "other,Norway") + "\n")
    (tmp_path / "only.txt").write_text("# outside the corpus\nletter\n")
    out = tmp_path / "out" / "statements.jsonl"
    result = CliRunner().invoke(app, ["articles", "statements", str(tmp_path), "--only", str(tmp_path / "only.txt"),
                                      "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 statements" in result.output and "from 1 articles" in result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["episode"] for r in rows] == ["letter", "letter"]
    (tmp_path / "only.txt").write_text("letter\nmissing-article\n")
    result = CliRunner().invoke(app, ["articles", "statements", str(tmp_path), "--only", str(tmp_path / "only.txt"),
                                      "--output", str(tmp_path / "again.jsonl")])
    assert result.exit_code != 0 and "missing-article" in result.output


def test_articles_of_corpus_episodes_train_only_where_the_split_puts_the_episode_in_train(tmp_path):
    for name, country in (("letter", "Canada"), ("other", "Norway"), ("third", "Denmark")):
        (tmp_path / f"{name}.txt").write_text(LETTER.replace("Canada", country))
    (tmp_path / "answers.csv").write_text("article,actor,label,quote\n" + "".join(
        f"{name},{country},consider,was reviewing its contribution and would\n"
        for name, country in (("letter", "Canada"), ("other", "Norway"), ("third", "Denmark"))))
    (tmp_path / "episodes.csv").write_text(
        "article,episode,why\n"
        "letter,2015-12 US letters to the coalition,\"requester, request, year\"\n"
        "other,2016 test episode,\n"
        "third,an episode of the second test set,\n")
    (tmp_path / "splits.json").write_text(json.dumps({"episodes": {
        "train": ["2015-12 US letters to the coalition"], "dev": [], "test": ["2016 test episode"]},
        "seed": 13, "dev_fraction": 0.15, "test_fraction": 0.2}))
    out = tmp_path / "statements.jsonl"
    result = CliRunner().invoke(app, ["articles", "statements", str(tmp_path), "--episodes", str(tmp_path / "episodes.csv"),
                                      "--splits", str(tmp_path / "splits.json"), "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    # Only the train episode's article, with the corpus episode (which a run checks against dev and test).
    assert [(r["id"], r["episode"]) for r in rows] == [("letter-a1", "2015-12 US letters to the coalition")]
    assert "from 1 articles" in result.output


def test_an_article_given_two_episodes_is_an_error(tmp_path):
    from stance.articles.gold import load_article_episodes

    (tmp_path / "episodes.csv").write_text("article,episode\nletter,a\nletter,b\n")
    with pytest.raises(DataError, match="'letter' is given two episodes"):
        load_article_episodes(tmp_path / "episodes.csv")


def test_a_sentence_is_kept_once_and_left_out_where_its_governments_answer_differently():
    from stance.articles.gold import one_label_per_text

    records = pd.DataFrame({
        "id": ["a-a1", "a-a2", "a-a3", "a-a4"], "episode": "a", "label": ["comply", "comply", "comply", "decline"],
        "actor": ["Ghana", "Kenya", "Russia", "China"],
        "text": ["Ghana and Kenya voted for the text.", "Ghana and Kenya voted for the text.",
                 "Russia voted for it while China abstained.", "Russia voted for it while China abstained."],
    })
    kept = one_label_per_text(records)
    assert kept["id"].tolist() == ["a-a1"]


def test_a_sentence_that_answers_for_several_trains_as_each_government_s_clause(tmp_path, gazetteer):
    (tmp_path / "vote.txt").write_text(
        "Israel loses UNESCO vote\n\nPARIS, May 2, 2017 (Reuters) - Israel asked European governments to vote "
        "against a UNESCO resolution on Jerusalem.\n\nItaly and Germany voted no on Tuesday; France and Spain "
        "abstained, Sweden voted yes.\n")
    gold = pd.DataFrame({"article": "vote", "actor": ["Italy", "Germany", "France", "Spain", "Sweden"],
                         "label": ["comply", "comply", "decline", "decline", "decline"],
                         "quote": "Italy and Germany voted no on Tuesday"})
    scored = gold_statements([tmp_path], gold, gazetteer=gazetteer, backend="rules", one_per_text=False)
    assert scored["focus"].tolist() == ["Italy and Germany voted no on Tuesday"] * 2 + [
        "France and Spain abstained"] * 2 + ["Sweden voted yes."]
    trained = gold_statements([tmp_path], gold, gazetteer=gazetteer, backend="rules")
    # The whole sentence has three labels and could not train; its clauses have one each.
    assert trained["text"].tolist() == ["Italy and Germany voted no on Tuesday", "France and Spain abstained",
                                        "Sweden voted yes."]
    assert trained["label"].tolist() == ["comply", "decline", "decline"] and "focus" not in trained.columns
