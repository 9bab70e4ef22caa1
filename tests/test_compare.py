import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from stance.cli import app
from stance.compare import COLUMNS, compare_runs, fitted_baselines, latest_runs, leaderboard, load_predictions
from stance.config import apply_overrides, load_config
from stance.errors import StanceError
from stance.recipes import cross_validate, run_experiment
from stance.runs import Run

runner = CliRunner()


def baseline_run(toy_experiment, model: str, **overrides) -> Run:
    """A fast toy run of a baseline (no baselines beside it)."""
    config = apply_overrides(load_config(toy_experiment), {"name": model, "model.type": model, "model.params": {},
                                                           "evaluate.baselines": [], **overrides}, source="test")
    run, _ = run_experiment(config)
    return run


def perfect_copy(run: Run, name: str) -> Run:
    """A copy of ``run`` whose test predictions are all correct, with certainty."""
    copy = Run(shutil.copytree(run.path, run.path.with_name(name)))
    path = copy.reports_dir("test") / "predictions.csv"
    predictions = pd.read_csv(path)
    predictions["prediction"] = predictions["label"]
    for label in ("decline", "consider", "comply"):
        predictions[f"p_{label}"] = (predictions["label"] == label).astype(float)
    predictions.to_csv(path, index=False)
    return copy


def test_compare_ranks_by_macro_f1_and_tests_against_the_best(toy_experiment):
    majority = baseline_run(toy_experiment, "majority")
    assert not (majority.path / "history.png").exists()  # a baseline has no training curve to plot
    perfect = perfect_copy(majority, "perfect")
    table = compare_runs([majority, perfect], resamples=4000)
    assert table["run"].tolist() == ["perfect", majority.id]
    best, other = table.iloc[0], table.iloc[1]
    assert best["macro_f1"] == 1.0 and best["accuracy"] == 1.0 and best["best_minus_this"] == 0.0
    assert np.isnan(best["p_value"]) and best["n"] == other["n"] == 6
    # The test episode has two statements per label; majority predicts one label for all six:
    # F1 = 2*2/(2+6) = 0.5 for that label, 0 for the others, so macro-F1 = 1/6 and accuracy = 1/3.
    assert other["macro_f1"] == pytest.approx(1 / 6) and other["accuracy"] == pytest.approx(1 / 3)
    assert other["best_minus_this"] == pytest.approx(5 / 6)
    # The systems differ on four statements; only "swap none" and "swap all four" of the 16 swap
    # patterns reach |difference| = 5/6, so the permutation p-value is about 2/16.
    assert other["p_value"] == pytest.approx(1 / 8, abs=0.02)
    assert other["macro_f1_low"] <= other["macro_f1"] <= other["macro_f1_high"]
    assert other["model"] == "majority" and other["name"] == "majority"


def test_compare_refuses_runs_on_different_statements_or_gold(toy_experiment):
    majority = baseline_run(toy_experiment, "majority")
    fewer = perfect_copy(majority, "fewer")
    path = fewer.reports_dir("test") / "predictions.csv"
    pd.read_csv(path).iloc[1:].to_csv(path, index=False)
    with pytest.raises(StanceError, match="different statement sets"):
        compare_runs([majority, fewer])
    relabelled = perfect_copy(majority, "relabelled")
    path = relabelled.reports_dir("test") / "predictions.csv"
    predictions = pd.read_csv(path)
    predictions.loc[0, "label"] = "comply" if predictions.loc[0, "label"] != "comply" else "decline"
    predictions.to_csv(path, index=False)
    with pytest.raises(StanceError, match="1 statement\\(s\\) have different gold labels"):
        compare_runs([majority, relabelled])
    with pytest.raises(StanceError, match="no predictions for 'cross_validation'"):
        load_predictions(majority, "cross_validation")


def test_leaderboard_takes_the_latest_complete_run_of_each_config(toy_experiment):
    first = baseline_run(toy_experiment, "majority")
    keyword = baseline_run(toy_experiment, "keyword")
    second = baseline_run(toy_experiment, "majority")
    failed = first.path.with_name(first.id + "-x.incomplete")
    shutil.copytree(second.path, failed)
    parent = first.path.parent
    assert [run.id for run in latest_runs(parent)] == sorted([keyword.id, second.id])
    table = leaderboard(parent, "dev")
    assert sorted(table["name"]) == ["keyword", "majority"] and second.id in set(table["run"])
    assert table["macro_f1"].is_monotonic_decreasing
    with pytest.raises(StanceError, match="no complete run"):
        leaderboard(parent, "train")


def test_cross_validation_runs_compare_on_their_pooled_predictions(toy_experiment):
    config = load_config(toy_experiment)
    runs = [cross_validate(apply_overrides(config, {"name": model, "model.type": model, "evaluate.bootstrap": 20},
                                           source="test"), folds=2).run for model in ("majority", "keyword")]
    table = leaderboard(runs[0].path.parent, "cross_validation")
    assert table["n"].tolist() == [24, 24] and set(table["model"]) == {"majority", "keyword"}


@pytest.mark.parametrize("command", [["report"], ["report", "compare"], ["report", "leaderboard"]])
def test_report_commands_have_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


def test_report_compare_and_leaderboard_commands_write_csv_markdown_and_html(toy_experiment, tmp_path):
    majority = baseline_run(toy_experiment, "majority")
    keyword = baseline_run(toy_experiment, "keyword")
    out = tmp_path / "tables"
    compared = runner.invoke(app, ["report", "compare", str(majority.path), str(keyword.path), "--output", str(out)])
    assert compared.exit_code == 0, compared.output
    assert "majority" in compared.output and "macro-F1" in compared.output
    assert len(pd.read_csv(out / "comparison.csv")) == 2
    assert f"| {majority.id} | majority | majority | 0.167 [" in (out / "comparison.md").read_text()
    assert (out / "comparison.html").read_text().count("<tr") == 3
    board = runner.invoke(app, ["report", "leaderboard", str(majority.path.parent), "--split", "dev", "--by-episode",
                                "-o", str(out)])
    assert board.exit_code == 0, board.output
    assert set(pd.read_csv(out / "leaderboard.csv")["name"]) == {"majority", "keyword"}
    missing = runner.invoke(app, ["report", "compare", str(majority.path), "--split", "train"])
    assert missing.exit_code == 1 and "no predictions for 'train'" in missing.output
    assert "Traceback" not in missing.output


def test_runs_written_before_the_one_prediction_schema_still_compare(toy_experiment):
    majority = baseline_run(toy_experiment, "majority")
    earlier = perfect_copy(majority, "earlier")
    path = earlier.reports_dir("test") / "predictions.csv"
    pd.read_csv(path).rename(columns={"label": "gold", "prediction": "predicted"}).to_csv(path, index=False)
    assert {"label", "prediction"} <= set(load_predictions(earlier, "test").columns)
    table = compare_runs([majority, earlier], resamples=200)
    assert table["run"].tolist() == ["earlier", majority.id] and table.loc[0, "macro_f1"] == 1.0


def test_leaderboard_adds_the_baselines_fitted_inside_a_run_tested_on_the_same_statements(toy_experiment):
    inside = baseline_run(toy_experiment, "tfidf_logreg", **{"evaluate.baselines": ["majority", "keyword"]})
    assert fitted_baselines(inside, "test") == ["keyword", "majority"]
    alone = baseline_run(toy_experiment, "majority")
    table = leaderboard(inside.path.parent, resamples=4000)
    rows = table.set_index("run")
    assert set(rows.index) == {inside.id, alone.id, f"{inside.id} / majority", f"{inside.id} / keyword"}
    fitted = rows.loc[f"{inside.id} / majority"]
    assert fitted["name"] == "tfidf_logreg / majority" and fitted["model"] == "majority" and fitted["n"] == 6
    # The majority fitted inside the run and the majority run of its own were fitted on the same
    # split and scored on the same six statements: macro-F1 1/6 (see above), and the same paired
    # test against the same best row gives the same p-value.
    assert fitted["macro_f1"] == pytest.approx(1 / 6)
    standalone = rows.loc[alone.id]
    for column in ("macro_f1", "macro_f1_low", "macro_f1_high", "accuracy", "best_minus_this", "p_value"):
        assert fitted[column] == pytest.approx(standalone[column], nan_ok=True), column
    assert table["macro_f1"].is_monotonic_decreasing and table["best_minus_this"].iloc[0] == 0.0
    without = leaderboard(inside.path.parent, baselines=False, resamples=200)
    assert set(without["run"]) == {inside.id, alone.id}
    # compare_runs leaves them out unless asked
    assert len(compare_runs([inside, alone], resamples=200)) == 2
    assert len(compare_runs([inside, alone], resamples=200, baselines=True)) == 4


def test_a_fitted_baseline_on_other_statements_is_refused_by_name(toy_experiment):
    inside = baseline_run(toy_experiment, "tfidf_logreg", **{"evaluate.baselines": ["majority"]})
    path = inside.reports_dir("test") / "baselines" / "majority_predictions.csv"
    pd.read_csv(path).iloc[1:].to_csv(path, index=False)
    with pytest.raises(StanceError, match=f"{inside.id} / majority and {inside.id} on 'test': evaluated on "
                                          "different statement sets"):
        leaderboard(inside.path.parent)
    assert len(leaderboard(inside.path.parent, baselines=False)) == 1
    assert load_predictions(inside, "test", "majority").shape[0] == 5


def test_leaderboard_command_shows_fitted_baselines_unless_told_not_to_and_fits_80_columns(toy_experiment, tmp_path):
    inside = baseline_run(toy_experiment, "tfidf_logreg", **{"evaluate.baselines": ["majority", "keyword"]})
    out = tmp_path / "tables"
    board = runner.invoke(app, ["report", "leaderboard", str(inside.path.parent), "--resamples", "200", "-o", str(out)],
                          env={"COLUMNS": "80"})
    assert board.exit_code == 0, board.output
    assert "tfidf_logreg / majority" in board.output and "tfidf_logreg / keyword" in board.output
    assert max(len(line) for line in board.output.splitlines()) <= 80
    written = pd.read_csv(out / "leaderboard.csv")
    assert f"{inside.id} / majority" in set(written["run"]) and len(written) == 3
    assert list(written.columns) == list(COLUMNS)  # the data keeps every column
    [row] = [line for line in (out / "leaderboard.md").read_text().splitlines() if f"{inside.id} / majority" in line]
    name, model, macro_f1 = (cell.strip() for cell in row.split("|")[2:5])
    assert (name, model) == ("tfidf_logreg / majority", "majority") and macro_f1.startswith("0.167 [")
    alone = runner.invoke(app, ["report", "leaderboard", str(inside.path.parent), "--no-baselines"])
    assert alone.exit_code == 0 and "/ majority" not in alone.output
    wide = runner.invoke(app, ["report", "compare", str(inside.path), "--baselines", "--wide", "--resamples", "200"],
                         env={"COLUMNS": "200"})
    assert wide.exit_code == 0, wide.output
    assert f"{inside.id} / keyword" in wide.output and "accuracy [95% CI]" in wide.output
