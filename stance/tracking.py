"""Experiment tracking: a finished run, as its folder holds it, sent to MLflow or TensorBoard.

A run folder already holds everything a tracker shows (``config.yaml``, ``history.csv``,
``metrics.json``, ``reports/``, ``model/``), so tracking reads the finished folder and sends it
in one go: the same run logs the same way whether it was just trained or trained last month
(``stance runs track RUN``). What goes where:

===================  ==========================================  ============================
what                 MLflow                                      TensorBoard
===================  ==========================================  ============================
resolved config      params, dotted keys (``train.epochs``)      text ``config``
training curve       ``train/loss`` by step; ``train/dev_        the same scalars
                     macro_f1``, ``_accuracy``, ``_loss`` by
                     epoch
cross-validation     ``folds/macro_f1`` ... by fold              the same scalars
final metrics        ``<split>/<metric>`` with ``_ci_low`` and   the same scalars (step 0)
                     ``_ci_high`` bounds
reports, model       artifacts ``reports/``, ``model/``, and     (the run folder has them)
                     the run's config, manifest, metrics
===================  ==========================================  ============================

Backends are a registry (:data:`TRACKERS`): a name maps to a function that logs a run and says where.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from stance.config import TrackingConfig
from stance.errors import StanceError
from stance.runs import Run

#: MLflow refuses longer param values; a longer one (a long list) is cut, with a mark.
MAX_PARAM_LENGTH = 6000
#: MLflow takes at most this many params, and this many metrics, in one batch.
PARAM_BATCH, METRIC_BATCH = 100, 1000


class TrackingError(StanceError):
    """A run that could not be sent to its tracker (the run folder itself is complete)."""


@dataclass(frozen=True)
class Scalar:
    """One tracked number: its name, its step (epoch, training step or fold; 0 for final metrics), its value."""

    name: str
    step: int
    value: float


# ----------------------------------------------------------------------------------------------
# What a run folder gives a tracker


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested config data as ``{"train.learning_rate": "5e-05", ...}``; lists and nulls as text."""
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            text = json.dumps(value) if isinstance(value, (list, dict, type(None), bool)) else str(value)
            flat[name] = text if len(text) <= MAX_PARAM_LENGTH else text[: MAX_PARAM_LENGTH - 1] + "…"
    return flat


def history_scalars(history: pd.DataFrame) -> list[Scalar]:
    """The training curve of a Trainer log: loss and learning rate by step, dev metrics by epoch
    (``train/dev_macro_f1``: ``dev/macro_f1`` is the final model's, among the final metrics)."""
    scalars = []
    for row in history.to_dict("records"):
        step = _int(row.get("step"))
        if _finite(row.get("loss")) and step is not None:
            scalars.append(Scalar("train/loss", step, float(row["loss"])))
            if _finite(row.get("learning_rate")):
                scalars.append(Scalar("train/learning_rate", step, float(row["learning_rate"])))
        epoch = _int(row.get("epoch"))
        if epoch is not None:
            for column in ("eval_macro_f1", "eval_accuracy", "eval_loss"):
                if _finite(row.get(column)):
                    scalars.append(Scalar(f"train/dev_{column.removeprefix('eval_')}", epoch, float(row[column])))
    return scalars


def final_scalars(metrics: Mapping[str, Mapping[str, float]]) -> list[Scalar]:
    """``metrics.json`` as ``<split>/<metric>`` scalars (interval bounds included), at step 0."""
    return [Scalar(f"{split}/{name}", 0, float(value))
            for split, values in metrics.items() for name, value in values.items() if _finite(value)]


def fold_scalars(folds: pd.DataFrame) -> list[Scalar]:
    """A cross-validation's per-fold metrics (``folds.csv``) as ``folds/<metric>`` by fold."""
    skip = {"fold", "episodes", "train", "dev", "test", "n"}
    return [Scalar(f"folds/{column}", int(row["fold"]), float(row[column]))
            for row in folds.to_dict("records") for column in folds.columns
            if column not in skip and _finite(row[column])]


def run_scalars(run: Run) -> list[Scalar]:
    """Every number a tracker gets from ``run``: training curve, folds, final metrics."""
    scalars = []
    history = run.path / "history.csv"
    if history.is_file() and history.stat().st_size > 1:
        try:
            scalars += history_scalars(pd.read_csv(history))
        except pd.errors.EmptyDataError:  # a model without a training log (the baselines)
            pass
    folds = run.reports_dir("cross_validation") / "folds.csv"
    if folds.is_file():
        scalars += fold_scalars(pd.read_csv(folds))
    return scalars + final_scalars(run.metrics())


def run_tags(run: Run) -> dict[str, str]:
    """What identifies the run in a tracker: its id, kind, command, git commit."""
    manifest = run.manifest()
    tags = {"stance.run_id": run.id, "stance.kind": str(manifest.get("kind", "run")),
            "stance.command": str(manifest.get("command", "")),
            "stance.git_commit": str(manifest.get("git", {}).get("commit"))}
    return {k: v[:MAX_PARAM_LENGTH] for k, v in tags.items()}


# ----------------------------------------------------------------------------------------------
# Backends


def log_mlflow(run: Run, settings: TrackingConfig, experiment: str) -> dict[str, str]:
    """Log ``run`` as one MLflow run; returns where (tracking URI, experiment, MLflow run id)."""
    try:
        from mlflow import MlflowClient
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.exceptions import MlflowException
    except ImportError:
        raise TrackingError("tracking.backend mlflow needs MLflow",
                            hint="pip install 'stance[tracking]', or set tracking.backend: none") from None
    uri, local = tracking_uri(settings)
    try:
        client = MlflowClient(uri)
        found = client.get_experiment_by_name(experiment)
        if found is not None:
            experiment_id = found.experiment_id
        else:
            location = (settings.local_dir.resolve() / "artifacts").as_uri() if local else None
            experiment_id = client.create_experiment(experiment, artifact_location=location)
        created = client.create_run(experiment_id, run_name=run.id,
                                    tags={"mlflow.runName": run.id, **run_tags(run)})
        mlflow_id = created.info.run_id
        params = [Param(k, v) for k, v in flatten(run.config().dump()).items()]
        now = int(time.time() * 1000)
        metrics = [Metric(s.name, s.value, now, s.step) for s in run_scalars(run)]
        for chunk in _chunks(params, PARAM_BATCH):
            client.log_batch(mlflow_id, params=chunk)
        for chunk in _chunks(metrics, METRIC_BATCH):
            client.log_batch(mlflow_id, metrics=chunk)
        client.log_batch(mlflow_id, tags=[RunTag("stance.run_path", str(run.path.resolve()))])
        for name in ("config.yaml", "manifest.json", "metrics.json", "history.csv"):
            if (run.path / name).is_file():
                client.log_artifact(mlflow_id, str(run.path / name))
        for folder in ("reports", "model"):
            if (run.path / folder).is_dir():
                client.log_artifacts(mlflow_id, str(run.path / folder), folder)
        client.set_terminated(mlflow_id, "FINISHED")
    except (MlflowException, OSError) as err:
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise TrackingError(f"run {run.id} is complete but could not be logged to MLflow at {uri}: {first}",
                            hint=f"check the server, then `stance runs track {run.path} --track mlflow`") from None
    return {"uri": uri, "experiment": experiment, "run_id": mlflow_id}


def log_tensorboard(run: Run, settings: TrackingConfig, experiment: str) -> dict[str, str]:
    """Write ``run``'s scalars and config as TensorBoard event files in ``<run>/tensorboard/``."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise TrackingError("tracking.backend tensorboard needs TensorBoard",
                            hint="pip install 'stance[tracking]', or set tracking.backend: none") from None
    folder = run.path / "tensorboard"
    writer = SummaryWriter(log_dir=str(folder))
    try:
        for scalar in run_scalars(run):
            writer.add_scalar(scalar.name, scalar.value, scalar.step)
        # Two spaces before each line: TensorBoard renders text as Markdown, and this keeps the YAML a block.
        config = run.config_path.read_text(encoding="utf-8")
        writer.add_text("config", "\n".join(f"    {line}" for line in config.splitlines()), 0)
    finally:
        writer.close()
    return {"logdir": str(folder)}


#: Backend name → the function that logs a finished run there and returns where it went.
TRACKERS: dict[str, Callable[[Run, TrackingConfig, str], dict[str, str]]] = {
    "mlflow": log_mlflow,
    "tensorboard": log_tensorboard,
}


def tracking_uri(settings: TrackingConfig) -> tuple[str, bool]:
    """The MLflow URI to log to, and whether it is the local store: ``tracking.uri``, else
    ``MLFLOW_TRACKING_URI``, else a SQLite database in ``tracking.local_dir`` (MLflow 3 keeps its
    plain-file store in maintenance mode, so the local default is SQLite, in the same folder)."""
    uri = settings.uri or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri, False
    folder = settings.local_dir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}", True


def track_run(run: Run, backend: str | None = None) -> dict[str, str] | None:
    """Send a finished ``run`` to the tracker its config names (or ``backend``), record where in its
    manifest (``tracking``), and return that; ``None`` when the backend is ``none``."""
    config = run.config()
    settings = config.tracking
    name = backend or settings.backend
    if name == "none":
        return None
    logger = TRACKERS.get(name)
    if logger is None:
        raise TrackingError(f"unknown tracking backend {name!r}", hint=f"use none, {', '.join(TRACKERS)}")
    where = {"backend": name, **logger(run, settings, settings.experiment or config.name)}
    tracked = [t for t in run.manifest().get("tracking", []) if t.get("backend") != name]
    run.update_manifest(tracking=[*tracked, where])
    return where


# ----------------------------------------------------------------------------------------------


def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _int(value: Any) -> int | None:
    """A step or epoch as an int; ``None`` when absent, or a fraction (a loss logged mid-epoch has
    ``epoch`` 0.1, which is no epoch)."""
    if not _finite(value):
        return None
    number = float(value)
    return int(round(number)) if abs(number - round(number)) < 1e-6 else None


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
