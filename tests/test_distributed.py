"""Several processes on torch.distributed: DDP training through the Trainer, sharded prediction.

The two-process tests start ``torchrun --nproc_per_node 2`` (gloo on the CPU) on the tiny model,
as a user would, and check what only several processes can get wrong: one run folder with one id,
written by rank 0 alone, and a prediction file whose rows come back in input order.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import toy_frame
from stance.distributed import shard_bounds
from stance.predict import stream_predictions
from stance.runs import open_run


def test_shard_bounds_are_contiguous_and_differ_by_at_most_one_row():
    assert [shard_bounds(10, 3, r) for r in range(3)] == [(0, 4), (4, 7), (7, 10)]
    assert [shard_bounds(25, 2, r) for r in range(2)] == [(0, 13), (13, 25)]
    assert [shard_bounds(1, 2, r) for r in range(2)] == [(0, 1), (1, 1)]  # a rank may get nothing
    assert [shard_bounds(0, 2, r) for r in range(2)] == [(0, 0), (0, 0)]


def torchrun(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc_per_node 2 -m stance ARGS`` in ``cwd``, offline, one thread each."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "stance", *args]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory, tiny_model_dir) -> tuple[Path, str]:
    """`stance train` of the toy config under torchrun with 2 CPU processes: (run folder, output)."""
    import json

    folder = tmp_path_factory.mktemp("ddp")
    toy_frame().to_json(folder / "statements.jsonl", orient="records", lines=True)
    (folder / "splits.json").write_text(json.dumps({
        "method": "fixed for tests", "seed": 0, "dev_fraction": 0.25, "test_fraction": 0.25,
        "episodes": {"train": ["e1", "e2"], "dev": ["e3"], "test": ["e4"]},
    }))
    (folder / "toy.yaml").write_text(
        "name: toy\n"
        "data: {path: statements.jsonl, splits: splits.json}\n"
        f"model: {{type: transformer, name: {tiny_model_dir}}}\n"
        "train: {epochs: 2, learning_rate: 1.0e-3, batch_size: 4, logging_steps: 2}\n"
        "evaluate: {bootstrap: 20, baselines: []}\n"
        "output: {dir: experiments}\n"
    )
    done = torchrun(["train", "toy.yaml"], folder)
    runs = sorted((folder / "experiments").iterdir())
    assert len(runs) == 1, [r.name for r in runs]  # rank 1 made no folder of its own
    return runs[0], done.stdout + done.stderr


def test_training_under_torchrun_writes_one_complete_run_from_rank_0(ddp_run):
    run_dir, output = ddp_run
    run = open_run(run_dir)
    manifest = run.manifest()
    assert manifest["status"] == "complete"
    assert manifest["distributed"] == {"processes": 2, "backend": "gloo"}
    # Both ranks print the run they trained: the same id (rank 1 still sees it as .incomplete).
    ids = {Path(p).name.removesuffix(".incomplete") for p in re.findall(r"run: (\S+)", output)}
    assert ids == {run.id}
    assert "Could not locate the best model" not in output  # both ranks used rank 0's checkpoints
    assert (run.model_dir / "model.safetensors").is_file() and run.metrics()["dev"]["n"] == 6
    assert not run.checkpoint_dir.exists()


def test_prediction_under_torchrun_shards_the_file_and_keeps_input_order(ddp_run, tmp_path):
    run_dir, _ = ddp_run
    frame = toy_frame()
    frame = pd.concat([frame, frame.iloc[:1]], ignore_index=True)  # 25 rows: shards of 13 and 12
    frame["id"] = [f"r{i:02d}" for i in range(len(frame))]
    frame["note"] = range(len(frame))
    frame.to_csv(tmp_path / "in.csv", index=False)
    done = torchrun(["predict", str(run_dir), "--input", "in.csv", "--output", "two.csv", "--chunk-size", "5"],
                    tmp_path)
    assert "wrote 25 predictions" in done.stdout and "2 processes" in done.stdout
    assert done.stdout.count("wrote 25 predictions") == 1  # rank 0 reports
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "two.csv"]  # no part files left
    stream_predictions(run_dir, tmp_path / "in.csv", tmp_path / "one.csv", chunk_size=5)
    two, one = pd.read_csv(tmp_path / "two.csv"), pd.read_csv(tmp_path / "one.csv")
    assert two["id"].tolist() == frame["id"].tolist() and two["note"].tolist() == list(range(25))
    assert two["prediction"].tolist() == one["prediction"].tolist()
    probabilities = [c for c in one.columns if c.startswith("p_")]
    np.testing.assert_allclose(two[probabilities], one[probabilities], atol=1e-5)
