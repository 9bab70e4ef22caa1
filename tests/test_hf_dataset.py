"""Hugging Face datasets: `stance data export --format hf` and `data.path` pointing at the export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from conftest import LABELS, toy_frame
from stance.cli import app
from stance.data import load_statements
from stance.errors import DataError
from stance.hf_dataset import dataset_split

runner = CliRunner()

EPISODES = {"train": ["e1", "e2"], "dev": ["e3"], "test": ["e4"]}


@pytest.fixture
def splits_file(tmp_path: Path) -> Path:
    path = tmp_path / "splits.json"
    path.write_text(json.dumps({"method": "fixed for tests", "seed": 0, "dev_fraction": 0.25, "test_fraction": 0.25,
                                "episodes": EPISODES}))
    return path


@pytest.fixture
def exported(tmp_path, statements_file, splits_file) -> Path:
    out = tmp_path / "hf"
    result = runner.invoke(app, ["data", "export", str(out), "--format", "hf", "--data", str(statements_file),
                                 "--splits", str(splits_file)])
    assert result.exit_code == 0, result.output
    return out


def test_export_is_a_dataset_dict_with_a_class_label_and_the_split(exported):
    import datasets

    saved = datasets.load_from_disk(str(exported))
    assert list(saved) == ["train", "dev", "test"]
    label = saved["train"].features["label"]
    assert isinstance(label, datasets.ClassLabel) and label.names == LABELS
    frame = toy_frame()
    for split, episodes in EPISODES.items():
        part = saved[split]
        assert sorted(set(part["episode"])) == episodes
        assert len(part) == int(frame["episode"].isin(episodes).sum())
    # Every other column is kept, as text; labels round-trip through their ids.
    first = saved["train"][0]
    original = frame.set_index("id").loc[first["id"]]
    assert first["source_type"] == original["source_type"] and first["text"] == original["text"]
    assert label.int2str(first["label"]) == original["label"]
    assert set(frame.columns) == set(saved["test"].column_names)


def test_export_writes_a_dataset_card_with_hub_metadata(exported):
    card = (exported / "README.md").read_text()
    front = yaml.safe_load(re.match(r"---\n(.*?)\n---\n", card, flags=re.S).group(1))
    assert front["license"] == "mit" and front["language"] == ["en"]
    assert front["task_categories"] == ["text-classification"] and front["size_categories"] == ["n<1K"]
    features = {f["name"]: f["dtype"] for f in front["dataset_info"]["features"]}
    assert features["label"] == {"class_label": {"names": {"0": "decline", "1": "consider", "2": "comply"}}}
    assert features["text"] == "string"
    assert {s["name"]: s["num_examples"] for s in front["dataset_info"]["splits"]} == {"train": 12, "dev": 6, "test": 6}
    for heading in ("## Structure", "## Splits", "## How to load"):
        assert heading in card


def test_export_refuses_an_existing_folder_without_force(exported, statements_file, splits_file):
    again = ["data", "export", str(exported), "--data", str(statements_file), "--splits", str(splits_file)]
    refused = runner.invoke(app, again)
    assert refused.exit_code == 1 and "already exists" in refused.output
    assert runner.invoke(app, [*again, "--force"]).exit_code == 0


def test_the_export_reads_back_as_statements_and_its_split(exported, statements_file):
    pd.testing.assert_frame_equal(load_statements(exported).sort_values("id").reset_index(drop=True),
                                  load_statements(statements_file).sort_values("id").reset_index(drop=True),
                                  check_like=True)  # the export puts label last
    assert dataset_split(exported).episodes == {"e1": "train", "e2": "train", "e3": "dev", "e4": "test"}


def test_an_episode_in_two_splits_of_a_dataset_is_refused(tmp_path):
    import datasets

    frame = toy_frame()
    folder = tmp_path / "leaky"
    datasets.DatasetDict({
        "train": datasets.Dataset.from_pandas(frame[frame["episode"].isin(["e1", "e2"])], preserve_index=False),
        "validation": datasets.Dataset.from_pandas(frame[frame["episode"] == "e3"], preserve_index=False),
        "test": datasets.Dataset.from_pandas(frame[frame["episode"].isin(["e2", "e4"])], preserve_index=False),
    }).save_to_disk(str(folder))
    with pytest.raises(DataError, match="episode 'e2' is in both train and test"):
        dataset_split(folder)


def test_a_run_trains_and_evaluates_from_the_exported_folder(exported, toy_experiment, tmp_path):
    # data.splits names a file that does not exist: the folder's own splits are used, not it.
    result = runner.invoke(app, ["run", str(toy_experiment), "--set", f"data.path={exported}",
                                 "--set", f"data.splits={tmp_path / 'absent.json'}", "--set", "model.type=tfidf_logreg",
                                 "--set", "evaluate.baselines=[majority]"])
    assert result.exit_code == 0, result.output
    run_dir = next((toy_experiment.parent / "experiments").glob("*-toy-*"))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["data"]["split_sizes"] == {"train": 12, "dev": 6, "test": 6}
    assert list(manifest["data"]["files_sha256"]) == [str(exported)]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test"]["n"] == 6
    evaluated = runner.invoke(app, ["evaluate", str(run_dir), "--split", "test"])
    assert evaluated.exit_code == 0, evaluated.output
