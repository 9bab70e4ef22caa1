"""Recipes: the jobs the CLI starts, each one function with one job, made of the steps in
:mod:`stance.recipes.steps` (load → split → fit → evaluate → save).

======================  ===================================================================
:func:`train`           fit into a new run folder, evaluate on dev (``stance train``)
:func:`run_experiment`  train, evaluate on the held-out split beside the baselines (``stance run``)
:func:`evaluate_run`    score a finished run on a labelled file or split (``stance evaluate``)
:func:`cross_validate`  k-fold cross-validation by episode, as one run
:func:`run_many`        one run per sweep point and seed, then an aggregated report
:func:`reproduce_run`   rerun a finished run and compare every metric (``stance reproduce``)
:func:`calibrate_run`   temperature-scale a finished run from its dev predictions (``stance calibrate``)
:func:`distill`         train a student on a teacher run's probabilities (``stance distill``)
:func:`resume_run`      continue an interrupted run from its last checkpoint
======================  ===================================================================

A run's kind (``train``, ``run``, ``cross_validation``) chooses its recipe through one map,
:data:`stance.recipes.kinds.RECIPES`. Only the CLI imports this package; the library below it
never does. Usable from a notebook too::

    from stance import load_config, run_experiment
    run, evaluation = run_experiment(load_config("configs/default.yaml"))
    evaluation.tables["per_class"]
"""

from stance.recipes.calibration import Calibration, calibrate_run
from stance.recipes.cross_validation import CROSS_VALIDATION, CrossValidation, cross_validate
from stance.recipes.distillation import distill
from stance.recipes.evaluation import evaluate_run
from stance.recipes.kinds import RECIPES, resume_run
from stance.recipes.reproduction import Reproduction, reproduce_run
from stance.recipes.experiment import compare_with_baselines, run_experiment, usable_baselines
from stance.recipes.steps import data_provenance, evaluate_classifier, fit, load_data, resolve_split, save_evaluation
from stance.recipes.sweep import aggregate_runs, run_many
from stance.recipes.training import train

__all__ = [
    "CROSS_VALIDATION", "RECIPES", "Calibration", "CrossValidation", "Reproduction", "aggregate_runs",
    "calibrate_run", "compare_with_baselines", "cross_validate", "data_provenance", "distill", "evaluate_classifier",
    "evaluate_run", "fit", "load_data", "reproduce_run", "resolve_split", "resume_run", "run_experiment", "run_many",
    "save_evaluation", "train", "usable_baselines",
]
