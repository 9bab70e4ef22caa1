"""Long prediction jobs: `stance predict --resume` continues from the last complete chunk, and an
interrupted job leaves its complete chunks in OUT.parts/ and no temporary files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import toy_frame
from stance import predict as predict_module
from stance.errors import StanceError
from stance.predict import PredictionInterrupted, parts_dir, stream_predictions

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def untrained_run(tmp_path_factory, tiny_model_dir) -> Path:
    """A finished run holding the tiny BERT with a fresh head: labels do not matter here, only the files."""
    from stance.config import load_config
    from stance.models import build_classifier
    from stance.runs import finish_run, new_run
    from stance.seed import set_seed

    folder = tmp_path_factory.mktemp("resume")
    (folder / "toy.yaml").write_text(
        "name: resume\n"
        f"model: {{type: transformer, name: {tiny_model_dir}}}\n"
        f"output: {{dir: {folder / 'experiments'}}}\n"
    )
    config = load_config(folder / "toy.yaml")
    run = new_run(config, command="tests")
    set_seed(0)
    classifier = build_classifier(config)
    classifier._load_pretrained()
    classifier.save(run.model_dir)
    return finish_run(run).path


def statements(path: Path, n: int) -> Path:
    """``n`` rows cycling the toy statements, each with its own id."""
    toy = toy_frame()
    rows = toy.iloc[[i % len(toy) for i in range(n)]].reset_index(drop=True)
    rows["id"] = [f"s{i:05d}" for i in range(n)]
    rows.to_csv(path, index=False)
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.tmp"))


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "parquet"])
def test_a_resumed_prediction_is_byte_identical_to_an_uninterrupted_one(untrained_run, tmp_path, monkeypatch, suffix):
    source = statements(tmp_path / "in.csv", 70)
    whole = tmp_path / f"whole.{suffix}"
    stream_predictions(untrained_run, source, whole, chunk_size=20)

    out = tmp_path / f"out.{suffix}"
    real = predict_module.predict_frame
    calls = []

    def interrupted_on_the_third_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(predict_module, "predict_frame", interrupted_on_the_third_chunk)
    with pytest.raises(PredictionInterrupted, match=r"2 complete chunk\(s\) of 20 rows kept") as stopped:
        stream_predictions(untrained_run, source, out, chunk_size=20)
    assert stopped.value.exit_code == 130
    assert sorted(p.name for p in parts_dir(out).iterdir()) == [f"000000.{suffix}", f"000001.{suffix}", "progress.json"]
    assert not out.exists() and leftovers(tmp_path) == []

    monkeypatch.setattr(predict_module, "predict_frame", real)
    calls.clear()
    summary = stream_predictions(untrained_run, source, out, resume=True)  # the chunk size comes from the parts
    assert summary.rows == 70
    assert out.read_bytes() == whole.read_bytes()
    assert not parts_dir(out).exists() and leftovers(tmp_path) == []


def test_leftover_chunks_need_resume_or_force(untrained_run, tmp_path, monkeypatch):
    source = statements(tmp_path / "in.csv", 50)
    out = tmp_path / "out.csv"

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(predict_module, "predict_frame", stop)
    with pytest.raises(PredictionInterrupted):
        stream_predictions(untrained_run, source, out, chunk_size=20)
    monkeypatch.undo()
    with pytest.raises(StanceError, match=r"holds the chunks of an interrupted prediction \(pass --resume"):
        stream_predictions(untrained_run, source, out, chunk_size=20)
    with pytest.raises(StanceError, match=r"holds chunks of 20 rows, not 10"):
        stream_predictions(untrained_run, source, out, chunk_size=10, resume=True)
    with pytest.raises(StanceError, match=r"was made by another command \(settings differ\)"):
        stream_predictions(untrained_run, source, out, resume=True, batch_size=3)
    stream_predictions(untrained_run, source, out, chunk_size=10, force=True)
    assert len(pd.read_csv(out)) == 50 and not parts_dir(out).exists()


def test_resume_without_leftovers_is_a_plain_run(untrained_run, tmp_path):
    source = statements(tmp_path / "in.csv", 30)
    summary = stream_predictions(untrained_run, source, tmp_path / "out.jsonl", chunk_size=7, resume=True)
    assert summary.rows == 30 and leftovers(tmp_path) == []


def test_sigterm_keeps_complete_chunks_and_resume_finishes_the_same_file(untrained_run, tmp_path):
    """`stance predict` as a process: SIGTERM once the first chunk is on disk, then --resume."""
    source = statements(tmp_path / "in.csv", 400)
    out = tmp_path / "out.csv"
    command = [sys.executable, "-m", "stance", "predict", str(untrained_run), "--input", str(source),
               "--output", str(out), "--chunk-size", "40", "--batch-size", "1"]  # batch 1: slow enough to stop
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = parts_dir(out) / "000000.csv"
    deadline = time.monotonic() + 600  # a loaded CI machine is slow to import torch
    while not first.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert first.exists(), f"no chunk after {time.monotonic() - deadline + 600:.0f} s"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    assert "interrupted by SIGTERM" in stderr and "--resume" in stderr
    kept = sorted(p.name for p in parts_dir(out).glob("*.csv"))
    assert kept and len(kept) < 10
    assert not out.exists() and leftovers(tmp_path) == []

    resumed = subprocess.run([*command, "--resume"], env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed after {len(kept)} chunk(s)" in resumed.stdout
    whole = tmp_path / "whole.csv"
    stream_predictions(untrained_run, source, whole, chunk_size=40, batch_size=1)
    assert out.read_bytes() == whole.read_bytes()
    assert not parts_dir(out).exists() and leftovers(tmp_path) == []
