"""Nothing lost: a killed training run resumes to the same model and metrics as an uninterrupted one.

The first test is the real thing: ``stance train`` in its own process, killed with SIGKILL once its
first checkpoint is on disk, then ``stance train --resume RUN``. The others drive the library: a
crash after training (checkpoints left behind), a run without a dev set, a ``stance run``, and the
checks that keep a resume honest.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import toy_frame
from stance.cli import app
from stance.config import load_config
from stance.data import load_statements
from stance.errors import RunError
from stance.recipes import resume_run, run_experiment, train
from stance.recipes.training import last_checkpoint
from stance.models import TextInputs, load_classifier
from stance.runs import Run, open_run

runner = CliRunner()


@pytest.fixture
def one_thread():
    """Runs here use ``train.threads: 1`` (CPU results independent of thread scheduling); restore after."""
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _experiment(folder: Path, model: str, *, epochs: int = 3, dev: bool = True, extra: str = "") -> Path:
    toy_frame().to_json(folder / "statements.jsonl", orient="records", lines=True)
    episodes = {"train": ["e1", "e2"], "dev": ["e3"], "test": ["e4"]} if dev else \
        {"train": ["e1", "e2", "e3"], "dev": [], "test": ["e4"]}
    (folder / "splits.json").write_text(json.dumps({"method": "fixed for tests", "seed": 0, "dev_fraction": 0.25,
                                                    "test_fraction": 0.25, "episodes": episodes}))
    config = folder / "toy.yaml"
    config.write_text(
        "name: toy\n"
        f"data: {{path: {folder / 'statements.jsonl'}, splits: {folder / 'splits.json'}}}\n"
        f"model: {{type: transformer, name: {model}}}\n"
        f"train: {{epochs: {epochs}, learning_rate: 5.0e-3, warmup_ratio: 0.0, batch_size: 4, logging_steps: 1, "
        "threads: 1}\n"
        "evaluate: {bootstrap: 20, baselines: []}\n"
        f"output: {{dir: {folder / 'experiments'}}}\n" + extra
    )
    return config


def _proba(run: Run | Path) -> np.ndarray:
    path = run.path if isinstance(run, Run) else Path(run)
    inputs = TextInputs.from_frame(load_statements(path.parent.parent / "statements.jsonl"))
    return load_classifier(path / "model").predict_proba(inputs)


def _metrics(run_path: Path) -> dict:
    return json.loads((run_path / "metrics.json").read_text())


def _crash_after_training(monkeypatch, config: Path) -> Run:
    """A run that trained to the end but crashed before finishing: checkpoints are left behind."""
    import stance.recipes.training as experiment

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash")

    with monkeypatch.context() as patch:
        patch.setattr(experiment, "write_atomic", crash)  # history.csv, written right after the model
        with pytest.raises(RuntimeError, match="simulated crash"):
            train(load_config(config))
    [folder] = (config.parent / "experiments").iterdir()
    return Run(folder)


# ----------------------------------------------------------------------------------------------


def test_killed_training_process_resumes_to_the_same_model_and_metrics(tmp_path, tiny_model_dir, one_thread):
    config = _experiment(tmp_path, str(tiny_model_dir), epochs=8)
    process = subprocess.Popen([sys.executable, "-m", "stance", "train", str(config)], cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    experiments = tmp_path / "experiments"
    try:
        deadline = time.monotonic() + 240
        while not list(experiments.glob("*.incomplete/checkpoints/checkpoint-*/trainer_state.json")):
            assert process.poll() is None, f"training ended before a checkpoint:\n{process.stderr.read().decode()}"
            assert time.monotonic() < deadline, "no checkpoint within four minutes"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL

    [killed] = experiments.iterdir()
    assert killed.name.endswith(".incomplete")
    assert json.loads((killed / "manifest.json").read_text())["status"] == "running"  # a kill -9 writes nothing
    with pytest.raises(RunError, match="incomplete run"):
        open_run(killed)
    states = [json.loads(p.read_text()) for p in killed.glob("checkpoints/checkpoint-*/trainer_state.json")]
    killed_at = max(s["global_step"] for s in states)
    assert killed_at < states[0]["max_steps"], "killed too late to test a resume"

    resumed = runner.invoke(app, ["train", "--resume", str(killed)])
    assert resumed.exit_code == 0, resumed.output
    final = killed.with_name(killed.name.removesuffix(".incomplete"))
    assert not killed.exists() and open_run(final).complete
    manifest = json.loads((final / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["resumed"][0]["after"] == "running"
    assert not (final / "checkpoints").exists()

    uninterrupted, _ = train(load_config(config))
    np.testing.assert_array_equal(_proba(final), _proba(uninterrupted))
    assert _metrics(final) == _metrics(uninterrupted.path)
    pd.testing.assert_frame_equal(pd.read_csv(final / "reports" / "dev" / "predictions.csv"),
                                  pd.read_csv(uninterrupted.reports_dir("dev") / "predictions.csv"))
    # The kept model (best dev macro-F1) is one trained after the kill, so the resume made it.
    evals = pd.read_csv(final / "history.csv").dropna(subset=["eval_macro_f1"])
    assert evals.loc[evals["eval_macro_f1"].idxmax(), "step"] > killed_at


def test_run_without_dev_set_checkpoints_and_resumes(tmp_path, tiny_model_dir, monkeypatch, one_thread):
    config = _experiment(tmp_path, str(tiny_model_dir), epochs=2, dev=False)
    crashed = _crash_after_training(monkeypatch, config)
    assert [p.name for p in crashed.checkpoint_dir.iterdir()] == ["checkpoint-10"]  # 18 statements in batches of 4: 5 steps an epoch
    assert json.loads(crashed.manifest_path.read_text())["status"] == "failed"
    resumed, evaluations = resume_run(crashed)
    assert resumed.complete and resumed.id == crashed.id and evaluations == {}
    uninterrupted, _ = train(load_config(config))
    np.testing.assert_array_equal(_proba(resumed), _proba(uninterrupted))


def test_a_stance_run_resumes_with_its_baselines_and_held_out_reports(tmp_path, monkeypatch, one_thread):
    config = _experiment(tmp_path, "default")
    text = config.read_text().replace("type: transformer", "type: majority").replace("baselines: []", "baselines: [keyword]")
    config.write_text(text)
    import stance.recipes.experiment as experiment

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(experiment, "compare_with_baselines", crash)
        with pytest.raises(KeyboardInterrupt):
            run_experiment(load_config(config))
    [folder] = (tmp_path / "experiments").iterdir()
    assert json.loads((folder / "manifest.json").read_text())["status"] == "interrupted"
    resumed, evaluations = resume_run(Run(folder))
    assert resumed.complete and set(evaluations) == {"test"}
    assert "comparison" in evaluations["test"].tables
    uninterrupted, _ = run_experiment(load_config(config))
    assert _metrics(resumed.path) == _metrics(uninterrupted.path)


def test_resume_refuses_a_changed_data_file_and_a_complete_run(tmp_path, tiny_model_dir, monkeypatch, one_thread):
    config = _experiment(tmp_path, str(tiny_model_dir), epochs=1)
    crashed = _crash_after_training(monkeypatch, config)
    with (tmp_path / "statements.jsonl").open("a") as handle:
        handle.write(json.dumps({**toy_frame().iloc[0].to_dict(), "id": "new", "text": "Lisbon will send a ship."}) + "\n")
    with pytest.raises(RunError, match="statements.jsonl changed since the run started"):
        resume_run(crashed)
    toy_frame().to_json(tmp_path / "statements.jsonl", orient="records", lines=True)
    finished, _ = resume_run(crashed)
    with pytest.raises(RunError, match="nothing to resume"):
        resume_run(finished)


def test_resume_starts_from_the_newest_complete_checkpoint(tmp_path):
    run = Run(tmp_path / "run.incomplete")
    for step, complete in ((3, True), (6, True), (9, False)):
        folder = run.checkpoint_dir / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"")
        if complete:
            state = {"global_step": step, "best_model_checkpoint": "/elsewhere/checkpoints/checkpoint-3"}
            (folder / "trainer_state.json").write_text(json.dumps(state))
    (run.checkpoint_dir / "checkpoint-12").mkdir()  # a kill before even the weights were written
    assert last_checkpoint(run) == run.checkpoint_dir / "checkpoint-6"
    assert sorted(p.name for p in run.checkpoint_dir.iterdir()) == ["checkpoint-3", "checkpoint-6"]
    # The run folder moved since the Trainer wrote the state: the best checkpoint is found in its new place.
    state = json.loads((run.checkpoint_dir / "checkpoint-6" / "trainer_state.json").read_text())
    assert state["best_model_checkpoint"] == str(run.checkpoint_dir / "checkpoint-3")
    assert last_checkpoint(Run(tmp_path / "empty.incomplete")) is None


def test_interrupted_training_is_recorded_and_exits_130(tmp_path, tiny_model_dir, monkeypatch):
    import stance.recipes.training as experiment

    config = _experiment(tmp_path, str(tiny_model_dir))

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(experiment, "fit", ctrl_c)
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 130 and "interrupted" in result.output and "--resume" in result.output
    [folder] = (tmp_path / "experiments").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert folder.name.endswith(".incomplete") and manifest["status"] == "interrupted"
    assert manifest["error"].startswith("KeyboardInterrupt")
