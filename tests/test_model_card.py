"""Model cards: every run that saves a model writes model/README.md, and the card's code runs."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from stance.cli import app
from stance.model_card import base_model_id

runner = CliRunner()


def _front_matter(card: str) -> dict:
    match = re.match(r"---\n(.*?)\n---\n", card, flags=re.S)
    assert match, "the card starts with YAML front matter"
    return yaml.safe_load(match.group(1))


def _run_snippet(card: str, model_dir: Path) -> str:
    """Run the card's Python block with ``model_dir`` pointing at the saved model; return what it printed."""
    code = re.search(r"```python\n(.*?)```", card, flags=re.S).group(1)
    code, n = re.subn(r'^model_dir = "[^"]*"', f"model_dir = {str(model_dir)!r}", code, flags=re.M)
    assert n == 1, "the snippet names the model folder once"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "model card", "exec"), {})
    return printed.getvalue()


def _only_run(toy_experiment: Path) -> Path:
    runs = list((toy_experiment.parent / "experiments").glob("*-toy-*"))
    assert len(runs) == 1
    return runs[0]


@pytest.mark.parametrize("mode", ["request_text", "text"])
def test_transformer_card_metadata_and_pipeline_snippet_run(toy_experiment, mode):
    result = runner.invoke(app, ["run", str(toy_experiment), "--set", "evaluate.baselines=[majority]",
                                 "--set", f"input.mode={mode}"])
    assert result.exit_code == 0, result.output
    run_dir = _only_run(toy_experiment)
    card = (run_dir / "model" / "README.md").read_text()
    front = _front_matter(card)
    metrics = json.loads((run_dir / "metrics.json").read_text())

    assert front["language"] == ["en"] and front["license"] == "mit"
    assert front["pipeline_tag"] == "text-classification" and front["library_name"] == "transformers"
    assert front["labels"] == ["decline", "consider", "comply"]
    assert "base_model" not in front  # the tiny test model is a local folder made from no hub model
    [entry] = front["model-index"]
    [test] = entry["results"]  # dev chose the epoch: it stays out of model-index
    assert test["dataset"]["split"] == "test"
    values = {m["type"]: m["value"] for m in test["metrics"]}
    for key in ("macro_f1", "macro_f1_ci_low", "macro_f1_ci_high", "accuracy", "accuracy_ci_low", "accuracy_ci_high"):
        assert values[key] == pytest.approx(metrics["test"][key], abs=5e-5)
    for heading in ("Intended use", "Training data", "Evaluation", "Limitations", "How to use", "Training procedure"):
        assert f"\n## {heading}\n" in card
    beside = card.split("Beside the baselines")[1].split("\n## ")[0]
    assert "| majority" in beside and "| transformer" in beside

    printed = _run_snippet(card, run_dir / "model")
    # Two calls, each printing every label's score.
    assert printed.count("'label'") == 6
    assert all(label in printed for label in ("decline", "consider", "comply"))


def test_card_parses_with_huggingface_hub_and_lists_heldout_after_evaluate(toy_experiment, statements_file, tmp_path):
    from huggingface_hub import ModelCard

    assert runner.invoke(app, ["run", str(toy_experiment), "--set", "evaluate.baselines=[]"]).exit_code == 0
    run_dir = _only_run(toy_experiment)
    heldout = tmp_path / "heldout.jsonl"
    heldout.write_text(statements_file.read_text())
    assert runner.invoke(app, ["evaluate", str(run_dir), "--data", str(heldout)]).exit_code == 0
    rewritten = runner.invoke(app, ["runs", "card", str(run_dir)])
    assert rewritten.exit_code == 0, rewritten.output

    card = ModelCard.load(run_dir / "model" / "README.md")
    splits = {(r.dataset_split, r.metric_type) for r in card.data.eval_results}
    assert ("test", "macro_f1") in splits and ("heldout", "macro_f1_ci_low") in splits
    limitations = card.text.split("## Limitations")[1].split("\n## ")[0]
    assert "`heldout`" in limitations


def test_baseline_card_snippet_uses_stance_api(toy_experiment):
    result = runner.invoke(app, ["train", str(toy_experiment), "--set", "model.type=tfidf_logreg",
                                 "--set", "input.mode=request_text"])
    assert result.exit_code == 0, result.output
    run_dir = _only_run(toy_experiment)
    card = (run_dir / "model" / "README.md").read_text()
    front = _front_matter(card)
    assert "library_name" not in front and "base_model" not in front
    assert front["tags"][-1] == "tfidf_logreg"
    printed = _run_snippet(card, run_dir / "model")
    assert re.search(r"\['(decline|consider|comply)'\]", printed)


def test_card_quotes_the_datasheet_beside_the_data(toy_experiment, statements_file):
    (statements_file.parent / "DATASHEET.md").write_text(
        "# Sheet\n\n## Known gaps and biases\n\n- **Tiny.** Four episodes only. More words here.\n\n## Uses\n\n"
        "- **Intended:** tests.\n")
    assert runner.invoke(app, ["train", str(toy_experiment), "--set", "model.type=majority"]).exit_code == 0
    card = (_only_run(toy_experiment) / "model" / "README.md").read_text()
    assert "- **Tiny.** Four episodes only." in card and "More words here" not in card
    assert "- **Intended:** tests." in card


def test_a_cross_validation_run_has_no_card(toy_experiment):
    result = runner.invoke(app, ["run", str(toy_experiment), "--set", "model.type=majority",
                                 "--set", "evaluate.cross_validation=2", "--set", "evaluate.baselines=[]"])
    assert result.exit_code == 0, result.output
    run_dir = _only_run(toy_experiment)
    refused = runner.invoke(app, ["runs", "card", str(run_dir)])
    assert refused.exit_code == 1 and "holds no model/ folder" in refused.output


def test_base_model_id_knows_the_packaged_default_and_hub_ids(tmp_path):
    assert base_model_id("default") == "sentence-transformers/all-MiniLM-L6-v2"
    assert base_model_id("roberta-base/x") == "roberta-base/x"
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"_name_or_path": "google-bert/bert-base-uncased"}))
    assert base_model_id(str(folder)) == "google-bert/bert-base-uncased"
    (folder / "config.json").write_text(json.dumps({"_name_or_path": "/home/me/weights"}))
    assert base_model_id(str(folder)) is None
