"""``stance run`` with ``seeds:`` or ``sweep:``: one run per point and seed, then an aggregated report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from stance.config import ExperimentConfig, expand
from stance.io import write_json
from stance.recipes.cross_validation import cross_validate
from stance.recipes.experiment import run_experiment
from stance.recipes.steps import check_hardware
from stance.report import write_tables
from stance.runs import new_sweep_dir


def run_many(config: ExperimentConfig, *, command: str | None = None, progress: bool = False) -> tuple[Path, pd.DataFrame]:
    """One run per sweep point and seed, then an aggregated report in ``<output.dir>/<id>-sweep/``.

    Returns the folder and the per-run table (the point's keys, seed, run id, dev and held-out
    metrics). ``aggregate.csv`` holds mean ± std per point; ``runs.csv`` every run.
    """
    points = expand(config)
    for _, point_config in points:
        check_hardware(point_config)  # before the sweep folder: a point may set train.precision
    folder = new_sweep_dir(config)
    rows = []
    for assignments, point_config in points:
        if point_config.evaluate.cross_validation:
            run = cross_validate(point_config, command=command).run
        else:
            run, _ = run_experiment(point_config, command=command, progress=progress)
        metrics = run.metrics()
        row = {**assignments, "run": run.id}
        for split, values in metrics.items():
            for key in ("macro_f1", "accuracy"):
                if key in values:
                    row[f"{split}_{key}"] = values[key]
        rows.append(row)
    runs = pd.DataFrame(rows)
    aggregate = aggregate_runs(runs, keys=[k for k in runs.columns if k in (config.sweep or {})])
    write_tables({"aggregate": aggregate, "runs": runs}, folder, title=f"sweep {folder.name}")
    write_json(folder / "sweep.json", {"config": config.dump(), "points": [p for p, _ in points], "command": command})
    return folder, runs


def aggregate_runs(runs: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Mean, standard deviation and count of every metric column per sweep point."""
    metrics = [c for c in runs.columns if c.endswith(("macro_f1", "accuracy"))]
    grouped = runs.groupby(list(keys), dropna=False) if keys else runs.assign(_all="all").groupby("_all")
    table = grouped[metrics].agg(["mean", "std", "count"])
    table.columns = [f"{metric}_{stat}" for metric, stat in table.columns]
    table = table.reset_index()
    return table.drop(columns=["_all"], errors="ignore")
