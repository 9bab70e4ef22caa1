"""The reading pages (stance.pages) without a browser: formatting against hand-written cases, the
markup of a run's page and a leaderboard's, and the pipeline writing them. tests/test_browser.py
opens the same pages in headless Chromium."""

import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from stance.cli import app
from stance.config import apply_overrides, load_config
from stance.evaluate import evaluate_predictions
from stance.pages import RunDescription, comparison_page, evaluation_page
from stance.pages import formatting as fmt
from stance.pages.tables import confusion_table, frame_table, summary_table

LABELS = ["decline", "consider", "comply"]


def toy_evaluation(statements: pd.DataFrame):
    """An evaluation of hand-made predictions on the toy statements: every fourth statement is
    predicted as the next label, every seventh as the one after, the rest correctly, each with its
    own confidence."""
    gold = np.array([LABELS.index(label) for label in statements["label"]])
    predicted = gold.copy()
    predicted[::4] = (gold[::4] + 1) % 3
    predicted[::7] = (gold[::7] + 2) % 3
    confidence = 0.45 + 0.02 * np.arange(len(gold))  # every row its own, to sort by
    proba = np.repeat(((1 - confidence) / 2)[:, None], 3, axis=1)
    proba[np.arange(len(gold)), predicted] = confidence
    statements = statements.copy()
    statements.loc[0, "text"] = "Officials said <b>no</b> & would not \"send\" troops."  # markup in the data
    return evaluate_predictions(statements, proba, LABELS, name="test", bootstrap=50,
                                breakdowns=["episode", "actor", "requester", "source_type"])


def toy_comparison(evaluation) -> pd.DataFrame:
    """A run's comparison with two baselines, as stance.recipes.run writes it (NaN on the model's row)."""
    model = evaluation.metrics["macro_f1"]
    return pd.DataFrame({
        "model": ["transformer", "majority", "tfidf_logreg"],
        "accuracy": [0.80, 0.40, 0.70], "accuracy_low": [0.7, 0.3, 0.6], "accuracy_high": [0.9, 0.5, 0.8],
        "macro_f1": [model, 0.19, 0.714], "macro_f1_low": [model - 0.05, 0.17, 0.66],
        "macro_f1_high": [model + 0.05, 0.21, 0.76],
        "model_minus_this": [np.nan, model - 0.19, model - 0.714], "p_value": [np.nan, 0.0004, 0.027],
    })


def evaluation_metrics(evaluation) -> dict:
    """What save_evaluation records in metrics.json."""
    metrics = dict(evaluation.metrics)
    for interval in evaluation.intervals:
        metrics[f"{interval.metric}_ci_low"], metrics[f"{interval.metric}_ci_high"] = interval.low, interval.high
    return metrics


class _Page(HTMLParser):
    """The visible text (no style, script or data URIs) and the id attributes of a page."""

    def __init__(self, markup: str):
        super().__init__()
        self.text, self.ids, self.links, self._skip = [], [], [], 0
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._skip += tag in ("style", "script")
        if "id" in attrs:
            self.ids.append(attrs["id"])
        for name in ("src", "href"):
            if name in attrs:
                self.links.append(attrs[name])

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script")

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


@pytest.fixture
def run_page(statements) -> tuple[str, dict]:
    evaluation = toy_evaluation(statements)
    tables = {"comparison": toy_comparison(evaluation), **evaluation.tables}
    metrics = evaluation_metrics(evaluation)
    about = RunDescription(run_id="20261206-000000-toy-abc123", name="toy", model="transformer (default weights)",
                           data="the test split of toy.jsonl", split="test")
    return evaluation_page(tables, metrics, about=about, warnings=["test: a warning <the reader> must see"]), metrics


# ----------------------------------------------------------------------------------------------
# Formatting, against hand-written cases


def test_intervals_read_as_value_and_bounds():
    assert fmt.interval(0.77512, 0.72649, 0.82) == "0.775 [0.726, 0.820]"
    assert fmt.interval(0.5, float("nan"), float("nan")) == "0.500"
    assert fmt.interval(float("nan"), 0.1, 0.2) == ""


def test_p_values_below_a_thousandth_read_as_less_than():
    assert fmt.p_value(0.0004998) == "< 0.001"
    assert fmt.p_value(0.001) == "0.001"
    assert fmt.p_value(0.0271) == "0.027"
    assert fmt.p_value(1.0) == "1.000"
    assert fmt.p_value(float("nan")) == "" and fmt.p_value(None) == ""


def test_counts_are_integers_and_differences_carry_a_sign():
    assert fmt.count(323.0) == "323" and fmt.count(np.int64(1897)) == "1,897"
    assert fmt.cell(323.0, "n") == "323" and fmt.cell(np.int64(12), "decline") == "12"
    assert fmt.signed(0.0612) == "+0.061" and fmt.signed(-0.0123) == "−0.012" and fmt.signed(-0.0001) == "0.000"
    assert fmt.cell(float("nan"), "accuracy") == "" and fmt.cell(None) == "" and fmt.cell(pd.NA) == ""


def test_column_names_read_as_words():
    assert [fmt.readable(c) for c in ("macro_f1", "p_value", "model_minus_this", "p_comply", "source_type")] == \
        ["macro-F1", "p", "model − this", "P(comply)", "source type"]


def test_a_summary_folds_intervals_into_the_value_and_shows_n_as_an_integer():
    frame = pd.DataFrame({"metric": ["macro_f1", "n", "cohen_kappa"], "value": [0.775, 323.0, np.nan],
                          "ci_low": [0.726, np.nan, np.nan], "ci_high": [0.82, np.nan, np.nan]})
    table = summary_table(frame)
    assert [[c.text for c in row.cells] for row in table.rows] == \
        [["macro-F1", "0.775 [0.726, 0.820]"], ["n", "323"], ["Cohen's κ", ""]]
    assert table.columns[1].title == "value [95% CI]"


def test_a_frame_with_interval_columns_reads_as_one_column_per_metric():
    frame = pd.DataFrame({"model": ["a", "b"], "macro_f1": [0.7, 0.6], "macro_f1_low": [0.65, 0.55],
                          "macro_f1_high": [0.75, 0.66], "p_value": [np.nan, 0.0001]})
    table = frame_table(frame, "t", confidence=0.9)
    assert [c.title for c in table.columns] == ["model", "macro-F1 [90% CI]", "p"]
    assert [[c.text for c in row.cells] for row in table.rows] == [["a", "0.700 [0.650, 0.750]", ""],
                                                                   ["b", "0.600 [0.550, 0.660]", "< 0.001"]]


def test_the_confusion_table_labels_gold_rows_and_predicted_columns():
    frame = pd.DataFrame({"gold": LABELS, "decline": [5, 1, 0], "consider": [2, 4, 1], "comply": [0, 0, 6]})
    table = confusion_table(frame)
    assert table.columns[0].title == "gold ↓" and [c.title for c in table.columns[1:4]] == LABELS
    assert table.span == [("", 1), ("predicted →", 3), ("", 1)]
    assert [row.cells[0].text for row in table.rows] == LABELS
    assert [c.text for c in table.rows[0].cells] == ["decline", "5", "2", "0", "7"]


# ----------------------------------------------------------------------------------------------
# A run's page


def test_the_run_page_opens_with_a_headline_of_the_figures_that_matter(run_page):
    page, metrics = run_page
    score = f"{metrics['macro_f1']:.3f} [{metrics['macro_f1_ci_low']:.3f}, {metrics['macro_f1_ci_high']:.3f}]"
    headline = page[page.index('id="headline"'):page.index("</section>")]
    facts = dict(re.findall(r'data-metric="(\w+)">.*?<span class="value">(.*?)</span>\s*(?:<span|</div)', headline,
                            re.S))
    assert set(facts) == {"macro_f1", "accuracy", "baseline_macro_f1", "ece", "n"}
    assert re.sub(r"<[^>]+>", "", facts["macro_f1"]) == score
    assert facts["n"] == "24" and facts["baseline_macro_f1"] == "0.714"
    assert "best baseline: tfidf_logreg" in headline and "p = 0.027" in headline
    lead = re.search(r'<p class="lead">(.*?)</p>', page, re.S).group(1)
    assert f"macro-F1 {score}" in lead and "tfidf_logreg" in lead and "(24 statements)" in lead


def test_the_run_page_never_reads_nan_and_escapes_the_data(run_page):
    page, _ = run_page
    text = " ".join(_Page(page).text)
    assert not re.search(r"\bnan\b", text, re.I)
    assert "Officials said &lt;b&gt;no&lt;/b&gt; &amp; would not &#34;send&#34; troops." in page
    assert "a warning &lt;the reader&gt; must see" in page


def test_the_run_page_is_one_self_contained_file(run_page):
    page, _ = run_page
    parsed = _Page(page)
    assert all(link.startswith(("#", "data:image/png;base64,")) for link in parsed.links), parsed.links
    assert "<script src" not in page and "<link" not in page and "@import" not in page
    assert not re.search(r"url\((?!#)", page), "SVG refers only to itself"
    assert "@media print" in page and "<svg" in page
    assert len(parsed.ids) == len(set(parsed.ids)), "ids are unique"
    assert {link[1:] for link in parsed.links if link.startswith("#")} <= set(parsed.ids), "contents link to sections"


def test_the_run_page_reads_top_down_with_each_plot_beside_its_table(run_page):
    page, _ = run_page
    headings = re.findall(r"<h2>([^<]+)</h2>", page)
    assert headings == ["Contents", "Against the baselines", "Scores", "Confusion matrix", "Calibration",
                        "Breakdowns", "Errors"]
    assert "predicted →" in page and "gold ↓" in page
    errors = page[page.index('id="table-errors"'):]
    assert errors.count("<tr data-gold=") == len(re.findall("data-gold", errors))
    assert 'aria-sort="descending"' in errors  # most confident first
    for name in ("by episode", "by actor", "by requester", "by source type"):
        assert f"By {name[3:]}</h3>" in page


def test_the_run_page_gives_errors_a_filter_on_both_labels(run_page, statements):
    page, _ = run_page
    errors = toy_evaluation(statements).tables["errors"]
    rows = re.findall(r'<tr data-gold="(\w+)" data-predicted="(\w+)"', page)
    assert rows == list(zip(errors["label"], errors["prediction"], strict=True))
    assert '<select name="gold">' in page and '<select name="predicted">' in page


def test_a_cross_validation_page_shows_its_folds_and_their_spread(statements):
    evaluation = toy_evaluation(statements)
    folds = pd.DataFrame({"fold": [1, 2], "episodes": [2, 2], "train": [10, 10], "dev": [2, 2], "test": [12, 12],
                          "accuracy": [0.5, 0.75], "macro_f1": [0.4, 0.7], "cohen_kappa": [np.nan, 0.5]})
    spread = folds[["accuracy", "macro_f1"]].agg(["mean", "std"]).T.rename_axis("metric").reset_index()
    page = evaluation_page({"folds": folds, "mean_std": spread, **evaluation.tables},
                           {**evaluation_metrics(evaluation), "macro_f1_fold_mean": 0.55, "macro_f1_fold_std": 0.212})
    text = " ".join(_Page(page).text)
    assert "Cross-validation folds" in text and "mean over folds 0.550 ± 0.212" in text
    assert not re.search(r"\bnan\b|macro_f1|cohen_kappa", text, re.I)


# ----------------------------------------------------------------------------------------------
# The comparison page


def test_the_comparison_page_puts_runs_side_by_side_with_a_forest_plot():
    table = pd.DataFrame({
        "run": ["r2", "r1", "r3"], "name": ["default", "tfidf_logreg", "majority"],
        "model": ["transformer", "tfidf_logreg", "majority"],
        "macro_f1": [0.775, 0.714, 0.19], "macro_f1_low": [0.726, 0.66, 0.17], "macro_f1_high": [0.82, 0.76, 0.21],
        "accuracy": [0.8, 0.7, 0.4], "accuracy_low": [0.75, 0.65, 0.35], "accuracy_high": [0.85, 0.75, 0.45],
        "n": [323, 323, 323], "best_minus_this": [0.0, 0.061, 0.585], "p_value": [np.nan, 0.027, 0.0001],
    })
    page = comparison_page(table, "leaderboard of experiments on test", kind="leaderboard")
    text = " ".join(_Page(page).text)
    assert not re.search(r"\bnan\b", text, re.I)
    assert page.count("<table") == 1 and page.count("<tr") == 4 and page.count("<svg") == 1
    for expected in ("0.775 [0.726, 0.820]", "+0.061", "0.027", "< 0.001", "323"):
        assert expected in text, expected
    assert "323.0" not in text
    assert all(link.startswith("#") for link in _Page(page).links)


# ----------------------------------------------------------------------------------------------
# The pipeline writes the pages


def test_a_run_writes_its_page_and_the_leaderboard_command_writes_one_too(toy_experiment, tmp_path):
    from stance.recipes import run_experiment

    config = apply_overrides(load_config(toy_experiment), {"name": "tfidf", "model.type": "tfidf_logreg",
                                                           "evaluate.baselines": ["majority", "keyword"]},
                             source="test")
    run, _ = run_experiment(config)
    page = (run.reports_dir("test") / "report.html").read_text()
    metrics = json.loads((run.path / "metrics.json").read_text())["test"]
    assert f'<span class="value">{metrics["macro_f1"]:.3f}' in page and "Against the baselines" in page
    assert (run.reports_dir("test") / "confusion.png").is_file() and (run.reports_dir("dev") / "report.html").is_file()
    out = tmp_path / "board"
    result = CliRunner().invoke(app, ["report", "leaderboard", str(run.path.parent), "--output", str(out)])
    assert result.exit_code == 0, result.output
    board = (out / "leaderboard.html").read_text()
    assert "stance · leaderboard" in board and "tfidf" in board and "<svg" in board
