"""The steps every recipe is made of: load → split → fit → calibrate → evaluate → save.

Each is a plain function of the config (and what the step before returned), as usable from a
notebook as from a recipe.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from stance.config import ExperimentConfig
from stance.data import file_sha256, is_dataset_dict, load_statements
from stance.errors import ConfigError, DataError, RunError
from stance.evaluate import Evaluation, check_label_set, evaluate_predictions
from stance.hf_dataset import dataset_split
from stance.io import PROBABILITY_DECIMALS
from stance.labels import label_maps
from stance.model_card import write_model_card
from stance.models import Classifier, TextInputs, build_classifier, load_classifier
from stance.models.calibration import fit_temperature, temper
from stance.models.distillation import TeacherTargets
from stance.models.inference import check_training_precision
from stance.pages import write_evaluation_page
from stance.report import write_tables
from stance.runs import Run, finish_run, open_run
from stance.seed import set_seed
from stance.splits import Split, load_split, make_split, split_frames
from stance.tracking import track_run


def check_hardware(config: ExperimentConfig) -> None:
    """Stop before any run folder exists when this machine cannot train as the config says
    (``train.precision: bf16`` without native bf16)."""
    check_training_precision(config.train.precision)


def load_data(config: ExperimentConfig) -> tuple[pd.DataFrame, Split]:
    """The validated statements and their episode split (from the split file, or made from the seed)."""
    frame = load_statements(config.data.path, config.data.labels)
    if config.input.mode == "request_text" and "request" not in frame.columns:
        raise DataError(f"{config.data.path}: input.mode request_text needs a 'request' column",
                        hint="add the column or set input.mode: text")
    return frame, resolve_split(config, frame)


def resolve_split(config: ExperimentConfig, frame: pd.DataFrame) -> Split:
    """The config's split file, or (``data.splits: null``) a split made from ``split.seed``; for a
    Hugging Face dataset folder, its own splits (``data.splits`` is not read)."""
    if is_dataset_dict(config.data.path):
        return dataset_split(config.data.path)
    if config.data.splits is not None:
        return load_split(config.data.splits)
    return make_split(frame, seed=config.split.seed, dev_fraction=config.split.dev_fraction,
                      test_fraction=config.split.test_fraction, group_by=config.split.group_by)


def training_parts(config: ExperimentConfig, frame: pd.DataFrame, split: Split) -> dict[str, pd.DataFrame]:
    """The statements of each split, train as the model sees it (:func:`train_statements`)."""
    parts = split_frames(frame, split, str(config.data.path))
    parts["train"] = train_statements(config, parts["train"], held_out=pd.concat([parts["dev"], parts["test"]]))
    return parts


def train_statements(config: ExperimentConfig, train: pd.DataFrame, held_out: pd.DataFrame) -> pd.DataFrame:
    """The train split as the model sees it: the files of ``data.extra_train`` added (checked
    against ``held_out``), then the ``data.negated_requests`` contrast copies."""
    train = with_extra_train(config, train, held_out)
    return with_negated_requests(train, config.data.negated_requests, labels=config.data.labels, seed=config.train.seed)


def with_extra_train(config: ExperimentConfig, train: pd.DataFrame, held_out: pd.DataFrame) -> pd.DataFrame:
    """``train`` and the statements of every ``data.extra_train`` file, checked against ``held_out``
    (the dev and test statements): no episode (``split.group_by``) and no id of an extra file may
    be among them, or the extra statements would leak what the model is selected or scored on."""
    if not config.data.extra_train:
        return train
    group = config.split.group_by
    frames = [train]
    for path in config.data.extra_train:
        extra = load_statements(path, config.data.labels)
        if config.input.mode == "request_text" and "request" not in extra.columns:
            raise DataError(f"{path}: input.mode request_text needs a 'request' column",
                            hint="add the column or set input.mode: text")
        if group in extra.columns and group in held_out.columns:
            shared = sorted(set(extra[group].astype(str)) & set(held_out[group].astype(str)))
            if shared:
                raise DataError(f"{path}: {group} {shared[0]!r} is also in dev or test"
                                f"{f' (and {len(shared) - 1} more)' if len(shared) > 1 else ''}",
                                hint="data.extra_train adds to train only: leave out the statements of episodes "
                                     "that dev or test hold")
        seen = set(pd.concat(frames)["id"].astype(str)) | set(held_out["id"].astype(str))
        repeated = sorted(set(extra["id"].astype(str)) & seen)
        if repeated:
            raise DataError(f"{path}: id {repeated[0]!r} is already in {config.data.path} or an earlier extra file",
                            hint="give the extra statements their own ids")
        frames.append(extra)
    return pd.concat(frames, ignore_index=True)


def negate_request(request: str) -> str:
    """The opposite request: ``send troops`` → ``not send troops``, ``not recognise the republic`` →
    ``recognise the republic``."""
    request = request.strip()
    stripped = re.sub(r"^(?:not|never)\s+(?:to\s+)?", "", request, flags=re.I)
    return stripped if stripped != request else f"not {request}"


def with_negated_requests(train: pd.DataFrame, share: float, *, labels: Sequence[str], seed: int) -> pd.DataFrame:
    """``train`` and, for a ``share`` of its statements drawn with ``seed``, a copy asked the opposite
    (:func:`negate_request`) with comply and decline swapped: a government that voted no complies
    with a request to vote against. The copies get ids ending ``~neg`` and keep their episode, so
    they never leave the train split's episodes."""
    if not share:
        return train
    asked = train[train["request"].fillna("").astype(str).str.strip() != ""]  # no request, nothing to negate
    copies = asked.sample(frac=share, random_state=seed).copy()
    named = {label.lower(): label for label in labels}
    swap = {named["comply"]: named["decline"], named["decline"]: named["comply"]}
    copies["label"] = copies["label"].map(lambda label: swap.get(label, label))
    copies["request"] = copies["request"].astype(str).map(negate_request)
    copies["id"] = copies["id"].astype(str) + "~neg"
    if "request_direction" in copies.columns:
        copies["request_direction"] = copies["request_direction"].map({"act": "refrain", "refrain": "act"})
    return pd.concat([train, copies], ignore_index=True)


def data_provenance(config: ExperimentConfig, frame: pd.DataFrame, split: Split) -> dict:
    """Hashes a reviewer needs to know the run saw the same data and the same split."""
    files = {str(config.data.path): file_sha256(config.data.path)}
    files.update({str(path): file_sha256(path) for path in config.data.extra_train})
    if config.data.splits is not None and not is_dataset_dict(config.data.path):
        files[str(config.data.splits)] = file_sha256(config.data.splits)
    if config.distill is not None and config.distill.unlabelled is not None:
        files[str(config.distill.unlabelled)] = file_sha256(config.distill.unlabelled)
    sizes = split.assign(frame).value_counts().to_dict()
    return {"files_sha256": files, "split_membership_sha256": split.membership_sha256(frame), "split_sizes": sizes}


def check_resumable(run: Run, config: ExperimentConfig, provenance: dict) -> None:
    """Refuse to resume ``run`` when it is complete, or its config or data changed since it started."""
    if run.complete:
        raise RunError(f"{run.path} is complete: there is nothing to resume", hint="start a new run with `stance train CONFIG`")
    if run.config().dump() != config.dump():
        raise RunError(f"{run.path} was started with a different config",
                       hint="resume it with its own: `stance train --resume RUN`")
    started = run.manifest().get("data")
    if started and started != provenance:
        changed = [path for path, digest in provenance["files_sha256"].items()
                   if started.get("files_sha256", {}).get(path) != digest] or ["the split"]
        raise RunError(f"{run.path}: {', '.join(changed)} changed since the run started, so it cannot be resumed",
                       hint="restore the data or start a new run")


def fit(config: ExperimentConfig, parts: dict[str, pd.DataFrame], run: Run | None = None,
        *, progress: bool = False, resume_from: Path | None = None) -> tuple[Classifier, list[dict]]:
    """Build the configured classifier and fit it on train, selecting on dev.

    With ``run``, a model that checkpoints does so into the run's folder (and resumes from
    ``resume_from``); ``progress`` shows a model's training progress where it has any.
    """
    set_seed(config.train.seed)
    if config.train.threads:
        import torch

        torch.set_num_threads(config.train.threads)
    classifier = build_classifier(config)
    classifier.show_progress(progress)
    if run is not None:
        classifier.keep_checkpoints(run.checkpoint_dir, resume_from)
    mode, labels = config.input.mode, config.data.labels
    missing = sorted(set(labels) - set(parts["train"]["label"]))
    if missing:
        raise DataError(f"the train split has no {', '.join(missing)} statements", hint="remake the split")
    train_x, train_y = TextInputs.from_frame(parts["train"], mode), parts["train"]["label"].tolist()
    dev = (TextInputs.from_frame(parts["dev"], mode), parts["dev"]["label"].tolist()) if len(parts["dev"]) else (None, None)
    if config.distill is not None and classifier.distillable:  # baselines beside a student train as usual
        train_x, train_y, teacher, provenance = teacher_targets(config, parts["train"])
        if run is not None:
            run.update_manifest(teacher=provenance)
        return classifier, classifier.fit(train_x, train_y, *dev, seed=config.train.seed, teacher=teacher)
    history = classifier.fit(train_x, train_y, *dev, seed=config.train.seed)
    return classifier, history


def teacher_targets(config: ExperimentConfig, train: pd.DataFrame) -> tuple[TextInputs, list[str | None],
                                                                             TeacherTargets, dict]:
    """What a distillation student fits (``config.distill``): the train split and the unlabelled
    statements as the student reads them, their gold labels (``None`` for the unlabelled), the
    teacher's probabilities for each, and the teacher's provenance for the student's manifest."""
    distill = config.distill
    try:
        teacher_run = open_run(distill.teacher)
    except RunError as err:
        raise RunError(f"distill.teacher: {err}", hint="a distilled run needs its teacher run to train, resume or "
                       "reproduce; restore it or point distill.teacher at it") from None
    teacher = load_classifier(teacher_run.model_dir)
    if teacher.labels != list(config.data.labels):
        raise ConfigError(f"distill.teacher: the teacher's labels ({', '.join(teacher.labels)}) are not the "
                          f"config's data.labels ({', '.join(config.data.labels)})", hint="distil with the same label set")
    frames = [train]
    if distill.unlabelled is not None:
        frames.append(load_statements(distill.unlabelled, labels=None))
    teacher_mode = teacher_run.config().input.mode
    proba = np.concatenate([teacher.predict_proba(TextInputs.from_frame(f, teacher_mode)) for f in frames])
    student = [TextInputs.from_frame(f, config.input.mode) for f in frames]
    inputs = TextInputs([t for x in student for t in x.texts],
                        None if student[0].requests is None else [r for x in student for r in x.requests])
    gold = train["label"].tolist() + [None] * (len(inputs) - len(train))
    provenance = {"run": str(distill.teacher), "run_id": teacher_run.id, "model": teacher.kind,
                  "temperature": teacher.temperature, "statements": len(train),
                  "unlabelled": len(inputs) - len(train)}
    if distill.unlabelled is not None:
        provenance["unlabelled_sha256"] = file_sha256(distill.unlabelled)
    files = sorted(p for p in teacher_run.model_dir.rglob("*") if p.is_file() and p.suffix in (".json", ".safetensors", ".npz"))
    provenance["model_sha256"] = {str(p.relative_to(teacher_run.model_dir)): file_sha256(p) for p in files}
    return inputs, gold, TeacherTargets(proba, distill.temperature, distill.hard_weight), provenance


def calibrate(classifier: Classifier, dev: pd.DataFrame, config: ExperimentConfig) -> float | None:
    """Fit ``classifier``'s temperature on ``dev`` (temperature scaling) when the config asks for it
    and the model has logits to scale; returns the temperature, or ``None`` where none was fitted.

    The fit reads the dev probabilities rounded as ``reports/dev/predictions.csv`` saves them, so
    ``stance calibrate`` on a finished run's saved predictions finds the same temperature.
    """
    if not (config.evaluate.calibrate and classifier.calibratable) or dev.empty:
        return None
    classifier.temperature = 1.0
    proba = classifier.predict_proba(TextInputs.from_frame(dev, config.input.mode)).round(PROBABILITY_DECIMALS)
    _, label2id = label_maps(classifier.labels)
    classifier.temperature = fit_temperature(proba, [label2id[label] for label in dev["label"]])
    return classifier.temperature


def evaluate_classifier(classifier: Classifier, frame: pd.DataFrame, config: ExperimentConfig, name: str) -> Evaluation:
    """Predict ``frame`` with ``classifier`` and evaluate it as the config says.

    Statements the model reads only in part (longer than its input length) are counted as the
    ``truncated`` metric, with a warning when there are any.
    """
    check_label_set(frame, classifier.labels, source=name)
    inputs = TextInputs.from_frame(frame, config.input.mode)
    proba = classifier.predict_proba(inputs)
    truncated = classifier.count_truncated(inputs)
    ev = config.evaluate
    scaled = classifier.temperature != 1.0
    evaluation = evaluate_predictions(frame, proba, classifier.labels, name=name, bootstrap=ev.bootstrap,
                                      confidence=ev.confidence, cluster_by=ev.cluster_by, breakdowns=ev.breakdowns,
                                      truncated=truncated, official=ev.metrics,
                                      # before scaling, recovered exactly from after it: no second forward pass
                                      uncalibrated=temper(proba, 1 / classifier.temperature) if scaled else None,
                                      temperature=classifier.temperature if scaled else None)
    if truncated:
        evaluation.warnings.append(
            f"{name}: {truncated} of {len(frame)} statement(s) are longer than {classifier.max_length} "
            "tokens and were truncated (raise input.max_length to let the model read them whole)"
        )
    return evaluation


def save_evaluation(run: Run, evaluation: Evaluation) -> None:
    """Write an evaluation's tables, plots and HTML page under ``reports/<name>/`` and its metrics
    into metrics.json."""
    folder = run.reports_dir(evaluation.name)
    write_tables(evaluation.tables, folder, title=f"{run.id}: {evaluation.name}")
    metrics = dict(evaluation.metrics)
    for interval in evaluation.intervals:
        metrics[f"{interval.metric}_ci_low"] = interval.low
        metrics[f"{interval.metric}_ci_high"] = interval.high
    run.record_metrics(evaluation.name, metrics)
    write_evaluation_page(run, evaluation, metrics, folder)


def conclude_run(run: Run) -> Run:
    """Finish ``run``: write its model card (``model/README.md``, where it saved a model), mark it
    complete, then send it to the tracker its config names (``tracking.backend``)."""
    if run.model_dir.is_dir():
        write_model_card(run)
    run = finish_run(run)
    track_run(run)
    return run
