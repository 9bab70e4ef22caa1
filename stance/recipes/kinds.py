"""Run kinds: the one map from a run's kind (its manifest's ``kind``) to the recipe that makes it.

Resuming an interrupted run and reproducing a finished one both start the recipe of the run's
kind through :data:`RECIPES`, so a kind has one meaning and one default everywhere.
"""

from __future__ import annotations

from collections.abc import Callable

from stance.config import ExperimentConfig
from stance.errors import RunError
from stance.evaluate import Evaluation
from stance.recipes.cross_validation import CROSS_VALIDATION, cross_validate
from stance.recipes.experiment import run_experiment
from stance.recipes.training import train
from stance.runs import Run

#: What a recipe started from a run kind returns: the run and its evaluations by name.
Outcome = tuple[Run, dict[str, Evaluation]]

#: The kind of a run whose manifest names none: ``stance run``, the one-command experiment.
DEFAULT_KIND = "run"


def _train(config: ExperimentConfig, *, command: str | None, progress: bool, resume: Run | None) -> Outcome:
    return train(config, command=command, progress=progress, resume=resume)


def _run(config: ExperimentConfig, *, command: str | None, progress: bool, resume: Run | None) -> Outcome:
    run, evaluation = run_experiment(config, command=command, progress=progress, resume=resume)
    return run, ({evaluation.name: evaluation} if evaluation is not None else {})  # None: not rank 0


def _cross_validate(config: ExperimentConfig, *, command: str | None, progress: bool, resume: Run | None) -> Outcome:
    result = cross_validate(config, command=command, resume=resume)
    return result.run, {result.evaluation.name: result.evaluation}


#: Run kind → the recipe that makes such a run, called as ``recipe(config, command=..., progress=...,
#: resume=...)``; ``resume`` (an incomplete run of that kind) continues it where the kind can.
RECIPES: dict[str, Callable[..., Outcome]] = {
    "train": _train,
    "run": _run,
    CROSS_VALIDATION: _cross_validate,
}


def run_kind(run: Run) -> str:
    """The kind ``run`` was made as (:data:`DEFAULT_KIND` when its manifest names none)."""
    kind = run.manifest().get("kind", DEFAULT_KIND)
    if kind not in RECIPES:
        raise RunError(f"{run.path} is a {kind} run, which stance cannot start again", hint="start it again")
    return kind


def start(kind: str, config: ExperimentConfig, *, command: str | None = None, progress: bool = False,
          resume: Run | None = None) -> Outcome:
    """Start (or, with ``resume``, continue) a run of ``kind`` from ``config``."""
    return RECIPES[kind](config, command=command, progress=progress, resume=resume)


def resume_run(run: Run, *, command: str | None = None, progress: bool = False) -> Outcome:
    """Continue an interrupted ``stance train`` or ``stance run`` from its last checkpoint, or a
    cross-validation from its last finished fold.

    The run keeps its folder, id and manifest (which records the resumption) and is renamed to its
    final name when it completes; the result is the same model and metrics as an uninterrupted run.
    Returns the run and its evaluations by split name.
    """
    if run.complete:
        raise RunError(f"{run.path} is complete: there is nothing to resume", hint="start a new run with `stance train CONFIG`")
    return start(run_kind(run), run.config(), command=command, progress=progress, resume=run)
