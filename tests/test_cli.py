import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from stance.cli import app

runner = CliRunner()


@pytest.mark.parametrize("command", [[], ["train"], ["run"], ["evaluate"], ["predict"], ["data"], ["data", "stats"],
                                     ["data", "validate"], ["data", "split"], ["data", "check"], ["config", "show"],
                                     ["runs", "list"]])
def test_every_command_has_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_data_validate_ok_and_user_error_exit_codes(statements_file, tmp_path):
    ok = runner.invoke(app, ["data", "validate", str(statements_file)])
    assert ok.exit_code == 0 and "24 statements" in ok.output
    bad = tmp_path / "bad.csv"
    bad.write_text("id,text\n1,hello\n")
    result = runner.invoke(app, ["data", "validate", str(bad)])
    assert result.exit_code == 1
    assert "missing column(s)" in result.output and "Traceback" not in result.output
    usage = runner.invoke(app, ["data", "validate"])
    assert usage.exit_code == 2


def test_data_stats_and_split_and_check(statements_file, tmp_path):
    stats = runner.invoke(app, ["data", "stats", str(statements_file), "--markdown"])
    assert stats.exit_code == 0 and "| decline" in stats.output
    out = tmp_path / "splits.json"
    split = runner.invoke(app, ["data", "split", str(statements_file), "--out", str(out), "--test-fraction", "0.25",
                                "--dev-fraction", "0.25"])
    assert split.exit_code == 0, split.output
    assert runner.invoke(app, ["data", "split", str(statements_file), "--out", str(out)]).exit_code == 1
    check = runner.invoke(app, ["data", "check", str(statements_file), "--splits", str(out)])
    assert check.exit_code == 0 and "ok" in check.output


def test_config_show_resolves_overrides(toy_experiment):
    result = runner.invoke(app, ["config", "show", str(toy_experiment), "--set", "train.epochs=7"])
    assert result.exit_code == 0
    assert "epochs: 7" in result.output
    typo = runner.invoke(app, ["config", "show", str(toy_experiment), "--set", "train.epoch=7"])
    assert typo.exit_code == 1 and "did you mean 'train.epochs'" in typo.output


def test_run_evaluate_predict_and_runs_list_end_to_end(toy_experiment, statements_file, tmp_path):
    result = runner.invoke(app, ["run", str(toy_experiment)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "macro_f1" in result.output and "per class" in result.output
    # The model beside the four baselines, in an 80-column terminal: every table line fits, and each
    # macro-F1 keeps its interval whole on one line.
    assert_tables_fit(result.output)
    assert "macro-F1 [95% CI]" in result.output and "tfidf_logreg" in result.output
    [run] = [p for p in (tmp_path / "experiments").iterdir()]
    comparison = pd.read_csv(run / "reports" / "test" / "comparison.csv")
    assert {"accuracy_low", "macro_f1_high", "model_minus_this"} <= set(comparison.columns)  # the data stays whole
    for _, row in comparison.iterrows():
        assert f"{row['macro_f1']:.3f} [{row['macro_f1_low']:.3f}, {row['macro_f1_high']:.3f}]" in result.output

    evaluated = runner.invoke(app, ["evaluate", str(run), "--data", str(statements_file), "--split", "dev"],
                              env={"COLUMNS": "80"})
    assert evaluated.exit_code == 0, evaluated.output
    assert_tables_fit(evaluated.output)
    assert "value [95% CI]" in evaluated.output
    wide = runner.invoke(app, ["evaluate", str(run), "--data", str(statements_file), "--split", "dev", "--wide"])
    assert wide.exit_code == 0 and "ci_low" in wide.output

    texts = runner.invoke(app, ["predict", str(run), "We will send ships.", "We are reviewing the request."])
    assert texts.exit_code == 0 and "p_comply" in texts.output

    source = tmp_path / "input.csv"
    pd.read_json(statements_file, lines=True)[["id", "text", "label"]].assign(note="kept").to_csv(source, index=False)
    out = tmp_path / "predictions.jsonl"
    predicted = runner.invoke(app, ["predict", str(run), "--input", str(source), "--output", str(out)])
    assert predicted.exit_code == 0, predicted.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 24
    assert set(rows[0]) == {"id", "text", "label", "note", "prediction", "p_decline", "p_consider", "p_comply"}
    assert rows[0]["note"] == "kept" and rows[0]["label"] == "comply"
    again = runner.invoke(app, ["predict", str(run), "--input", str(source), "--output", str(out)])
    assert again.exit_code == 1 and "--force" in again.output

    listed = runner.invoke(app, ["runs", "list", str(tmp_path / "experiments")], env={"COLUMNS": "80"})
    assert listed.exit_code == 0 and run.name in listed.output and "complete" in listed.output
    assert_tables_fit(listed.output)
    assert "transformer" not in listed.output  # the model type is one --wide away
    every = runner.invoke(app, ["runs", "list", str(tmp_path / "experiments"), "--wide"], env={"COLUMNS": "200"})
    assert every.exit_code == 0 and "transformer" in every.output and "started" in every.output


def assert_tables_fit(output: str, width: int = 80) -> None:
    """``output`` has tables, and every line of them fits ``width`` columns."""
    lines = [line for line in output.splitlines() if line[:1] in set("┏┃┡│└")]
    assert lines and max(len(line) for line in lines) <= width, "\n".join(lines)


def test_missing_run_is_a_one_line_error(tmp_path):
    result = runner.invoke(app, ["predict", str(tmp_path / "nope"), "text"])
    assert result.exit_code == 1 and "does not exist" in result.output
