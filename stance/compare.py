"""Finished runs side by side: ``stance report compare RUN...`` and ``stance report leaderboard``.

Each run's ``reports/<split>/predictions.csv`` is read back and matched by statement ``id``, and so,
with ``baselines=True``, are the baselines ``stance run`` fitted inside it
(``reports/<split>/baselines/<baseline>_predictions.csv``), each a row of its own named
``<run id> / <baseline>``. A
paired test needs pairs, so runs evaluated on different statements (or with different gold
labels) are refused. Intervals and p-values are recomputed here with one seed and one resample
count for every row, so the rows are comparable with each other even where the runs' own
summaries used other settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from stance.errors import StanceError
from stance.evaluate import BOOTSTRAP_SEED, comparison_row, evaluate_predictions, paired_bootstrap_test
from stance.io import LABEL, PREDICTION, probability_column, write_atomic
from stance.pages import comparison_page
from stance.report import markdown
from stance.runs import Run, list_runs

#: Columns of a comparison table, in order.
COLUMNS = ("run", "name", "model", "macro_f1", "macro_f1_low", "macro_f1_high", "accuracy", "accuracy_low",
           "accuracy_high", "n", "best_minus_this", "p_value")


#: Column names of predictions.csv files written before :mod:`stance.io` gave predictions one schema.
_EARLIER_COLUMNS = {"gold": LABEL, "predicted": PREDICTION}


#: What ends the name of a baseline's predictions file in ``reports/<split>/baselines/``.
_BASELINE_SUFFIX = "_predictions.csv"


@dataclass(frozen=True)
class Compared:
    """One row of a comparison: a run's own model, or (``baseline``) a baseline fitted inside the run."""

    run: Run
    baseline: str | None = None

    @property
    def id(self) -> str:
        return self.run.id if self.baseline is None else f"{self.run.id} / {self.baseline}"

    def name_and_model(self) -> tuple[str, str]:
        config = self.run.config()
        if self.baseline is None:
            return config.name, config.model.type
        return f"{config.name} / {self.baseline}", self.baseline

    def predictions_path(self, split: str) -> Path:
        if self.baseline is None:
            return self.run.reports_dir(split) / "predictions.csv"
        return self.run.reports_dir(split) / "baselines" / f"{self.baseline}{_BASELINE_SUFFIX}"


def fitted_baselines(run: Run, split: str) -> list[str]:
    """The baselines fitted inside ``run`` and evaluated on ``split`` (``stance run`` writes their
    predictions into ``reports/<split>/baselines/``), in name order."""
    folder = run.reports_dir(split) / "baselines"
    if not folder.is_dir():
        return []
    return sorted(path.name[: -len(_BASELINE_SUFFIX)] for path in folder.glob(f"*{_BASELINE_SUFFIX}"))


def load_predictions(run: Run, split: str, baseline: str | None = None) -> pd.DataFrame:
    """A run's predictions on ``split`` (``reports/<split>/predictions.csv``; with ``baseline``,
    that baseline's, fitted inside the run), indexed by ``id``, in :mod:`stance.io`'s schema
    (files of earlier runs, with ``gold`` and ``predicted``, included)."""
    compared = Compared(run, baseline)
    path = compared.predictions_path(split)
    if not path.is_file():
        raise StanceError(f"run {compared.id} has no predictions for {split!r} ({path} is missing)",
                          hint=f"evaluate it on {split} or pick another --split")
    predictions = pd.read_csv(path, dtype={"id": str})
    if LABEL not in predictions.columns:
        predictions = predictions.rename(columns=_EARLIER_COLUMNS)
    return predictions.set_index("id")


def compare_runs(runs: Sequence[Run], split: str = "test", *, bootstrap: int = 1000, confidence: float = 0.95,
                 resamples: int = 2000, cluster_by: str | None = None, baselines: bool = False) -> pd.DataFrame:
    """One row per run, best macro-F1 first: config name, model type, macro-F1 and accuracy with
    bootstrap intervals, n, the best run's lead over this one and the p-value of a paired
    approximate-randomisation test of that difference (NaN on the best row).

    ``baselines=True`` adds a row for each baseline fitted inside a run (:func:`fitted_baselines`),
    run ``<run id> / <baseline>``, name ``<config name> / <baseline>``, tested like every other row
    on the same statements. ``cluster_by="episode"`` resamples and swaps whole episodes. Raises
    :class:`StanceError` when the rows were evaluated on different statements, gold labels or
    label sets.
    """
    if not runs:
        raise StanceError("nothing to compare: no runs given")
    compared = [Compared(run) for run in runs]
    if baselines:
        compared += [Compared(run, baseline) for run in runs for baseline in fitted_baselines(run, split)]
    first = runs[0]
    labels = first.config().data.labels
    reference = load_predictions(first, split)
    evaluations = []
    for entry in compared:
        predictions = load_predictions(entry.run, split, entry.baseline)
        _check_same_statements(entry, predictions, first, reference, labels, split)
        frame = predictions.loc[reference.index].reset_index()
        proba = frame[[probability_column(label) for label in labels]].to_numpy()
        proba = proba / proba.sum(axis=1, keepdims=True)  # undo the CSV's rounding to 6 decimals
        evaluations.append(evaluate_predictions(frame, proba, labels, name=split, bootstrap=bootstrap,
                                                confidence=confidence, cluster_by=cluster_by))
    best = int(np.argmax([e.metrics["macro_f1"] for e in evaluations]))
    groups = reference[cluster_by].tolist() if cluster_by else None
    rows = []
    for i, (entry, evaluation) in enumerate(zip(compared, evaluations, strict=True)):
        test = None if i == best else paired_bootstrap_test(
            evaluations[best].gold, evaluations[best].predicted, evaluation.predicted, labels=labels,
            n_resamples=resamples, seed=BOOTSTRAP_SEED, groups=groups)
        name, model = entry.name_and_model()
        row = comparison_row(model, evaluation, test, difference="best_minus_this")
        rows.append({**row, "run": entry.id, "name": name, "n": evaluation.metrics["n"]})
    table = pd.DataFrame(rows).reindex(columns=list(COLUMNS))
    table.loc[best, "best_minus_this"] = 0.0
    return table.sort_values("macro_f1", ascending=False, kind="stable").reset_index(drop=True)


def _check_same_statements(compared: Compared, predictions: pd.DataFrame, first: Run, reference: pd.DataFrame,
                           labels: list[str], split: str) -> None:
    where = f"{compared.id} and {first.id} on {split!r}"
    if compared.run.config().data.labels != labels:
        raise StanceError(f"{where}: different label sets", hint="compare runs of the same label scheme")
    ours, theirs = set(predictions.index), set(reference.index)
    if ours != theirs:
        raise StanceError(
            f"{where}: evaluated on different statement sets ({len(ours - theirs)} only in the first, "
            f"{len(theirs - ours)} only in the second)",
            hint="compare runs evaluated on the same split of the same data",
        )
    differing = int((predictions.loc[reference.index, LABEL] != reference[LABEL]).sum())
    if differing:
        raise StanceError(f"{where}: {differing} statement(s) have different gold labels",
                          hint="the data changed between the runs; rerun them on one version")


def latest_runs(parent: str | Path = "experiments", split: str = "test") -> list[Run]:
    """Per config name, the latest complete run under ``parent`` with predictions on ``split``."""
    runs = list_runs(parent)
    if runs.empty:
        raise StanceError(f"no runs under {parent}", hint="run `stance run CONFIG` first")
    evaluated = np.array([(Path(parent) / r / "reports" / split / "predictions.csv").is_file() for r in runs["run"]])
    runs = runs[(runs["status"] == "complete").to_numpy() & evaluated]
    if runs.empty:
        raise StanceError(f"no complete run under {parent} has predictions on {split!r}")
    runs = runs.assign(started=pd.to_datetime(runs["started"], format="ISO8601", utc=True))
    latest = runs.sort_values(["started", "run"]).groupby("name", sort=True).tail(1)
    return [Run(Path(parent) / run_id) for run_id in sorted(latest["run"])]


def leaderboard(parent: str | Path = "experiments", split: str = "test", *, baselines: bool = True,
                **options) -> pd.DataFrame:
    """:func:`compare_runs` over :func:`latest_runs`: one row per config name, and (``baselines``,
    the default) one per baseline fitted inside those runs."""
    return compare_runs(latest_runs(parent, split), split, baselines=baselines, **options)


def compact(table: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """A comparison table for reading: each interval folded into its metric's cell as text."""
    def with_interval(metric: str) -> list[str]:
        if f"{metric}_low" not in table or table[f"{metric}_low"].isna().all():
            return [f"{v:.3f}" for v in table[metric]]
        columns = table[[metric, f"{metric}_low", f"{metric}_high"]].to_numpy()
        return [f"{v:.3f} [{lo:.3f}, {hi:.3f}]" for v, lo, hi in columns]

    ci = f"{confidence:.0%} CI"
    return pd.DataFrame({
        "run": table["run"], "name": table["name"], "model": table["model"],
        f"macro-F1 [{ci}]": with_interval("macro_f1"), f"accuracy [{ci}]": with_interval("accuracy"),
        "n": table["n"], "best − this": [f"{v:.3f}" for v in table["best_minus_this"]],
        "p": ["" if np.isnan(v) else f"{v:.3g}" for v in table["p_value"]],
    })


def write_comparison(table: pd.DataFrame, folder: Path, name: str, title: str) -> list[Path]:
    """``<name>.csv`` (every number in its own column), ``<name>.md`` in the :func:`compact` form
    and a self-contained page for reading, ``<name>.html`` (:func:`stance.pages.comparison_page`), in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.csv", folder / f"{name}.md", folder / f"{name}.html"]
    write_atomic(paths[0], table.to_csv(index=False))
    write_atomic(paths[1], f"{markdown(compact(table))}\n")
    write_atomic(paths[2], comparison_page(table, title, kind=name))
    return paths
