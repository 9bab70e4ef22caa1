"""``stance calibrate``: temperature-scale a finished run from its saved dev predictions, no retraining."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from stance.config import save_config
from stance.errors import RunError
from stance.evaluate import Evaluation, evaluate_predictions
from stance.io import LABEL, probability_column, write_json
from stance.labels import label_maps
from stance.models import load_classifier, read_card
from stance.models.base import MODEL_CARD
from stance.models.calibration import fit_temperature, temper
from stance.recipes.kinds import run_kind
from stance.recipes.steps import save_evaluation
from stance.runs import Run

#: Where a run keeps the predictions the temperature is fitted on.
DEV = "dev"


@dataclass
class Calibration:
    """What ``stance calibrate`` did to a run: its temperature and each split's scores again."""

    run: Run
    temperature: float
    evaluations: dict[str, Evaluation]


def calibrate_run(run: Run, *, command: str | None = None) -> Calibration:
    """Fit a temperature on ``run``'s saved dev predictions and apply it to the run, in place.

    The dev split's ``reports/dev/predictions.csv`` holds the model's probabilities (6 decimals),
    whose logarithms are its logits up to a constant per row: all temperature scaling needs. The
    temperature goes into the model card (so ``predict``, ``evaluate``, ``analyze`` and ``annotate``
    use it from now on), every evaluated split is scored again from its saved predictions with ECE
    and the reliability diagram before and after, the config gains ``evaluate.calibrate: true`` (so
    ``stance reproduce`` retrains and calibrates the same way, and fits the same temperature: training
    fits on the same rounded dev probabilities) and the manifest records the step.

    Refused for a run whose model cannot be scaled (the baselines), one already calibrated, one
    without dev predictions, and cross-validation runs (each fold would need its own dev slice's
    predictions, which are not saved: rerun them with ``evaluate.calibrate: true``).
    """
    if run_kind(run) == "cross_validation":
        raise RunError(f"{run.path} is a cross-validation run: its folds' dev predictions are not saved",
                       hint="run the config again; evaluate.calibrate: true calibrates every fold on its dev slice")
    card = read_card(run.model_dir)
    classifier = load_classifier(run.model_dir)
    if not classifier.calibratable:
        raise RunError(f"{run.path}: a {classifier.kind} model has no logits to temperature-scale",
                       hint="calibration applies to transformer and seed_ensemble runs")
    if classifier.temperature != 1.0:
        raise RunError(f"{run.path} is already calibrated (temperature {classifier.temperature})",
                       hint="its saved predictions are scaled already; retrain to fit a new temperature")
    labels = classifier.labels
    splits = {name: _saved_predictions(run, name, labels) for name in run.metrics()}
    if DEV not in splits:
        raise RunError(f"{run.path} has no {DEV} predictions to fit a temperature on",
                       hint="it was trained without a dev split; calibration needs one")
    _, label2id = label_maps(labels)
    dev = splits[DEV]
    temperature = fit_temperature(_probabilities(dev, labels), [label2id[g] for g in dev[LABEL]])

    config = run.config()
    ev = config.evaluate
    evaluations = {}
    for name, frame in splits.items():
        before = _probabilities(frame, labels)
        evaluation = evaluate_predictions(frame, temper(before, temperature), labels, name=name,
                                          bootstrap=ev.bootstrap, confidence=ev.confidence, cluster_by=ev.cluster_by,
                                          breakdowns=ev.breakdowns, truncated=run.metrics()[name].get("truncated"),
                                          uncalibrated=before, temperature=temperature)
        comparison = run.reports_dir(name) / "comparison.csv"
        if comparison.is_file():  # macro-F1 and accuracy do not change with the temperature: keep it
            evaluation.tables = {"comparison": pd.read_csv(comparison), **evaluation.tables}
        save_evaluation(run, evaluation)
        evaluations[name] = evaluation

    write_json(run.model_dir / MODEL_CARD, {**card, "temperature": temperature})
    calibrated = config.model_copy(update={"evaluate": ev.model_copy(update={"calibrate": True})})
    header = "".join(line + "\n" for line in run.config_path.read_text(encoding="utf-8").splitlines()
                     if line.startswith("#"))
    save_config(calibrated, run.config_path, header=header + "# evaluate.calibrate set by `stance calibrate`\n")
    run.update_manifest(calibration={
        "temperature": temperature, "fitted_on": f"reports/{DEV}/predictions.csv", "command": command,
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })
    return Calibration(run, temperature, evaluations)


def _saved_predictions(run: Run, name: str, labels: list[str]) -> pd.DataFrame:
    path = run.reports_dir(name) / "predictions.csv"
    columns = [probability_column(label) for label in labels]
    if not path.is_file():
        raise RunError(f"{path} is missing: the run's {name} scores cannot be recomputed",
                       hint="the run folder is incomplete; rerun it")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)  # ids and context as written
    missing = [c for c in [LABEL, *columns] if c not in frame.columns]
    if missing:
        raise RunError(f"{path} lacks the column(s) {', '.join(missing)}", hint="the run folder is damaged; rerun it")
    return frame.astype({c: np.float64 for c in columns})


def _probabilities(frame: pd.DataFrame, labels: list[str]) -> np.ndarray:
    """The saved probabilities, each row divided by its sum (6-decimal rounding leaves it a hair off 1;
    the temperature fit does not notice, as softmax ignores a constant per row of logits)."""
    proba = frame[[probability_column(label) for label in labels]].to_numpy(dtype=np.float64)
    return proba / proba.sum(axis=1, keepdims=True)
