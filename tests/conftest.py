"""Shared fixtures: inline toy statements, a tiny BERT built from a config, a toy experiment."""

from __future__ import annotations

import json
import os
from pathlib import Path

# Tests never touch the network: every model comes from a local folder.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pandas as pd
import pytest

LABELS = ["decline", "consider", "comply"]

# Four episodes, each with every label; written for the tests, not taken from the corpus.
_TOY = [
    ("e1", "Canada", "comply", "Ottawa will send two frigates to the mission next month."),
    ("e1", "Canada", "consider", "The minister said the request is being studied with allies."),
    ("e1", "Germany", "decline", "Berlin will not send combat troops, the chancellor said."),
    ("e1", "Italy", "comply", "Rome approved four more aircraft for the coalition."),
    ("e1", "Spain", "consider", "Madrid has made no decision and is reviewing its options."),
    ("e1", "Norway", "decline", "Oslo ruled out joining the air strikes."),
    ("e2", "Japan", "comply", "Tokyo agreed to deploy a refuelling ship to the region."),
    ("e2", "Poland", "decline", "Warsaw rejected the request for additional troops."),
    ("e2", "Denmark", "consider", "Copenhagen is consulting parliament before any decision."),
    ("e2", "Belgium", "comply", "Brussels will contribute six fighter jets from January."),
    ("e2", "Greece", "decline", "Athens said it has no plans to send ships."),
    ("e2", "Turkey", "consider", "Ankara will look at the request carefully, officials said."),
    ("e3", "France", "comply", "Paris announced it will deploy special forces to the task force."),
    ("e3", "Austria", "decline", "Vienna refused, citing its neutrality."),
    ("e3", "Sweden", "consider", "Stockholm is studying the proposal and has not decided."),
    ("e3", "Czechia", "comply", "Prague agreed to send sixty soldiers to the mission."),
    ("e3", "Hungary", "decline", "Budapest will not take part in the operation."),
    ("e3", "Estonia", "consider", "Tallinn said the request is under review."),
    ("e4", "Netherlands", "comply", "The Hague will extend its contribution by a year."),
    ("e4", "Portugal", "decline", "Lisbon declined to send additional troops."),
    ("e4", "Ireland", "consider", "Dublin is reviewing what it could offer."),
    ("e4", "Finland", "comply", "Helsinki approved sending a medical team to the mission."),
    ("e4", "Slovakia", "decline", "Bratislava rejected the call to join."),
    ("e4", "Latvia", "consider", "Riga said no decision has been made yet."),
]


def toy_frame() -> pd.DataFrame:
    rows = []
    for n, (episode, actor, label, text) in enumerate(_TOY):
        rows.append({
            "id": f"{episode}-{n:02d}", "text": text, "actor": actor, "requester": "United States",
            "request": "ships, aircraft or troops for the coalition mission", "episode": episode,
            "date": "2015-12", "label": label, "source_type": "reported speech",
        })
    return pd.DataFrame(rows)



def train_toy_run(folder: Path, model_dir: Path, *, input_mode: str = "text", epochs: int = 12,
                  batch_size: int = 8) -> Path:
    """A run of the tiny BERT trained on the toy statements until it tells their labels apart (seconds)."""
    from stance.config import load_config
    from stance.recipes import train

    toy_frame().to_json(folder / "statements.jsonl", orient="records", lines=True)
    (folder / "splits.json").write_text(json.dumps({
        "method": "fixed for tests", "seed": 0, "dev_fraction": 0.25, "test_fraction": 0.25,
        "episodes": {"train": ["e1", "e2", "e3", "e4"], "dev": [], "test": []},
    }))
    (folder / "toy.yaml").write_text(
        "name: toy\n"
        f"data: {{path: {folder / 'statements.jsonl'}, splits: {folder / 'splits.json'}}}\n"
        f"model: {{type: transformer, name: {model_dir}}}\n"
        f"input: {{mode: {input_mode}}}\n"
        f"train: {{epochs: {epochs}, learning_rate: 2.0e-3, batch_size: {batch_size}, warmup_ratio: 0.0, "
        "logging_steps: 50, seed: 0}\n"
        "evaluate: {bootstrap: 0, baselines: []}\n"
        f"output: {{dir: {folder / 'experiments'}}}\n"
    )
    run, _ = train(load_config(folder / "toy.yaml"))
    return run.path

@pytest.fixture
def statements() -> pd.DataFrame:
    return toy_frame()


@pytest.fixture
def statements_file(tmp_path: Path) -> Path:
    path = tmp_path / "statements.jsonl"
    toy_frame().to_json(path, orient="records", lines=True)
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer BERT with the packaged MiniLM tokenizer: trains in seconds."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from stance.models.pretrained import packaged_minilm_path

    folder = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(packaged_minilm_path())
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=160)
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def toy_experiment(tmp_path: Path, statements_file: Path, tiny_model_dir: Path) -> Path:
    """A config file for a seconds-long experiment on the toy data with the tiny model."""
    splits = tmp_path / "splits.json"
    splits.write_text(json.dumps({
        "method": "fixed for tests", "seed": 0, "dev_fraction": 0.25, "test_fraction": 0.25,
        "episodes": {"train": ["e1", "e2"], "dev": ["e3"], "test": ["e4"]},
    }))
    config = tmp_path / "toy.yaml"
    config.write_text(
        "name: toy\n"
        f"data: {{path: {statements_file}, splits: {splits}}}\n"
        f"model: {{type: transformer, name: {tiny_model_dir}}}\n"
        "train: {epochs: 3, learning_rate: 1.0e-3, batch_size: 4, logging_steps: 2}\n"
        "evaluate: {bootstrap: 50}\n"
        f"output: {{dir: {tmp_path / 'experiments'}}}\n"
    )
    return config
