"""Public stance datasets: `stance data import` on tiny files written in each release's format (the
releases themselves may not be redistributed), and any label set end to end through the CLI."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest
from typer.testing import CliRunner

from stance.cli import app
from stance.errors import DataError
from stance.importers import import_release, read_release

runner = CliRunner()

TARGETS = ("Atheism", "Hillary Clinton", "Climate Change is a Real Concern")
CUES = {"FAVOR": "love support great", "AGAINST": "hate oppose awful", "NONE": "weather lunch traffic"}


def _tweet(rng: random.Random, label: str) -> str:
    """A made-up tweet: random filler words (so that no two are near duplicates) and its label's cue."""
    words = [f"w{rng.randrange(10_000)}" for _ in range(8)]
    return " ".join([*words, rng.choice(CUES[label].split()), "#SemST"])


def semeval_file(path, first_id: int, per_target: int, seed: int, *, odd_byte: bool = False) -> None:
    """A file in SemEval-2016 Task 6's format: tab-separated, CRLF, six columns, cp1252 bytes if asked."""
    rng = random.Random(seed)
    lines = ["ID\tTarget\tTweet\tStance\tOpinion towards\tSentiment"]
    n = first_id
    for target in TARGETS:
        for i in range(per_target):
            label = ("FAVOR", "AGAINST", "NONE")[i % 3]
            lines.append(f"{n}\t{target}\t{_tweet(rng, label)}\t{label}\tTARGET\tNEITHER")
            n += 1
    text = "\r\n".join(lines) + "\r\n"
    raw = text.encode("ascii")
    if odd_byte:  # a cp1252 right quote, as the real training file holds bytes that are not UTF-8
        raw = raw.replace(b"#SemST", b"don\x92t #SemST", 1)
    path.write_bytes(raw)


@pytest.fixture
def semeval_files(tmp_path):
    files = [tmp_path / "trialdata-all-annotations.txt", tmp_path / "trainingdata-all-annotations.txt",
             tmp_path / "testdata-taskA-all-annotations.txt"]
    semeval_file(files[0], 1, 3, seed=1)
    semeval_file(files[1], 101, 12, seed=2, odd_byte=True)
    semeval_file(files[2], 10001, 6, seed=3)
    return files


def test_semeval_import_keeps_targets_labels_ids_and_the_official_split(semeval_files, tmp_path):
    result = import_release("semeval2016", semeval_files, tmp_path / "out")
    statements = pd.read_json(result.statements, lines=True, dtype=str)
    assert len(statements) == 9 + 36 + 18
    assert set(statements["label"]) == {"FAVOR", "AGAINST", "NONE"}  # NONE kept, release spelling kept
    assert set(statements["request"]) == set(TARGETS)
    assert statements["id"].iloc[0] == "1" and "opinion_towards" in statements.columns
    assert "don\u2019t" in " ".join(statements["text"])  # read as cp1252, written as UTF-8
    assert any("not UTF-8, read as cp1252" in note for note in result.notes)
    assert json.loads(result.splits.read_text())["train"] == "train.jsonl"
    summary = result.summary.set_index("split")
    assert summary.loc["train", "statements"] == 45 and summary.loc["test", "statements"] == 18
    assert summary.loc["test", "targets"] == 3  # every target on both sides: the release's own split


def test_pstance_import_reads_val_as_dev_and_drops_a_tweet_given_two_labels(tmp_path):
    rows = {"train": 8, "val": 4, "test": 4}
    files = []
    for split, n in rows.items():
        frame = pd.DataFrame({"Tweet": [f"tweet {split} {i}, with a comma" for i in range(n)],
                              "Target": "Donald Trump", "Stance": ["FAVOR", "AGAINST"] * (n // 2)})
        if split == "train":
            frame.loc[1, "Tweet"] = frame.loc[0, "Tweet"]  # the same tweet, FAVOR and AGAINST
        files.append(tmp_path / f"raw_{split}_trump.csv")
        frame.to_csv(files[-1], index=False)
    result = import_release("pstance", files, tmp_path / "out")
    statements = pd.read_json(result.statements, lines=True, dtype=str)
    assert len(statements) == 14 and set(statements["label"]) == {"FAVOR", "AGAINST"}
    assert "raw_train_trump-00001" not in set(statements["id"]) and "raw_test_trump-00004" in set(statements["id"])
    assert any("dropped 2 record(s)" in note for note in result.notes)
    assert set(json.loads(result.splits.read_text())) >= {"train", "dev", "test"}


def test_import_refuses_an_unknown_format_a_file_of_no_split_and_a_wrong_header(tmp_path, semeval_files):
    with pytest.raises(DataError, match="unknown dataset format 'semeval2017'.*pstance, semeval2016"):
        read_release("semeval2017", semeval_files)
    (tmp_path / "annotations.txt").write_bytes(semeval_files[0].read_bytes())
    with pytest.raises(DataError, match="cannot tell which split"):
        read_release("semeval2016", [tmp_path / "annotations.txt"])
    (tmp_path / "train.txt").write_text("id,text,label\n1,a,FAVOR\n")
    with pytest.raises(DataError, match="not a SemEval-2016 Task 6 file"):
        read_release("semeval2016", [tmp_path / "train.txt"])
    with pytest.raises(DataError, match="a train and a test file are needed"):
        import_release("semeval2016", semeval_files[:2], tmp_path / "out")


def test_any_label_set_end_to_end_through_the_cli(semeval_files, tmp_path, tiny_model_dir):
    out = tmp_path / "semeval"
    imported = runner.invoke(app, ["data", "import", "semeval2016", *map(str, semeval_files), "--output", str(out)])
    assert imported.exit_code == 0, imported.output
    config = tmp_path / "semeval.yaml"
    config.write_text(
        "name: semeval\n"
        f"data: {{path: {out / 'statements.jsonl'}, splits: {out / 'splits.json'}, labels: [FAVOR, AGAINST, NONE]}}\n"
        "input: {mode: request_text, max_length: 32}\n"
        f"model: {{type: transformer, name: {tiny_model_dir}}}\n"
        "train: {epochs: 1, batch_size: 8, logging_steps: 2}\n"
        "evaluate: {bootstrap: 50, metrics: [f_avg], breakdowns: [episode, request],\n"
        "           baselines: [majority, keyword, tfidf_logreg], baseline_params: {majority: {group_by: request}}}\n"
        f"output: {{dir: {tmp_path / 'experiments'}}}\n")
    data = str(out / "statements.jsonl")
    for command in (["validate", data], ["stats", data, "--max-length", "0"], ["check", data]):
        result = runner.invoke(app, ["data", *command, "--config", str(config)])
        assert result.exit_code == 0, result.output
    # The label set's spelling wins: the file's FAVOR is counted as the set's favor.
    stats = runner.invoke(app, ["data", "stats", data, "--labels", "favor,against,none", "--max-length", "0",
                                "--markdown"])
    assert stats.exit_code == 0 and "| favor " in stats.output and "| FAVOR " not in stats.output
    split = runner.invoke(app, ["data", "split", data, "--config", str(config), "--group-by", "request",
                                "--out", str(tmp_path / "by_target.json")])
    assert split.exit_code == 0, split.output
    assert json.loads((tmp_path / "by_target.json").read_text())["group_by"] == "request"

    run = runner.invoke(app, ["run", str(config)])
    assert run.exit_code == 0, run.output
    assert "skipping keyword" in run.output and "F_avg" in run.output
    [folder] = list((tmp_path / "experiments").iterdir())
    reports = folder / "reports" / "test"
    comparison = pd.read_csv(reports / "comparison.csv")
    assert comparison["model"].tolist() == ["transformer", "majority", "tfidf_logreg"]
    assert {"f_avg", "f_avg_low", "f_avg_high"} <= set(comparison.columns)
    assert (reports / "by_request.csv").is_file() and not (reports / "by_episode.csv").exists()
    metrics = json.loads((folder / "metrics.json").read_text())["test"]
    assert metrics["f_avg_ci_low"] <= metrics["f_avg"] <= metrics["f_avg_ci_high"]

    lowered = tmp_path / "test_lower.csv"
    test = pd.read_json(out / "test.jsonl", lines=True, dtype=str)
    test.assign(label=test["label"].str.lower()).to_csv(lowered, index=False)  # `against` is `AGAINST`
    evaluated = runner.invoke(app, ["evaluate", str(folder), "--data", str(lowered)])
    assert evaluated.exit_code == 0, evaluated.output
    predicted = runner.invoke(app, ["predict", str(folder), "--input", str(lowered), "--output",
                                    str(tmp_path / "predictions.csv")])
    assert predicted.exit_code == 0, predicted.output
    assert {"p_FAVOR", "p_AGAINST", "p_NONE"} <= set(pd.read_csv(tmp_path / "predictions.csv").columns)
    compared = runner.invoke(app, ["report", "compare", str(folder), str(folder)])
    assert compared.exit_code == 0, compared.output
