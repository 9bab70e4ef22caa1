"""``stance reproduce``: rerun a finished run from its saved config and compare every metric."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from stance.config import ExperimentConfig
from stance.data import file_sha256
from stance.recipes.evaluation import evaluate_run
from stance.recipes.kinds import run_kind, start
from stance.runs import Run, environment


@dataclass
class Reproduction:
    """The comparison of a rerun with its original."""

    original: Run
    rerun: Run
    metrics: pd.DataFrame  # split, metric, original, reproduced, difference, ok
    warnings: list[str]
    predictions_identical: bool

    @property
    def ok(self) -> bool:
        return bool(self.metrics["ok"].all()) and self.predictions_identical


def reproduce_run(original: Run, *, tolerance: float = 0.0, progress: bool = False) -> Reproduction:
    """Rerun ``original`` from its saved config into a new run and compare every metric.

    ``tolerance`` is the largest absolute difference accepted (0: bit for bit, what the CPU
    gives). Warnings name environment differences that could explain a mismatch: package
    versions, data and split hashes.
    """
    config = original.config()
    warnings = _environment_differences(original.manifest(), config)
    rerun, _ = start(run_kind(original), config, command=f"stance reproduce {original.path}", progress=progress)
    # Sets evaluated after the run (`stance evaluate RUN --data FILE`) are evaluated on the rerun too.
    recorded = original.manifest().get("evaluations", {})
    for spec in recorded.values():
        if not Path(spec["data"]).exists():
            warnings.append(f"evaluation file {spec['data']} is missing")
            continue
        if file_sha256(spec["data"]) != spec.get("sha256"):
            warnings.append(f"evaluation file {spec['data']} has changed since the original was evaluated on it")
        evaluate_run(rerun, spec["data"], spec.get("split"))
    missing = [split for split in original.metrics() if split not in rerun.metrics() and split not in recorded]
    for split in missing:
        warnings.append(f"{split} was evaluated after the original run, which did not record its file yet; "
                        f"evaluate the rerun on it to compare: stance evaluate {rerun.path} --data FILE")
    rows = []
    new_metrics = rerun.metrics()
    for split, values in original.metrics().items():
        for metric, value in values.items():
            again = new_metrics.get(split, {}).get(metric)
            diff = float("nan") if again is None else abs(float(again) - float(value))
            ok = again is not None and (diff <= tolerance or (np.isnan(value) and np.isnan(again)))
            rows.append({"split": split, "metric": metric, "original": value, "reproduced": again,
                         "difference": diff, "ok": bool(ok)})
    identical = all(
        _same_file(original.reports_dir(split) / "predictions.csv", rerun.reports_dir(split) / "predictions.csv")
        for split in original.metrics()
    )
    return Reproduction(original, rerun, pd.DataFrame(rows), warnings, identical)


def _same_file(a: Path, b: Path) -> bool:
    return a.is_file() and b.is_file() and a.read_bytes() == b.read_bytes()


def _environment_differences(manifest: dict, config: ExperimentConfig) -> list[str]:
    warnings = []
    before = manifest.get("environment", {}).get("packages", {})
    now = environment()["packages"]
    for name, version in before.items():
        if now.get(name) != version:
            warnings.append(f"{name} was {version}, is {now.get(name)}")
    for path, digest in manifest.get("data", {}).get("files_sha256", {}).items():
        if not Path(path).exists():  # a file, or a saved dataset folder
            warnings.append(f"data file {path} is missing")
        elif file_sha256(path) != digest:
            warnings.append(f"data file {path} has changed: sha256 was {digest[:12]}…, is {file_sha256(path)[:12]}…")
    return warnings
