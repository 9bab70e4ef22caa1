"""``stance evaluate``: score a finished run on a labelled file or one of its splits."""

from __future__ import annotations

from pathlib import Path

from stance.data import PREDICT_FIELDS, file_sha256, read_table, validate_statements
from stance.errors import DataError, StanceError
from stance.evaluate import Evaluation, check_label_set
from stance.labels import canonical_labels
from stance.models import load_classifier
from stance.recipes.steps import evaluate_classifier, resolve_split, save_evaluation
from stance.runs import Run
from stance.splits import SPLITS, split_frames


def evaluate_run(run: Run, data: str | Path | None = None, split: str | None = None) -> Evaluation:
    """Evaluate a finished run on a labelled file (default: the run's own data) or one of its splits;
    the manifest records the file (``evaluations``), so that a reproduction evaluates its rerun on it too."""
    config = run.config()
    path = Path(data) if data else config.data.path
    if split and split not in SPLITS:
        raise DataError(f"unknown split {split!r}", hint=f"use one of {', '.join(SPLITS)}")
    # read_table + validate_statements keep the file's line numbers (``_line``) for the label check.
    frame = validate_statements(read_table(path), path, labels=None, required=PREDICT_FIELDS)
    if "label" not in frame.columns:
        raise DataError(f"{path}: no 'label' column to evaluate against", hint="use `stance predict` for unlabelled data")
    classifier = load_classifier(run.model_dir)
    # The model's labels match case-insensitively (a file's `against` is the model's `AGAINST`).
    frame["label"] = canonical_labels(frame["label"].tolist(), classifier.labels)
    frame = validate_statements(frame, path, labels=sorted(set(frame["label"])))
    check_label_set(frame, classifier.labels, source=str(path))
    frame = frame.drop(columns="_line").reset_index(drop=True)
    name = Path(path).stem
    if split:
        frame = split_frames(frame, resolve_split(config, frame), str(path))[split]
        name = f"{name}-{split}"
        if frame.empty:
            raise StanceError(f"{path}: split {split!r} is empty")
    evaluation = evaluate_classifier(classifier, frame, config, name)
    save_evaluation(run, evaluation)
    # What `stance reproduce` needs to evaluate a rerun the same way.
    recorded = run.manifest().get("evaluations", {})
    recorded[name] = {"data": str(path), "sha256": file_sha256(path), **({"split": split} if split else {})}
    run.update_manifest(evaluations=recorded)
    return evaluation
