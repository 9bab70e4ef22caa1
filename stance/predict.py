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

import json
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stance import distributed
from stance.config import PredictConfig
from stance.data import (PREDICT_FIELDS, count_rows, file_format, is_compressed, load_statements, read_table_chunks,
                         validate_statements)
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
    write_json,
)
from stance.models import Classifier, TextInputs, load_classifier
from stance.runs import open_run

__all__ = ["ENGINES", "SETTINGS", "PredictionSummary", "load_predictor", "predict_file", "predict_frame", "predict_texts",
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
    #: Chunks found complete in ``OUT.parts/`` and not predicted again (``resume``).
    resumed_chunks: int = 0

    @property
    def rate(self) -> float:
        """Statements per second, model loading and file reading and writing included."""
        return self.rows / self.seconds if self.seconds > 0 else float("nan")


def load_predictor(run_path: str | Path, engine: str = "torch", **settings: Any) -> tuple[Classifier, str]:
    """The run's classifier, ready to predict, and the input mode it was trained with.

    ``engine`` (:data:`ENGINES`): ``torch`` runs the run's model; ``onnxruntime`` its ONNX export
    (``stance export``; ``run_path`` may also be an export folder itself). ``settings`` (precision,
    batch_size, max_tokens, threads, device, compile) override the run config's ``predict`` section;
    ``None`` keeps the config's value. A precision the hardware does not run well falls back to
    fp32 with a :class:`~stance.models.inference.PrecisionWarning`.
    """
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise TypeError(f"unknown prediction setting(s): {', '.join(sorted(unknown))}")
    if engine not in ENGINES:
        raise StanceError(f"unknown engine {engine!r}", hint=f"use {', '.join(ENGINES)}")
    predict_config, mode = _run_settings(run_path, engine)
    chosen = {**predict_config.model_dump(include=set(SETTINGS)),
              **{k: v for k, v in settings.items() if v is not None}}
    classifier = ENGINES[engine](run_path, chosen)
    classifier.prepare_inference(chosen["precision"], device=chosen["device"], batch_size=chosen["batch_size"],
                                 max_tokens=chosen["max_tokens"], compile=chosen["compile"])
    return classifier, mode


def _run_settings(run_path: str | Path, engine: str) -> tuple[PredictConfig, str]:
    """The ``predict`` config section and input mode: the run's, or for an export folder given in
    place of a run, the defaults and the mode its card records."""
    if engine == "onnxruntime" and not (Path(run_path) / "manifest.json").is_file():
        from stance.serving import find_export

        _, card = find_export(run_path)
        return PredictConfig(), card.get("input_mode", "text")
    config = open_run(run_path).config()
    return config.predict, config.input.mode


def _torch_classifier(run_path: str | Path, chosen: dict[str, Any]) -> Classifier:
    if chosen["threads"]:
        import torch

        torch.set_num_threads(chosen["threads"])
    if chosen["device"] == "auto" and distributed.is_distributed():
        chosen["device"] = str(distributed.device())
    return load_classifier(open_run(run_path).model_dir)


def _onnxruntime_classifier(run_path: str | Path, chosen: dict[str, Any]) -> Classifier:
    from stance.models.onnx import OnnxClassifier
    from stance.serving import find_export

    folder, _ = find_export(run_path, chosen["precision"])
    return OnnxClassifier.load(folder, threads=chosen["threads"])


#: Prediction engines (``stance predict --engine``): a name maps to what loads the classifier.
ENGINES: dict[str, Callable[[str | Path, dict[str, Any]], Classifier]] = {
    "torch": _torch_classifier,
    "onnxruntime": _onnxruntime_classifier,
}


def predict_frame(classifier: Classifier, frame: pd.DataFrame, mode: str = "text") -> pd.DataFrame:
    """``frame`` with ``prediction`` and one ``p_<label>`` column per label appended (:mod:`stance.io`'s schema).

    Every input column is kept as it is, a gold ``label`` column included.
    """
    if mode == "request_text" and "request" not in frame.columns:
        raise DataError("this run reads the request with the statement: the input needs a 'request' column")
    proba = classifier.predict_proba(TextInputs.from_frame(frame, mode))
    return with_predictions(frame, proba, classifier.labels)


def predict_texts(run_path: str | Path, texts: Sequence[str], requests: Sequence[str] | None = None,
                  engine: str = "torch", **settings: Any) -> pd.DataFrame:
    """Predict a few statements given as strings (``engine`` and ``settings`` as for :func:`load_predictor`)."""
    classifier, mode = load_predictor(run_path, engine, **settings)
    frame = pd.DataFrame({"text": list(texts)})
    if requests is not None:
        frame["request"] = list(requests)
    elif mode == "request_text":
        raise StanceError("this run reads the request with the statement", hint="pass --request")
    return predict_frame(classifier, frame, mode)


def predict_file(run_path: str | Path, input_path: str | Path, output_path: str | Path | None = None,
                 *, force: bool = False, engine: str = "torch", **settings: Any) -> pd.DataFrame:
    """Predict every row of a CSV/JSONL/Parquet file; write the result if ``output_path`` is given.

    The whole file and its predictions are held in memory; :func:`stream_predictions` writes the
    same output in chunks, for files of any size.
    """
    if output_path is not None:
        check_output(output_path, force)
    classifier, mode = load_predictor(run_path, engine, **settings)
    frame = load_statements(input_path, labels=None)
    result = predict_frame(classifier, frame, mode)
    if output_path is not None:
        write_frame(result, output_path)
    return result


# ----------------------------------------------------------------------------------------------
# Streaming, and sharding across processes


def stream_predictions(run_path: str | Path, input_path: str | Path, output_path: str | Path, *,
                       force: bool = False, chunk_size: int | None = None, resume: bool = False,
                       engine: str = "torch", **settings: Any) -> PredictionSummary:
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

    In one process, each chunk's predictions go to a numbered file of ``OUT.parts/`` (each
    written whole, through a temporary file and a rename), joined into ``output_path`` at the end:
    killed partway (SIGTERM or Ctrl-C), the complete chunks stay there and ``resume=True``
    continues after the last of them, with the same chunk size; the final file is byte for byte
    what an uninterrupted run writes. Without ``resume``, leftover parts are refused (``force``
    discards them).
    """
    started = time.perf_counter()
    input_path, output_path = Path(input_path), Path(output_path)
    check_output(output_path, force)
    ranks, rank = distributed.world_size(), distributed.rank()
    if ranks == 1:
        return _stream_in_parts(run_path, input_path, output_path, started, force=force, chunk_size=chunk_size,
                                resume=resume, engine=engine, settings=settings)
    if resume:
        raise StanceError("--resume works in one process", hint="run the prediction without torchrun to resume it")
    if ranks > 1:
        distributed.init()
    tmp = temporary_path(output_path)
    part = output_path.with_name(f"{output_path.name}.part{rank}.tmp") if ranks > 1 else tmp
    outcome: dict[str, Any] = {}
    try:
        classifier, mode = load_predictor(run_path, engine, **settings)
        size = chunk_size or _run_settings(run_path, engine)[0].chunk_size
        start, stop = distributed.shard_bounds(count_rows(input_path)) if ranks > 1 else (0, None)
        seen = _SeenIds()
        compressed = is_compressed(output_path)  # .jsonl.gz: each part a gzip member
        with ChunkWriter(part, file_format(output_path), header=rank == 0, compressed=compressed) as writer:
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


#: The file in ``OUT.parts/`` that says which command made the parts (resuming checks it).
PROGRESS_FILE = "progress.json"


class PredictionInterrupted(StanceError):
    """``stance predict`` stopped by SIGINT or SIGTERM; the complete chunks stay in ``OUT.parts/``."""


def parts_dir(output_path: str | Path) -> Path:
    """Where a streamed prediction keeps its complete chunks until they are joined: ``OUT.parts/``."""
    output_path = Path(output_path)
    return output_path.with_name(output_path.name + ".parts")


def _stream_in_parts(run_path: str | Path, input_path: Path, output_path: Path, started: float, *, force: bool,
                     chunk_size: int | None, resume: bool, engine: str, settings: dict[str, Any]) -> PredictionSummary:
    """One process: chunks into ``OUT.parts/``, resumable, joined into ``output_path`` at the end."""
    fmt = file_format(output_path)
    parts = parts_dir(output_path)
    command = {"input": str(input_path.resolve()), "run": str(Path(run_path).resolve()), "engine": engine,
               "format": fmt, "settings": {k: v for k, v in sorted(settings.items()) if v is not None}}
    if input_path.is_file():
        stat = input_path.stat()
        command.update(input_bytes=stat.st_size, input_mtime_ns=stat.st_mtime_ns)
    size, done = _open_parts(parts, command, chunk_size, resume=resume, force=force)
    size = size or _run_settings(run_path, engine)[0].chunk_size
    parts.mkdir(parents=True, exist_ok=True)
    write_json(parts / PROGRESS_FILE, {"chunk_size": size, "command": command})
    written: list[Path] = []
    chunks = 0
    try:
        with _sigterm_as_exit():
            classifier, mode = load_predictor(run_path, engine, **settings)
            seen, rows = _SeenIds(), 0
            for chunks, chunk in enumerate(read_table_chunks(input_path, size), start=1):
                chunk = validate_statements(chunk, input_path, labels=None, required=PREDICT_FIELDS)
                seen.add(chunk)
                rows += len(chunk)
                part = parts / f"{chunks - 1:06d}.{fmt}"
                written.append(part)
                if chunks <= done:
                    continue  # predicted before the interruption
                frame = predict_frame(classifier, chunk.drop(columns="_line").reset_index(drop=True), mode)
                with (atomic_path(part) as tmp,
                      ChunkWriter(tmp, fmt, header=chunks == 1, compressed=is_compressed(output_path)) as writer):
                    writer.write(frame)
            if rows == 0:
                raise DataError(f"{input_path}: no statements", hint="the file has a header but no rows")
            _check_unique_ids(input_path, [seen.arrays()])
            with atomic_path(output_path) as whole:
                join_parts(written, whole, fmt)
    except (KeyboardInterrupt, SystemExit) as stop:
        kept = max(done, chunks - 1)
        signal_name = "SIGTERM" if isinstance(stop, SystemExit) else "SIGINT"
        err = PredictionInterrupted(f"interrupted by {signal_name}: {kept} complete chunk(s) of {size} rows kept in "
                                    f"{parts}", hint="run the same command with --resume to continue")
        err.exit_code = 143 if isinstance(stop, SystemExit) else 130
        raise err from None
    except StanceError:
        shutil.rmtree(parts, ignore_errors=True)  # a bad input or run: nothing worth resuming
        raise
    shutil.rmtree(parts, ignore_errors=True)
    return PredictionSummary(rows, output_path, time.perf_counter() - started, classifier.precision,
                             classifier.inference_device(), resumed_chunks=done)


def _open_parts(parts: Path, command: dict[str, Any], chunk_size: int | None, *, resume: bool,
                force: bool) -> tuple[int | None, int]:
    """The chunk size to use (None: the run's) and how many chunks are already complete in ``parts``."""
    if not parts.exists():
        return chunk_size, 0
    if not resume:
        if not force:
            raise StanceError(f"{parts} holds the chunks of an interrupted prediction",
                              hint="pass --resume to continue it, or --force to start again")
        shutil.rmtree(parts)
        return chunk_size, 0
    try:
        progress = json.loads((parts / PROGRESS_FILE).read_text(encoding="utf-8"))
        recorded, size = progress["command"], int(progress["chunk_size"])
    except (OSError, ValueError, KeyError, TypeError):
        raise StanceError(f"{parts}: no readable {PROGRESS_FILE}, so the chunks cannot be trusted",
                          hint="pass --force instead of --resume to start again") from None
    differs = sorted(key for key in {*recorded, *command} if recorded.get(key) != command.get(key))
    if differs:
        raise StanceError(f"{parts} was made by another command ({', '.join(differs)} differ)",
                          hint="resume with the same input, run and options, or pass --force to start again")
    if chunk_size is not None and chunk_size != size:
        raise StanceError(f"{parts} holds chunks of {size} rows, not {chunk_size}",
                          hint=f"resume with --chunk-size {size}, or without --chunk-size")
    for stale in parts.glob("*.tmp"):
        remove(stale)  # a chunk being written when the process was killed outright (SIGKILL)
    done = 0
    while (parts / f"{done:06d}.{command['format']}").is_file():
        done += 1
    return size, done


@contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """Turn SIGTERM into ``SystemExit`` for the block, so that its ``finally`` and ``with`` clean-ups run
    (Python's default for SIGTERM ends the process on the spot). Only the main thread may set it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
