"""`stance annotate`, `stance agreement` and `stance adjudicate` through the CLI."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from stance.cli import app
from stance.labelling import default_log_path, read_events, replay, run_annotation

from .scripted import ScriptedKeys, ids, log_of


runner = CliRunner()


def test_cli_annotate_saves_and_resumes(statements_file):
    first = runner.invoke(app, ["annotate", str(statements_file), "--annotator", "bob"], input="13q")
    assert first.exit_code == 0, first.output
    assert "2 of 24 statements labelled" in first.output
    second = runner.invoke(app, ["annotate", str(statements_file), "-a", "bob"], input="2")
    assert second.exit_code == 0 and "resuming: 2 already labelled" in second.output
    labels = replay(log_of(statements_file, "bob")).labels()
    assert [labels[i] for i in ids(statements_file)[:3]] == ["decline", "comply", "consider"]
    out = statements_file.parent / "elsewhere" / "bob.jsonl"
    assert runner.invoke(app, ["annotate", str(statements_file), "-a", "bob", "--out", str(out)], input="3").exit_code == 0
    assert replay(read_events(out)).labels() == {ids(statements_file)[0]: "comply"}


def test_cli_annotate_user_errors(statements_file):
    result = runner.invoke(app, ["annotate", str(statements_file), "-a", "bob", "--order", "uncertainty"])
    assert result.exit_code == 1 and "needs a model" in result.output
    assert runner.invoke(app, ["annotate", str(statements_file), "-a", "bob", "--order", "alphabetical"]).exit_code == 2
    missing = runner.invoke(app, ["annotate", "nope.jsonl", "-a", "bob"])
    assert missing.exit_code == 1 and "does not exist" in missing.output


def test_the_whole_workflow_through_the_cli(statements_file, tmp_path):
    """Two annotators label, one stops and resumes, kappa, adjudication, validation."""
    console = Console(file=io.StringIO())
    run_annotation(statements_file, "ana", keys=ScriptedKeys(["3", "2", "1", "q"]), console=console)
    run_annotation(statements_file, "ana", keys=ScriptedKeys(["1"]), console=console)
    ben = runner.invoke(app, ["annotate", str(statements_file), "--annotator", "ben"], input="3211q")
    assert ben.exit_code == 0, ben.output
    logs = [default_log_path(statements_file, name) for name in ("ana", "ben")]
    report = runner.invoke(app, ["agreement", *map(str, logs), "--statements", str(statements_file),
                                 "--output", str(tmp_path / "agreement")])
    assert report.exit_code == 0, report.output
    summary = pd.read_csv(tmp_path / "agreement" / "summary.csv").set_index("statistic")
    # ana: comply consider decline decline; ben: comply consider decline decline → full agreement
    assert summary.loc["raw agreement (all labels equal)", "value"] == 1.0
    assert summary.loc["Cohen's kappa", "value"] == pytest.approx(1.0)
    assert (tmp_path / "agreement" / "report.md").exists() and "Cohen's kappa" in report.output
    out = tmp_path / "gold.csv"
    merged = runner.invoke(app, ["adjudicate", *map(str, logs), "--out", str(out)])
    assert merged.exit_code == 0, merged.output
    assert "wrote 4 statements" in " ".join(merged.output.split())
    valid = runner.invoke(app, ["data", "validate", str(out)])
    assert valid.exit_code == 0 and "4 statements" in " ".join(valid.output.split())
    again = runner.invoke(app, ["adjudicate", *map(str, logs), "--out", str(out)])
    assert again.exit_code == 1 and "--force" in again.output
    assert runner.invoke(app, ["adjudicate", *map(str, logs), "--out", str(out), "--force"]).exit_code == 0


@pytest.mark.parametrize("command", [["annotate"], ["agreement"], ["adjudicate"]])
def test_annotation_commands_have_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output
