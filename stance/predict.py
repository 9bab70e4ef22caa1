"""Prediction with a trained run: texts or whole files in, labels and probabilities out.

How the model runs comes from the run config's ``predict`` section (precision, batch size, token
budget, threads, device; see :class:`stance.config.PredictConfig`), and any of it can be
overridden per call (``stance predict --precision int8``). Files are streamed by
:func:`stream_predictions`: ``chunk_size`` rows are read, predicted and appended to a temporary
file at a time, and the file is renamed into place at the end, so memory stays flat however long
the input. Started by ``torchrun --nproc_per_node N``, each process predicts its contiguous shard
of the rows and rank 0 merges the parts in input order (:mod:`stance.distributed`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stance import distributed
from stance.data import PREDICT_FIELDS, count_rows, file_format, load_statements, read_table_chunks, validate_statements
from stance.errors import DataError, StanceError
from stance.io import (
    ChunkWriter,
    atomic_path,
    check_output,
    join_parts,
    remove,
    temporary_path,
    with_predictions,
    write_frame,
)
from stance.models import Classifier, TextInputs, load_classifier
from stance.runs import open_run

__all__ = ["SETTINGS", "PredictionSummary", "load_predictor", "predict_file", "predict_frame", "predict_texts",
           "stream_predictions"]

#: Keyword arguments that override the run's ``predict`` config section.
SETTINGS = ("precision", "batch_size", "max_tokens", "threads", "device", "compile")


@dataclass
class PredictionSummary:
    """What :func:`stream_predictions` did."""

    rows: int
    output: Path
    seconds: float
    precision: str
    device: str
    processes: int = 1

    @property
    def rate(self) -> float:
        """Statements per second, model loading and file reading and writing included."""
        return self.rows / self.seconds if self.seconds > 0 else float("nan")


def load_predictor(run_path: str | Path, **settings: Any) -> tuple[Classifier, str]:
    """The run's classifier, ready to predict, and the input mode it was trained with.

    ``settings`` (precision, batch_size, max_tokens, threads, device, compile) override the run config's
    ``predict`` section; ``None`` keeps the config's value. A precision the hardware does not run
    well falls back to fp32 with a :class:`~stance.models.inference.PrecisionWarning`.
    """
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise TypeError(f"unknown prediction setting(s): {', '.join(sorted(unknown))}")
    run = open_run(run_path)
    config = run.config()
    chosen = {**config.predict.model_dump(include=set(SETTINGS)),
              **{k: v for k, v in settings.items() if v is not None}}
    if chosen["threads"]:
        import torch

        torch.set_num_threads(chosen["threads"])
    if chosen["device"] == "auto" and distributed.is_distributed():
        chosen["device"] = str(distributed.device())
    classifier = load_classifier(run.model_dir)
    classifier.prepare_inference(chosen["precision"], device=chosen["device"], batch_size=chosen["batch_size"],
                                 max_tokens=chosen["max_tokens"], compile=chosen["compile"])
    return classifier, config.input.mode


def predict_frame(classifier: Classifier, frame: pd.DataFrame, mode: str = "text") -> pd.DataFrame:
    """``frame`` with ``prediction`` and one ``p_<label>`` column per label appended (:mod:`stance.io`'s schema).

    Every input column is kept as it is, a gold ``label`` column included.
    """
    if mode == "request_text" and "request" not in frame.columns:
        raise DataError("this run reads the request with the statement: the input needs a 'request' column")
    proba = classifier.predict_proba(TextInputs.from_frame(frame, mode))
    return with_predictions(frame, proba, classifier.labels)


def predict_texts(run_path: str | Path, texts: Sequence[str], requests: Sequence[str] | None = None,
                  **settings: Any) -> pd.DataFrame:
    """Predict a few statements given as strings (``settings`` as for :func:`load_predictor`)."""
    classifier, mode = load_predictor(run_path, **settings)
    frame = pd.DataFrame({"text": list(texts)})
    if requests is not None:
        frame["request"] = list(requests)
    elif mode == "request_text":
        raise StanceError("this run reads the request with the statement", hint="pass --request")
    return predict_frame(classifier, frame, mode)


def predict_file(run_path: str | Path, input_path: str | Path, output_path: str | Path | None = None,
                 *, force: bool = False, **settings: Any) -> pd.DataFrame:
    """Predict every row of a CSV/JSONL/Parquet file; write the result if ``output_path`` is given.

    The whole file and its predictions are held in memory; :func:`stream_predictions` writes the
    same output in chunks, for files of any size.
    """
    if output_path is not None:
        check_output(output_path, force)
    classifier, mode = load_predictor(run_path, **settings)
    frame = load_statements(input_path, labels=None)
    result = predict_frame(classifier, frame, mode)
    if output_path is not None:
        write_frame(result, output_path)
    return result


# ----------------------------------------------------------------------------------------------
# Streaming, and sharding across processes


def stream_predictions(run_path: str | Path, input_path: str | Path, output_path: str | Path, *,
                       force: bool = False, chunk_size: int | None = None, **settings: Any) -> PredictionSummary:
    """Predict every row of a CSV/JSONL/Parquet file into ``output_path``, ``chunk_size`` rows at a time.

    The output is what :func:`predict_file` writes (every input column kept, then ``prediction``
    and the ``p_<label>`` columns), built in a temporary file beside it and renamed into place at
    the end, so an interrupted run leaves no half-written output. ``chunk_size`` (default: the
    run's ``predict.chunk_size``) bounds memory. Ids must be unique across the whole file, as for
    :func:`predict_file`; a duplicate in another chunk is reported once every row is read.

    Under ``torchrun`` or ``accelerate launch`` every process calls this with the same arguments:
    each predicts its contiguous shard of the rows (:func:`stance.distributed.shard_bounds`) into a
    part file, and rank 0 joins the parts in rank order, so the output's rows are in input order.
    Every process returns the same summary, or raises the same error.
    """
    started = time.perf_counter()
    input_path, output_path = Path(input_path), Path(output_path)
    check_output(output_path, force)
    ranks, rank = distributed.world_size(), distributed.rank()
    if ranks > 1:
        distributed.init()
    tmp = temporary_path(output_path)
    part = output_path.with_name(f"{output_path.name}.part{rank}.tmp") if ranks > 1 else tmp
    outcome: dict[str, Any] = {}
    try:
        classifier, mode = load_predictor(run_path, **settings)
        size = chunk_size or open_run(run_path).config().predict.chunk_size
        start, stop = distributed.shard_bounds(count_rows(input_path)) if ranks > 1 else (0, None)
        seen = _SeenIds()
        with ChunkWriter(part, file_format(output_path), header=rank == 0) as writer:
            for chunk in read_table_chunks(input_path, size, start=start, stop=stop):
                chunk = validate_statements(chunk, input_path, labels=None, required=PREDICT_FIELDS)
                seen.add(chunk)
                writer.write(predict_frame(classifier, chunk.drop(columns="_line").reset_index(drop=True), mode))
        outcome = {"rows": writer.rows, "ids": seen.arrays(), "precision": classifier.precision,
                   "device": classifier.inference_device()}
    except StanceError as err:
        outcome = {"error": err}
    except BaseException:
        remove(part)
        raise
    results = distributed.all_gather(outcome)  # also waits until every shard is written
    final: dict[str, Any] = {}
    if rank == 0:
        final = _finish(results, input_path, output_path, tmp, ranks)
    final = distributed.broadcast(final)
    if "error" in final:
        remove(part)
        raise final["error"]
    return PredictionSummary(final["rows"], output_path, time.perf_counter() - started, final["precision"],
                             final["device"], ranks)


def _finish(results: list[dict[str, Any]], input_path: Path, output_path: Path, tmp: Path, ranks: int) -> dict:
    """Rank 0: check ids across shards, join the parts, rename; the outcome every rank reports."""
    parts = [output_path.with_name(f"{output_path.name}.part{r}.tmp") for r in range(ranks)] if ranks > 1 else [tmp]
    try:
        errors = [r["error"] for r in results if "error" in r]
        if errors:
            raise errors[0]
        rows = sum(r["rows"] for r in results)
        if rows == 0:
            raise DataError(f"{input_path}: no statements", hint="the file has a header but no rows")
        _check_unique_ids(input_path, [r["ids"] for r in results])
        with atomic_path(output_path) as whole:  # ``tmp``: the one part, or every part joined into it
            if ranks > 1:
                join_parts(parts, whole, file_format(output_path))
    except StanceError as err:
        return {"error": err}
    finally:
        for path in {*parts, tmp}:
            remove(path)
    return {"rows": rows, "precision": results[0]["precision"], "device": results[0]["device"]}


class _SeenIds:
    """64-bit hashes of the ids seen so far, with their lines: 16 bytes per row, to find duplicates
    across chunks (each chunk's own are found by :func:`validate_statements`, with the ids)."""

    def __init__(self) -> None:
        self._hashes: list[np.ndarray] = []
        self._lines: list[np.ndarray] = []

    def add(self, chunk: pd.DataFrame) -> None:
        if "id" in chunk.columns:
            self._hashes.append(pd.util.hash_pandas_object(chunk["id"].astype(str), index=False).to_numpy())
            self._lines.append(chunk["_line"].to_numpy(dtype=np.int64))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if not self._hashes:
            return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
        return np.concatenate(self._hashes), np.concatenate(self._lines)


def _check_unique_ids(path: Path, shards: list[tuple[np.ndarray, np.ndarray]]) -> None:
    hashes = np.concatenate([h for h, _ in shards])
    lines = np.concatenate([lines for _, lines in shards])
    if len(hashes) == 0:
        return
    values, inverse, counts = np.unique(hashes, return_inverse=True, return_counts=True)
    repeated = counts[inverse] > 1
    if repeated.any():
        shown = sorted(lines[repeated].tolist())
        more = f" and {len(shown) - 5} more" if len(shown) > 5 else ""
        raise DataError(f"{path}: duplicate id(s) on line(s) {', '.join(map(str, shown[:5]))}{more}",
                        hint="give every row its own id")
