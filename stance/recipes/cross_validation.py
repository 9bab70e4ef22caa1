"""``stance run`` with ``evaluate.cross_validation: k``: k-fold cross-validation by episode."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stance.config import ExperimentConfig, apply_overrides
from stance.data import file_sha256, load_statements
from stance.errors import ConfigError, DataError
from stance.evaluate import Evaluation, evaluate_predictions
from stance.models import Classifier, TextInputs
from stance.models.calibration import temper
from stance.io import write_json, write_npz
from stance.recipes.steps import (calibrate, check_hardware, check_resumable, conclude_run, fit, save_evaluation,
                                  train_statements)
from stance.runs import Run, new_run, recording, reopen_run
from stance.splits import hold_out_episodes

#: The name under which a cross-validation run reports its pooled out-of-fold predictions (and its kind).
CROSS_VALIDATION = "cross_validation"


@dataclass
class CrossValidation:
    """A cross-validation run: per-fold metrics, their mean ± std, and the pooled evaluation."""

    run: Run
    folds: pd.DataFrame  # fold, episodes, train, dev, test (statements), then the fold's metrics
    aggregate: pd.DataFrame  # metric, mean, std, min, max over the folds
    evaluation: Evaluation  # every statement, predicted by the model of the fold that held it out


#: Where a cross-validation run keeps each finished fold's predictions until the run completes.
FOLDS_DIR = "folds"


def cross_validate(config: ExperimentConfig, folds: int | None = None, *,
                   command: str | None = None, resume: Run | None = None) -> CrossValidation:
    """k-fold cross-validation by episode over the whole data file, written as a run.

    scikit-learn's GroupKFold deals whole episodes into ``folds`` folds (default:
    ``evaluate.cross_validation``), so no episode is on both sides. Each fold fits the configured
    model on the other folds less a dev slice for model selection (whole episodes,
    ``split.dev_fraction`` of those statements, stratified by label, as the fixed split takes dev)
    and predicts the held-out fold. ``reports/cross_validation/`` holds ``folds``, ``mean_std``
    (sample std over folds) and every usual table and plot of the pooled out-of-fold predictions.
    Those cover each statement once, so ``stance report compare --split cross_validation`` pairs
    this run with a cross-validation of a baseline config on the same file.

    With ``evaluate.refit`` the run also saves a model fitted on every episode (:func:`refit_on_all`)
    as its ``model/``, and its manifest's ``refit`` says what that model saw; the figures stay the
    out-of-fold ones, which are the honest estimate for that model too (it saw a little more data).

    Each finished fold's predictions are kept in ``folds/`` until the run completes, so ``resume``
    (the same run, interrupted: ``stance train --resume RUN``) refits only the folds that had not
    finished, and ends with the same predictions and metrics as an uninterrupted run. A fold
    interrupted partway starts again (for the base-size encoder on two cores, a fold is under an hour
    of a four-hour run).
    """
    from sklearn.model_selection import GroupKFold

    k = folds or config.evaluate.cross_validation
    if k is None:
        raise ConfigError("cross-validation needs a number of folds", hint="set evaluate.cross_validation=5")
    config = apply_overrides(config, {"evaluate.cross_validation": k}, source="cross_validate")
    check_hardware(config)
    frame = load_statements(config.data.path, config.data.labels)
    group = config.split.group_by  # episode, unless the config groups by another column
    if group not in frame.columns:
        raise DataError(f"{config.data.path}: no {group!r} column to cross-validate by",
                        hint="set split.group_by to a column the file has (id: one statement at a time)")
    if k > frame[group].nunique():
        raise DataError(f"{config.data.path}: {k} folds need {k} episodes, found {frame[group].nunique()}",
                        hint="use fewer folds")
    labels, ev = config.data.labels, config.evaluate
    provenance = {"files_sha256": {str(path): file_sha256(path) for path in (config.data.path, *config.data.extra_train)}}
    if resume is not None:
        check_resumable(resume, config, provenance)
        reopen_run(resume, command)
        run = resume
    else:
        run = new_run(config, command=command)
        run.update_manifest(kind=CROSS_VALIDATION, seed=config.train.seed, data=provenance)
    with recording(run):
        proba, rows, episodes = np.zeros((len(frame), len(labels))), [], {}
        uncalibrated, scaled = np.zeros_like(proba), False  # before temperature scaling; whether any fold scaled
        for fold, (rest, held) in enumerate(GroupKFold(n_splits=k).split(frame, groups=frame[group]), start=1):
            parts = {**_hold_out_dev(frame.iloc[rest].reset_index(drop=True), config),
                     "test": frame.iloc[held].reset_index(drop=True)}
            parts["train"] = train_statements(config, parts["train"], pd.concat([parts["dev"], parts["test"]]))
            done = _finished_fold(run, fold, parts["test"]["id"]) if resume is not None else None
            if done is None:
                classifier, _ = fit(config, parts)
                calibrate(classifier, parts["dev"], config)  # on the fold's own dev slice, as a run would
                fold_proba = classifier.predict_proba(TextInputs.from_frame(parts["test"], config.input.mode))
                done = (fold_proba, float(classifier.temperature))
                _save_fold(run, fold, parts["test"]["id"], *done)
            proba[held], temperature = done
            uncalibrated[held] = temper(proba[held], 1 / temperature)
            scaled = scaled or temperature != 1.0
            metrics = evaluate_predictions(parts["test"], proba[held], labels, name=f"fold {fold}", bootstrap=0).metrics
            episodes[fold] = sorted(parts["test"][group].astype(str).unique())
            rows.append({"fold": fold, "episodes": len(episodes[fold]), **{n: len(p) for n, p in parts.items()},
                         **{m: v for m, v in metrics.items() if m != "n"}})
        fold_table = pd.DataFrame(rows)
        metric_columns = [c for c in fold_table.columns if c not in ("fold", "episodes", "train", "dev", "test")]
        aggregate = fold_table[metric_columns].agg(["mean", "std", "min", "max"]).T.rename_axis("metric").reset_index()
        evaluation = evaluate_predictions(frame, proba, labels, name=CROSS_VALIDATION, bootstrap=ev.bootstrap,
                                          confidence=ev.confidence, cluster_by=ev.cluster_by, breakdowns=ev.breakdowns,
                                          official=ev.metrics, uncalibrated=uncalibrated if scaled else None)
        evaluation.tables = {"folds": fold_table, "mean_std": aggregate, **evaluation.tables}
        by_metric = aggregate.set_index("metric")
        evaluation.metrics.update({f"{m}_fold_{stat}": float(by_metric.loc[m, stat])
                                   for m in ("accuracy", "macro_f1") for stat in ("mean", "std")})
        save_evaluation(run, evaluation)
        run.update_manifest(folds={str(fold): names for fold, names in episodes.items()})
        if config.evaluate.refit:
            classifier, parts = refit_on_all(config, frame)
            classifier.save(run.model_dir)
            run.update_manifest(refit={
                "model": "fitted on every episode less a dev slice, as each fold; the reports are out-of-fold",
                **{name: len(part) for name, part in parts.items()},
                "dev_episodes": sorted(parts["dev"][group].astype(str).unique()),
                "temperature": float(classifier.temperature)})
            if config.evaluate.government_step:
                _fit_government_step(run, frame, proba[:, labels.index("answer")], k)
        shutil.rmtree(run.path / FOLDS_DIR, ignore_errors=True)
    return CrossValidation(conclude_run(run), fold_table, aggregate, evaluation)


def _fit_government_step(run: Run, frame: pd.DataFrame, p_answer: np.ndarray, folds: int) -> None:
    """Fit the articles' government step on the pooled out-of-fold answer probabilities, save it
    beside the model and report it (its own figures cross-validated by episode)."""
    from stance.articles.governments import GOVERNMENT_FILE, fit_government_step, government_step_report

    records = frame.assign(p_answer=p_answer.round(4))
    step = fit_government_step(records)
    step.save(run.model_dir / GOVERNMENT_FILE)
    table = government_step_report(records, folds)
    table.to_csv(run.reports_dir(CROSS_VALIDATION) / "governments.csv", index=False)
    run.update_manifest(government_step={"threshold": step.threshold,
                                         **dict(zip(step.features, step.coef, strict=True))})


def refit_on_all(config: ExperimentConfig, frame: pd.DataFrame) -> tuple[Classifier, dict[str, pd.DataFrame]]:
    """The configured model fitted as a fold is, on every episode of ``frame``: the dev slice
    (``split.dev_fraction`` of the episodes) selects and calibrates it, the rest (and any
    ``data.extra_train``) trains it. Returns the model and the parts it saw (``train``, ``dev``)."""
    parts = _hold_out_dev(frame.reset_index(drop=True), config)
    parts["train"] = train_statements(config, parts["train"], parts["dev"])
    classifier, _ = fit(config, parts)
    calibrate(classifier, parts["dev"], config)
    return classifier, parts


def _save_fold(run: Run, fold: int, ids: pd.Series, proba: np.ndarray, temperature: float) -> None:
    """Keep a finished fold's held-out predictions (probabilities after scaling, and the
    temperature) for a resume; the ids it held out make sure it is the same fold."""
    folder = run.path / FOLDS_DIR
    folder.mkdir(exist_ok=True)
    write_npz(folder / f"fold-{fold}.npz", proba=proba, temperature=np.array(temperature))
    write_json(folder / f"fold-{fold}.json", {"fold": fold, "ids": ids.astype(str).tolist()})


def _finished_fold(run: Run, fold: int, ids: pd.Series) -> tuple[np.ndarray, float] | None:
    """The saved predictions of ``fold`` when the interrupted run finished it on the same
    statements; None when it has to be fitted (not finished, or a half-written file)."""
    folder = run.path / FOLDS_DIR
    try:
        saved = json.loads((folder / f"fold-{fold}.json").read_text(encoding="utf-8"))
        with np.load(folder / f"fold-{fold}.npz", allow_pickle=False) as arrays:
            proba, temperature = arrays["proba"], float(arrays["temperature"])
    except (OSError, ValueError, KeyError):
        return None
    if saved.get("ids") != ids.astype(str).tolist() or len(proba) != len(ids):
        return None
    return proba, temperature


def _hold_out_dev(train: pd.DataFrame, config: ExperimentConfig) -> dict[str, pd.DataFrame]:
    is_dev = np.zeros(len(train), dtype=bool)
    is_dev[hold_out_episodes(train, config.split.dev_fraction, config.split.seed, column=config.split.group_by)] = True
    return {"train": train[~is_dev].reset_index(drop=True), "dev": train[is_dev].reset_index(drop=True)}
