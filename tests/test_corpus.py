"""The corpus workflow behind `stance data stats|split|check`, called as library functions."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import toy_frame
from stance.corpus import check_corpus_split, describe_corpus, split_corpus
from stance.errors import StanceError
from stance.labels import DEFAULT_LABELS

FIXED_SPLIT = {"method": "fixed for tests", "seed": 0, "dev_fraction": 0.25, "test_fraction": 0.25,
               "episodes": {"train": ["e1", "e2"], "dev": ["e3"], "test": ["e4"]}}


def test_describe_without_a_tokenizer_counts_and_warns_nothing(statements_file):
    description = describe_corpus(statements_file, max_length=0)
    assert {"overview", "length"} <= set(description.tables)
    assert not description.tables["overview"]["statistic"].str.contains("truncated").any()
    assert description.warnings == []


def test_describe_counts_the_statements_a_tokenizer_cuts_and_names_the_first_five(statements_file):
    # Five tokens hold [CLS], [SEP] and three word pieces: every toy statement is longer.
    description = describe_corpus(statements_file, max_length=5)
    overview = description.tables["overview"].set_index("statistic")["value"]
    assert overview["longer than 5 tokens (truncated)"] == "24"
    [warning] = description.warnings
    first = ", ".join(toy_frame()["id"].head(5))
    assert "24 statement(s) are longer than 5 tokens" in warning and f"id(s) {first} and 19 more" in warning


def test_split_writes_the_file_once_and_sums_to_the_corpus(statements_file, tmp_path):
    out = tmp_path / "splits.json"
    summary = split_corpus(statements_file, out, dev_fraction=0.25, test_fraction=0.25)
    assert out.is_file() and summary["split"].tolist() == ["train", "dev", "test"]
    assert summary["statements"].sum() == 24 and summary["episodes"].sum() == 4
    assert (summary[list(DEFAULT_LABELS)].sum(axis=1) == summary["statements"]).all()
    with pytest.raises(StanceError, match="already exists"):
        split_corpus(statements_file, out)
    split_corpus(statements_file, out, seed=1, force=True)


def test_check_finds_a_text_repeated_across_splits(statements_file, tmp_path):
    splits = tmp_path / "splits.json"
    splits.write_text(json.dumps(FIXED_SPLIT))
    clean = check_corpus_split(statements_file, splits)
    assert clean.ok and clean.summary.set_index("split")["statements"].to_dict() == {"train": 12, "dev": 6, "test": 6}
    frame = toy_frame()
    same_label = frame.index[(frame["episode"] == "e4") & (frame["label"] == frame["label"].iloc[0])][0]
    frame.loc[same_label, "text"] = frame["text"].iloc[0]  # e1's first statement, again in test
    leaky = tmp_path / "leaky.jsonl"
    frame.to_json(leaky, orient="records", lines=True)
    found = check_corpus_split(leaky, splits)
    assert not found.ok and found.leakage.shared_episodes.empty
    pairs = found.leakage.near_duplicates
    # Pairs name the splits in alphabetical order: test before train.
    assert pairs[["split_a", "id_a", "split_b", "id_b", "cosine"]].values.tolist() == [
        ["test", frame["id"].iloc[same_label], "train", frame["id"].iloc[0], 1.0]]


def test_extend_keeps_every_assignment_and_splits_only_the_new_episodes(statements_file, tmp_path):
    splits = tmp_path / "splits.json"
    split_corpus(statements_file, splits, dev_fraction=0.25, test_fraction=0.25)
    before = json.loads(splits.read_text())["episodes"]
    frame = toy_frame()
    for n in range(5, 11):  # six new episodes, copies of e1's statements with new ids and words
        extra = frame[frame["episode"] == "e1"].assign(episode=f"e{n}")
        extra["id"] = extra["id"] + f"-new{n}"
        extra["text"] = extra["text"] + f" (round {n})"
        frame = pd.concat([frame, extra], ignore_index=True)
    grown = tmp_path / "grown.jsonl"
    frame.to_json(grown, orient="records", lines=True)
    with pytest.raises(StanceError, match="--extend"):
        split_corpus(grown, splits)
    summary = split_corpus(grown, splits, extend=True)
    after = json.loads(splits.read_text())
    for name, episodes in before.items():
        assert set(episodes) <= set(after["episodes"][name])
    new = {e for name in after["episodes"] for e in after["episodes"][name]} - {e for v in before.values() for e in v}
    assert new == {f"e{n}" for n in range(5, 11)}
    assert "episodes added later" in after["method"] and summary["statements"].sum() == len(frame)
    assert {e for e in new if e in after["episodes"]["train"]} != new  # the new kinds reach dev or test too
    split_corpus(grown, splits, extend=True)
    assert json.loads(splits.read_text()) == after  # nothing left to add: unchanged


def test_check_fails_on_a_record_that_breaks_the_source_rules(statements_file, tmp_path):
    splits = tmp_path / "splits.json"
    splits.write_text(json.dumps(FIXED_SPLIT))
    frame = toy_frame()
    frame.loc[0, "text"] = 'The minister said Rome is "ready to send ships".'
    frame["grounding"] = "background"
    bad = tmp_path / "quoted.jsonl"
    frame.to_json(bad, orient="records", lines=True)
    found = check_corpus_split(bad, splits)
    assert not found.ok and found.leakage.ok
    assert found.sources.values.tolist() == [[frame["id"].iloc[0], "quotation marks without a grounded source"]]


def test_describe_gives_grounding_and_register_per_split(statements_file, tmp_path):
    splits = tmp_path / "splits.json"
    splits.write_text(json.dumps(FIXED_SPLIT))
    sources = describe_corpus(statements_file, max_length=0, splits=splits).tables["sources"].set_index("split")
    assert sources["statements"].to_dict() == {"train": 12, "dev": 6, "test": 6, "all": 24}
    assert (sources["grounded"] == 0).all()
