"""`stance analyze` and `stance evaluate-articles`, with a fast classifier trained on the real corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from stance.cli import app

from .samples import ARTICLES, LETTER, REPO, rules_articles


@pytest.fixture(scope="module")
def article_run(tmp_path_factory) -> Path:
    """A TF-IDF + logistic regression run on data/statements.jsonl (one C, no bootstrap: seconds)."""
    from stance.config import load_config
    from stance.recipes import run_experiment

    out = tmp_path_factory.mktemp("article-runs")
    config = load_config(REPO / "configs" / "baselines" / "tfidf_logreg.yaml", [
        f"data.path={REPO / 'data' / 'statements.jsonl'}", f"data.splits={REPO / 'data' / 'splits.json'}",
        "model.params.C_grid=[1.0]", "model.params.ngram_range=[1,1]", "evaluate.baselines=[]", "evaluate.bootstrap=0", f"output.dir={out}",
    ])
    run, _ = run_experiment(config)
    return run.path


runner = CliRunner()


def test_cli_analyze_writes_one_row_per_government(article_run, tmp_path):
    article = ARTICLES / "isis-2015-letters.txt"
    result = runner.invoke(app, ["analyze", str(article), "--model", str(article_run), "-o", str(tmp_path / "g.csv"),
                                 "--statements", str(tmp_path / "s.jsonl")])
    assert result.exit_code == 0, result.output
    assert "United States asked for" in result.output
    table = pd.read_csv(tmp_path / "g.csv")
    assert table["actor"].tolist() == ["Canada", "Germany", "Australia"]
    assert set(table["stance"]) <= {"decline", "consider", "comply"}
    assert {"confidence", "statements", "labels", "evidence", "requester", "request"} <= set(table.columns)
    statements = pd.read_json(tmp_path / "s.jsonl", lines=True)
    assert len(statements) == table["statements"].sum() and "p_decline" in statements.columns
    # Markdown by extension; an existing file needs --force.
    md = tmp_path / "g.md"
    assert runner.invoke(app, ["analyze", str(article), "-m", str(article_run), "-o", str(md)]).exit_code == 0
    assert md.read_text().startswith("| article")
    again = runner.invoke(app, ["analyze", str(article), "-m", str(article_run), "-o", str(md)])
    assert again.exit_code == 1 and "already exists" in again.output


def test_cli_analyze_reads_stdin_and_folders_without_a_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no experiments/ here: --answers auto falls back to the rules
    result = runner.invoke(app, ["analyze", "-", "-o", str(tmp_path / "g.jsonl")], input=LETTER)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "g.jsonl").read_text().splitlines()]
    assert [r["actor"] for r in rows] == ["Canada", "Germany"] and rows[0]["article"] == "stdin"
    assert "not classified" in result.output
    folder = runner.invoke(app, ["analyze", str(ARTICLES), "--no-evidence"])
    assert folder.exit_code == 0 and "korea-1950-troops" in folder.output


def test_cli_analyze_reports_a_missing_file_in_one_line(tmp_path):
    result = runner.invoke(app, ["analyze", str(tmp_path / "nope.txt")])
    assert result.exit_code == 1 and "does not exist" in result.output


def test_cli_evaluate_articles(article_run, tmp_path):
    result = runner.invoke(app, ["evaluate-articles", "--model", str(article_run), "--bootstrap", "50",
                                 "--articles", str(rules_articles(tmp_path / "rules")),
                                 "--report", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(tmp_path / "report" / "summary.csv").set_index("metric")
    assert summary.loc["extraction_recall", "value"] >= 0.9
    assert 0 <= summary.loc["stance_accuracy", "value"] <= 1
    assert (tmp_path / "report" / "governments.csv").is_file()


def test_cli_evaluate_articles_scores_the_classifier_on_the_gold_answers_too(article_run, tmp_path):
    folder = rules_articles(tmp_path / "rules")
    names = pd.read_csv(folder / "expected.csv")["article"].unique()
    gold = pd.read_csv(ARTICLES / "answers.csv")
    gold[gold["article"].isin(names)].to_csv(folder / "answers.csv", index=False)
    result = runner.invoke(app, ["evaluate-articles", "--model", str(article_run), "--bootstrap", "20",
                                 "--articles", str(folder), "--report", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(tmp_path / "report" / "summary.csv").set_index("metric")
    given = pd.read_csv(tmp_path / "report" / "gold_answers.csv")
    assert summary.loc["gold_answer_accuracy", "n"] == len(given) == gold["article"].isin(names).sum()
    assert summary.loc["gold_answer_accuracy", "value"] == pytest.approx((given["label"] == given["gold"]).mean())
    # one overall stance per expected government, from its latest gold answer
    assert summary.loc["gold_answer_stance_accuracy", "n"] == len(pd.read_csv(folder / "expected.csv"))


def test_cli_help_for_article_commands():
    for command in ("analyze", "evaluate-articles"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "--model" in result.output
