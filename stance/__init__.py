"""stance: classify how governments answer an ally's request (decline, consider, comply).

The public API, importable without the CLI::

    import stance
    config = stance.load_config("configs/default.yaml", ["train.epochs=2"])
    run, evaluation = stance.run_experiment(config)
    stance.predict_texts(run.path, ["Ottawa said its plans to withdraw the jets have not changed."],
                         requests=["more military contributions against ISIS"])

Names are imported lazily so that ``stance --help`` does not pay for torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = {
    "StanceError": "stance.errors",
    "ConfigError": "stance.errors",
    "DataError": "stance.errors",
    "DEFAULT_LABELS": "stance.labels",
    "set_seed": "stance.seed",
    "ExperimentConfig": "stance.config",
    "load_config": "stance.config",
    "load_statements": "stance.data",
    "corpus_stats": "stance.data",
    "make_split": "stance.splits",
    "load_split": "stance.splits",
    "check_leakage": "stance.splits",
    "TextInputs": "stance.models",
    "Classifier": "stance.models",
    "build_classifier": "stance.models",
    "load_classifier": "stance.models",
    "register_model": "stance.models",
    "Evaluation": "stance.evaluate",
    "evaluate_predictions": "stance.evaluate",
    "train": "stance.recipes",
    "run_experiment": "stance.recipes",
    "resume_run": "stance.recipes",
    "evaluate_run": "stance.recipes",
    "cross_validate": "stance.recipes",
    "run_many": "stance.recipes",
    "reproduce_run": "stance.recipes",
    "compare_runs": "stance.compare",
    "leaderboard": "stance.compare",
    "predict_texts": "stance.predict",
    "predict_file": "stance.predict",
    "stream_predictions": "stance.predict",
    "analyze_articles": "stance.articles",
    "evaluate_articles": "stance.articles",
    "open_run": "stance.runs",
    "list_runs": "stance.runs",
    "run_annotation": "stance.labelling",
    "read_annotations": "stance.labelling",
    "agreement_report": "stance.labelling",
    "adjudicate_files": "stance.labelling",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'stance' has no attribute {name!r}")
