"""Experiment tracking: a run's config, curve, metrics and files reach a real MLflow server and TensorBoard."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from stance.cli import app
from stance.config import TrackingConfig
from stance.tracking import Scalar, final_scalars, flatten, history_scalars, tracking_uri

runner = CliRunner()


def test_flatten_gives_dotted_keys_and_text_values():
    flat = flatten({"train": {"epochs": 3, "learning_rate": 1e-3}, "evaluate": {"baselines": ["majority"]},
                    "data": {"splits": None}, "name": "toy", "sweep": {}})
    assert flat == {"train.epochs": "3", "train.learning_rate": "0.001", "evaluate.baselines": '["majority"]',
                    "data.splits": "null", "name": "toy", "sweep": "{}"}


def test_history_scalars_take_loss_by_step_and_dev_metrics_by_epoch():
    # A Trainer log as history.csv holds it: losses mid-epoch, one eval row per epoch, the summary row.
    history = pd.DataFrame([
        {"loss": 1.1, "learning_rate": 1e-3, "epoch": 0.5, "step": 2},
        {"eval_loss": 0.9, "eval_macro_f1": 0.4, "eval_accuracy": 0.5, "epoch": 1.0, "step": 4},
        {"loss": 0.8, "learning_rate": 5e-4, "epoch": 1.5, "step": 6},
        {"eval_loss": 0.7, "eval_macro_f1": 0.6, "eval_accuracy": 0.75, "epoch": 2.0, "step": 8},
        {"train_loss": 0.95, "epoch": 2.0, "step": 8},
    ])
    assert history_scalars(history) == [
        Scalar("train/loss", 2, 1.1), Scalar("train/learning_rate", 2, 1e-3),
        Scalar("train/dev_macro_f1", 1, 0.4), Scalar("train/dev_accuracy", 1, 0.5), Scalar("train/dev_loss", 1, 0.9),
        Scalar("train/loss", 6, 0.8), Scalar("train/learning_rate", 6, 5e-4),
        Scalar("train/dev_macro_f1", 2, 0.6), Scalar("train/dev_accuracy", 2, 0.75), Scalar("train/dev_loss", 2, 0.7),
    ]


def test_final_scalars_keep_interval_bounds_and_drop_nan():
    scalars = final_scalars({"test": {"macro_f1": 0.5, "macro_f1_ci_low": 0.4, "macro_f1_ci_high": 0.6,
                                      "ece": float("nan")}})
    assert scalars == [Scalar("test/macro_f1", 0, 0.5), Scalar("test/macro_f1_ci_low", 0, 0.4),
                       Scalar("test/macro_f1_ci_high", 0, 0.6)]


def test_tracking_uri_prefers_config_then_environment_then_local_sqlite(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    local = TrackingConfig(local_dir=tmp_path / "mlruns")
    assert tracking_uri(local) == (f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}", True)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://example:5000")
    assert tracking_uri(local) == ("http://example:5000", False)
    assert tracking_uri(TrackingConfig(uri="http://other:1")) == ("http://other:1", False)


def test_unknown_backend_is_a_config_error(toy_experiment):
    result = runner.invoke(app, ["run", str(toy_experiment), "--track", "wandb"])
    assert result.exit_code == 1
    assert "tracking.backend" in result.output


# ----------------------------------------------------------------------------------------------
# A real MLflow server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """`mlflow server` on a free port, serving its artifacts; its process group is killed at teardown.

    The server keeps its own records in MLflow's file store (allowed by MLFLOW_ALLOW_FILE_STORE), which
    starts faster than a SQLite one (no migrations, no job workers); the client neither knows nor cares.
    """
    pytest.importorskip("mlflow")
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    executable = Path(sys.executable).with_name("mlflow")
    command = [str(executable), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
               "--backend-store-uri", str(folder / "store"), "--artifacts-destination", str(folder / "artifacts")]
    log = (folder / "server.log").open("w")
    # Its own session, so that teardown stops the uvicorn process the mlflow command starts too.
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True,
                              env={**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300  # 30 s on a quiet two-core machine, 90 s on a loaded one
    try:
        while True:
            if server.poll() is not None:
                pytest.fail(f"mlflow server exited: {(folder / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server not healthy after 300 s: {(folder / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def test_a_run_reaches_a_real_mlflow_server(mlflow_server, toy_experiment, monkeypatch):
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    result = runner.invoke(app, ["run", str(toy_experiment), "--set", "evaluate.baselines=[majority]",
                                 "--track", "mlflow"])
    assert result.exit_code == 0, result.output
    run_dir = next((toy_experiment.parent / "experiments").glob("*-toy-*"))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    where = manifest["tracking"][0]
    assert where["backend"] == "mlflow" and where["uri"] == mlflow_server

    client = MlflowClient(mlflow_server)
    logged = client.get_run(where["run_id"])
    params = logged.data.params
    assert params["train.epochs"] == "3.0" and params["model.type"] == "transformer"
    assert params["evaluate.baselines"] == '["majority"]' and params["tracking.backend"] == "mlflow"
    assert logged.data.tags["stance.run_id"] == run_dir.name
    assert logged.info.status == "FINISHED"

    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert logged.data.metrics["test/macro_f1"] == pytest.approx(metrics["test"]["macro_f1"])
    assert logged.data.metrics["test/macro_f1_ci_low"] == pytest.approx(metrics["test"]["macro_f1_ci_low"])
    assert logged.data.metrics["test/macro_f1_ci_high"] == pytest.approx(metrics["test"]["macro_f1_ci_high"])
    # One dev point per epoch, at steps 1, 2, 3, equal to the epoch rows of history.csv.
    curve = client.get_metric_history(where["run_id"], "train/dev_macro_f1")
    history = pd.read_csv(run_dir / "history.csv").dropna(subset=["eval_macro_f1"])
    assert [m.step for m in curve] == [1, 2, 3]
    assert [m.value for m in curve] == pytest.approx(history["eval_macro_f1"].tolist())

    top = {a.path for a in client.list_artifacts(where["run_id"])}
    assert {"config.yaml", "metrics.json", "manifest.json", "reports", "model"} <= top
    model = {Path(a.path).name for a in client.list_artifacts(where["run_id"], "model")}
    assert {"model.safetensors", "config.json", "README.md", "stance_model.json"} <= model
    test_reports = {Path(a.path).name for a in client.list_artifacts(where["run_id"], "reports/test")}
    assert {"summary.csv", "predictions.csv", "comparison.csv"} <= test_reports


def test_a_baseline_run_logs_params_metrics_and_model_without_a_curve(toy_experiment, tmp_path, monkeypatch):
    """No server: the default local store (SQLite under tracking.local_dir), through `stance runs track`."""
    pytest.importorskip("mlflow")
    from mlflow import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    store = tmp_path / "mlruns"
    trained = runner.invoke(app, ["train", str(toy_experiment), "--set", "model.type=majority",
                                  "--set", f"tracking.local_dir={store}"])
    assert trained.exit_code == 0, trained.output
    run_dir = next((toy_experiment.parent / "experiments").glob("*-toy-*"))
    tracked = runner.invoke(app, ["runs", "track", str(run_dir), "--track", "mlflow"])
    assert tracked.exit_code == 0, tracked.output
    where = json.loads((run_dir / "manifest.json").read_text())["tracking"][0]
    assert where["uri"] == f"sqlite:///{store / 'mlflow.db'}"
    client = MlflowClient(where["uri"])
    logged = client.get_run(where["run_id"])
    assert logged.data.params["model.type"] == "majority"
    assert "dev/macro_f1" in logged.data.metrics and "dev/macro_f1_ci_low" in logged.data.metrics
    assert not any(name.startswith("train/") for name in logged.data.metrics)  # no training curve
    assert {Path(a.path).name for a in client.list_artifacts(where["run_id"], "model")} >= {"README.md"}
    assert (store / "artifacts").is_dir()


def test_tensorboard_event_file_holds_the_curve_and_final_metrics(toy_experiment):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = runner.invoke(app, ["run", str(toy_experiment), "--set", "evaluate.baselines=[]", "--track", "tensorboard"])
    assert result.exit_code == 0, result.output
    run_dir = next((toy_experiment.parent / "experiments").glob("*-toy-*"))
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    dev_curve = events.Scalars("train/dev_macro_f1")
    assert [e.step for e in dev_curve] == [1, 2, 3]
    history = pd.read_csv(run_dir / "history.csv").dropna(subset=["eval_macro_f1"])
    assert [e.value for e in dev_curve] == pytest.approx(history["eval_macro_f1"].tolist(), abs=1e-6)
    assert events.Scalars("test/macro_f1")[0].value == pytest.approx(metrics["test"]["macro_f1"], abs=1e-6)
    assert events.Scalars("test/macro_f1_ci_high")[0].value == pytest.approx(metrics["test"]["macro_f1_ci_high"],
                                                                             abs=1e-6)
    assert "train/loss" in events.Tags()["scalars"]


def test_without_tracking_nothing_is_logged(toy_experiment, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["train", str(toy_experiment), "--set", "model.type=majority"])
    assert result.exit_code == 0, result.output
    run_dir = next((toy_experiment.parent / "experiments").glob("*-toy-*"))
    assert "tracking" not in json.loads((run_dir / "manifest.json").read_text())
    assert not (tmp_path / "mlruns").exists() and not (run_dir / "tensorboard").exists()
