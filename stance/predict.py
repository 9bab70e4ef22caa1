"""Prediction with a trained run: texts or whole files in, labels and probabilities out."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from stance.data import file_format, load_statements
from stance.errors import DataError, StanceError
from stance.models import Classifier, TextInputs, load_classifier
from stance.runs import open_run


def load_predictor(run_path: str | Path) -> tuple[Classifier, str]:
    """The run's classifier and the input mode it was trained with."""
    run = open_run(run_path)
    return load_classifier(run.model_dir), run.config().input.mode


def predict_frame(classifier: Classifier, frame: pd.DataFrame, mode: str = "text") -> pd.DataFrame:
    """``frame`` with ``prediction`` and one ``p_<label>`` column per label appended.

    Every input column is kept as it is, a gold ``label`` column included.
    """
    if mode == "request_text" and "request" not in frame.columns:
        raise DataError("this run reads the request with the statement: the input needs a 'request' column")
    proba = classifier.predict_proba(TextInputs.from_frame(frame, mode))
    out = frame.copy()
    out["prediction"] = [classifier.labels[i] for i in proba.argmax(axis=1)]
    for i, label in enumerate(classifier.labels):
        out[f"p_{label}"] = proba[:, i].round(6)
    return out


def predict_texts(run_path: str | Path, texts: Sequence[str], requests: Sequence[str] | None = None) -> pd.DataFrame:
    """Predict a few statements given as strings."""
    classifier, mode = load_predictor(run_path)
    frame = pd.DataFrame({"text": list(texts)})
    if requests is not None:
        frame["request"] = list(requests)
    elif mode == "request_text":
        raise StanceError("this run reads the request with the statement", hint="pass --request")
    return predict_frame(classifier, frame, mode)


def predict_file(run_path: str | Path, input_path: str | Path, output_path: str | Path | None = None,
                 *, force: bool = False) -> pd.DataFrame:
    """Predict every row of a CSV/JSONL/Parquet file; write the result if ``output_path`` is given."""
    if output_path is not None:
        check_output(output_path, force)
    classifier, mode = load_predictor(run_path)
    frame = load_statements(input_path, labels=None)
    result = predict_frame(classifier, frame, mode)
    if output_path is not None:
        write_frame(result, output_path)
    return result


def check_output(path: str | Path, force: bool) -> None:
    """Refuse to overwrite an existing file unless ``force``; check the format first."""
    file_format(Path(path))
    if Path(path).exists() and not force:
        raise StanceError(f"{path} already exists", hint="pass --force to overwrite it")


def write_frame(frame: pd.DataFrame, path: str | Path) -> None:
    """Write CSV, JSONL or Parquet (from the extension) through a temporary file and a rename."""
    path = Path(path)
    fmt = file_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if fmt == "csv":
        frame.to_csv(tmp, index=False)
    elif fmt == "jsonl":
        frame.to_json(tmp, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)
