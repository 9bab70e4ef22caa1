"""Run directories: where a run's outputs live and the provenance that makes them reviewable.

Layout of one run (``experiments/<id>/``; see ``experiments/README.md``)::

    config.yaml      the fully resolved config the run used
    manifest.json    status, command, versions, git commit, platform, data and split hashes, times
    model/           the fitted classifier (safetensors / JSON / npz; never pickle)
    history.csv      training log (loss, dev metrics per epoch); history.png plots it
    metrics.json     headline metrics per evaluated split
    reports/<split>/ tables as CSV (summary, per class, confusion, predictions, ...), report.md (one
                     page of them), confusion.png, reliability.png and report.html (self-contained)

A run is written under ``<id>.incomplete/`` and renamed to ``<id>/`` only when it finishes, so an
interrupted run is never mistaken for a finished one. Ids are unique (time + random suffix); a
run directory is never overwritten.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from stance.config import ExperimentConfig, load_config, save_config
from stance.errors import RunError
from stance.io import write_json

INCOMPLETE_SUFFIX = ".incomplete"
TRACKED_PACKAGES = (
    "stance", "torch", "transformers", "datasets", "tokenizers", "scikit-learn", "pandas", "numpy",
    "safetensors", "pydantic", "typer",
)


@dataclass
class Run:
    """A run directory and what it holds."""

    path: Path

    @property
    def id(self) -> str:
        return self.path.name.removesuffix(INCOMPLETE_SUFFIX)

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    @property
    def model_dir(self) -> Path:
        return self.path / "model"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def complete(self) -> bool:
        return not self.path.name.endswith(INCOMPLETE_SUFFIX) and self.manifest().get("status") == "complete"

    def reports_dir(self, name: str) -> Path:
        return self.path / "reports" / name

    def config(self) -> ExperimentConfig:
        config = load_config(self.config_path)
        if "calibrate" not in (_saved_section(self.config_path, "evaluate") or {}):
            # Saved before temperature scaling existed, so not calibrated: reading the config must not
            # turn calibration on, or `stance reproduce` would make a different model of it.
            config = config.model_copy(update={"evaluate": config.evaluate.model_copy(update={"calibrate": False})})
        return config

    def manifest(self) -> dict[str, Any]:
        if not self.manifest_path.is_file():
            return {}
        return json.loads(self.manifest_path.read_text(encoding="utf-8"))

    def update_manifest(self, **fields: Any) -> None:
        manifest = self.manifest()
        manifest.update(fields)
        write_json(self.manifest_path, manifest)

    def metrics(self) -> dict[str, dict[str, float]]:
        path = self.path / "metrics.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    def record_metrics(self, split: str, metrics: dict[str, float]) -> None:
        all_metrics = self.metrics()
        all_metrics[split] = metrics
        write_json(self.path / "metrics.json", all_metrics)


def _saved_section(path: Path, section: str) -> Any:
    """One top-level section of a saved config file, as written (None when it has none)."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data.get(section) if isinstance(data, dict) else None


def new_run(config: ExperimentConfig, *, command: str | None = None, parent: Path | None = None) -> Run:
    """Create ``<output.dir>/<id>.incomplete/`` with the resolved config and a first manifest."""
    parent = Path(parent or config.output.dir)
    parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    safe_name = "".join(c if c.isalnum() or c in "-_" else "-" for c in config.name)
    while True:
        run_id = f"{stamp}-{safe_name}-{secrets.token_hex(3)}"
        path = parent / (run_id + INCOMPLETE_SUFFIX)
        if not path.exists() and not (parent / run_id).exists():
            break
    path.mkdir()
    run = Run(path)
    save_config(config, run.config_path, header=f"# resolved config of run {run_id}\n# rerun: stance reproduce {parent / run_id}\n")
    write_json(
        run.manifest_path,
        {
            "run_id": run_id,
            "status": "running",
            "command": command or " ".join(sys.argv),
            "started": _now(),
            "environment": environment(),
            "git": git_state(),
        },
    )
    return run


def new_shared_run(config: ExperimentConfig, *, command: str | None = None) -> Run:
    """:func:`new_run` for every process of a torchrun or accelerate job: rank 0 creates the
    folder, and every rank gets its path, so all agree on the run id. One process: ``new_run``."""
    from stance import distributed

    if not distributed.is_distributed():
        return new_run(config, command=command)
    path = str(new_run(config, command=command).path) if distributed.is_main_process() else None
    run = Run(Path(distributed.broadcast(path)))
    if distributed.is_main_process():
        run.update_manifest(distributed=distributed.describe())
    return run


def finish_run(run: Run) -> Run:
    """Mark ``run`` complete and move it to its final name."""
    started = datetime.fromisoformat(run.manifest()["started"])
    finished = datetime.now(timezone.utc)
    run.update_manifest(status="complete", finished=finished.isoformat(timespec="seconds"),
                        wall_time_s=round((finished - started).total_seconds(), 1))
    final = run.path.with_name(run.id)
    if run.path != final:
        os.replace(run.path, final)
    return Run(final)


def fail_run(run: Run, reason: str, status: str = "failed") -> None:
    """Record why a run stopped (``status``: failed or interrupted); its folder keeps the
    ``.incomplete`` suffix."""
    run.update_manifest(status=status, finished=_now(), error=reason)


@contextmanager
def recording(run: Run, *, writer: bool = True) -> Iterator[Run]:
    """Run the block; if it raises, record in ``run``'s manifest that the run failed (or was
    interrupted, on Ctrl-C) and why, then let the error go on. ``writer=False`` records nothing:
    the processes of a torchrun job other than rank 0 never write the run folder."""
    try:
        yield run
    except BaseException as err:
        if writer:
            fail_run(run, f"{type(err).__name__}: {err}",
                     status="interrupted" if isinstance(err, KeyboardInterrupt) else "failed")
        raise


def reopen_run(run: Run, command: str | None = None) -> None:
    """Mark an incomplete run as running again, recording when, how and after what it was resumed."""
    manifest = run.manifest()
    previous = {"at": _now(), "command": command or " ".join(sys.argv), "after": manifest.get("status", "unknown")}
    if "error" in manifest:
        previous["error"] = manifest.pop("error")
    manifest.pop("finished", None)
    manifest.update(status="running", resumed=[*manifest.get("resumed", []), previous])
    write_json(run.manifest_path, manifest)


def open_run(path: str | Path, *, require_complete: bool = True) -> Run:
    """Open a run directory, checking it is one (and finished, unless told otherwise)."""
    path = Path(path)
    if not path.is_dir():
        raise RunError(f"run directory {path} does not exist", hint="`stance runs list` shows the runs")
    run = Run(path)
    if not run.config_path.is_file() or not run.manifest_path.is_file():
        raise RunError(f"{path} is not a stance run: config.yaml or manifest.json is missing",
                       hint="pass a run directory made by `stance train` or `stance run`")
    if require_complete and not run.complete:
        raise RunError(
            f"{path} is an incomplete run (status: {run.manifest().get('status', 'unknown')})",
            hint="resume it with `stance train --resume RUN` or start a new one",
        )
    return run


def environment() -> dict[str, Any]:
    """Python, platform, device, threads and the versions of the packages results depend on."""
    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "packages": versions,
    }
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    except ImportError:  # pragma: no cover
        info["device"] = "cpu"
    return info


def package_licence() -> str:
    """The licence stance declares, as the Hugging Face Hub writes it (``mit``): model and dataset
    cards state it."""
    try:
        text = metadata.metadata("stance").get("License") or "mit"
    except metadata.PackageNotFoundError:  # pragma: no cover - the package is installed to run
        text = "mit"
    return text.strip().lower()


def git_state(cwd: Path | None = None) -> dict[str, Any]:
    """Commit and dirtiness of the repository the command runs in (``None`` outside git)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status)}


def _now() -> str:
    # microseconds, so that runs started within the same second still have an order
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def list_runs(parent: str | Path = "experiments") -> pd.DataFrame:
    """One row per run directory under ``parent``: id, name, status, model, headline metrics."""
    rows = []
    parent = Path(parent)
    for path in sorted(parent.glob("*")) if parent.is_dir() else []:
        if not (path / "manifest.json").is_file():
            continue
        run = Run(path)
        manifest = run.manifest()
        metrics = run.metrics()
        try:
            config = run.config()
            name, model = config.name, config.model.type
        except Exception:  # a damaged run still gets listed
            name, model = "?", "?"
        row = {
            "run": run.id,
            "name": name,
            "model": model,
            "status": manifest.get("status", "unknown") if not path.name.endswith(INCOMPLETE_SUFFIX) or manifest.get("status") != "complete" else "incomplete",
            "started": manifest.get("started"),
            "wall_s": manifest.get("wall_time_s"),
        }
        for split in ("dev", "test"):
            for key in ("macro_f1", "accuracy"):
                row[f"{split}_{key}"] = metrics.get(split, {}).get(key)
        rows.append(row)
    return pd.DataFrame(rows)


def new_sweep_dir(config: ExperimentConfig) -> Path:
    """A fresh folder for a sweep's aggregated report (its runs sit beside it)."""
    parent = Path(config.output.dir)
    parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    folder = parent / f"{stamp}-{config.name}-sweep-{secrets.token_hex(3)}"
    folder.mkdir()
    return folder
