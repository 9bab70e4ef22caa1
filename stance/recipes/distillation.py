"""``stance distill``: train a student model on a teacher run's class probabilities."""

from __future__ import annotations

from pathlib import Path

from stance.config import ExperimentConfig, validate_config
from stance.errors import ConfigError
from stance.evaluate import Evaluation
from stance.models import build_classifier
from stance.recipes.experiment import run_experiment
from stance.runs import Run, open_run


def distill(teacher: str | Path, config: ExperimentConfig, *, unlabelled: str | Path | None = None,
            command: str | None = None, progress: bool = False) -> tuple[Run, Evaluation | None]:
    """Train ``config``'s model as a student of the finished run ``teacher``, as one ordinary run.

    ``config.distill`` gets the teacher (and ``unlabelled``, statements the teacher labels for the
    student to fit too); its other fields (``temperature``, ``hard_weight``) stay as the config sets
    them. The student is trained, calibrated and evaluated as ``stance run`` would do (held-out
    split, baselines beside it), into a run named ``<name>-distilled`` whose resolved config names
    the teacher and whose manifest records it (``teacher``: run, model file hashes, how many
    statements it labelled). ``stance reproduce`` reruns it from that config, so it needs the
    teacher run where the config says it is.
    """
    section = config.distill.model_dump(mode="json") if config.distill is not None else {}
    section["teacher"] = str(teacher)
    if unlabelled is not None:
        section["unlabelled"] = str(unlabelled)
    config = validate_config({**config.dump(), "name": f"{config.name}-distilled", "distill": section},
                             source="stance distill")
    open_run(config.distill.teacher)  # a missing or unfinished teacher fails before a run folder is made
    student = build_classifier(config)
    if not student.distillable:
        raise ConfigError(f"model.type {config.model.type!r} cannot be trained on a teacher's probabilities",
                          hint="distil into model.type: transformer")
    return run_experiment(config, command=command, progress=progress)
