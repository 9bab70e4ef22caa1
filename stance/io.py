"""Writing files: tables in every format, always through a temporary file and a rename, and the one
prediction schema.

Every file the toolkit writes (reports, run manifests, split files, saved baselines, prediction
files) goes through :func:`atomic_path`: it is built beside its final name and renamed into place
only once complete, so a crash or Ctrl-C never leaves half a file for a later command to read.
Reading tables (CSV, JSONL, Parquet, chunked or whole) is :mod:`stance.data`'s job; the formats
both sides accept are ``stance.data.SUPPORTED_FORMATS``.

Predictions have one schema wherever they are written (``stance predict``, a run's
``reports/<split>/predictions.csv``, the baselines beside it): the input's columns, the gold
``label`` among them when the input is labelled, then :data:`PREDICTION` and one
``p_<label>`` column per class (:func:`probability_column`), in the model's label order.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stance.data import file_format, is_compressed
from stance.errors import DataError, StanceError

#: The gold label's column, as in the statements files.
LABEL = "label"
#: The predicted label's column.
PREDICTION = "prediction"
#: Probabilities are rounded to this many decimals in prediction files.
PROBABILITY_DECIMALS = 6


def probability_column(label: str) -> str:
    """The column holding the probability of ``label``."""
    return f"p_{label}"


def with_predictions(frame: pd.DataFrame, proba: np.ndarray, labels: Sequence[str]) -> pd.DataFrame:
    """A copy of ``frame`` with :data:`PREDICTION` and the ``p_<label>`` columns appended.

    ``proba`` has one row per row of ``frame`` and its columns in ``labels`` order.
    """
    out = frame.copy()
    out[PREDICTION] = [labels[i] for i in proba.argmax(axis=1)]
    for i, label in enumerate(labels):
        out[probability_column(label)] = proba[:, i].round(PROBABILITY_DECIMALS)
    return out


# ----------------------------------------------------------------------------------------------
# Atomic writes


def temporary_path(path: str | Path) -> Path:
    """Where ``path`` is built before it is renamed into place: beside it, with ``.tmp`` appended."""
    path = Path(path)
    return path.with_name(path.name + ".tmp")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """:func:`temporary_path` of ``path`` to write to; renamed onto ``path`` when the block ends
    without an error, removed when it raises. The parent folder is created if missing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        remove(tmp)
        raise


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) through a temporary file and a rename."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, data: Any) -> None:
    """Write JSON (indented, UTF-8, one trailing newline) through a temporary file and a rename."""
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def write_npz(path: str | Path, **arrays: np.ndarray) -> None:
    """Write numpy arrays as ``.npz`` (no pickled objects) through a temporary file and a rename."""
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        np.savez(handle, **arrays)


def write_frame(frame: pd.DataFrame, path: str | Path) -> None:
    """Write CSV, TSV, JSONL or Parquet (from the extension) through a temporary file and a rename.

    TSV keeps quotes as text, so a cell with a tab or a line break cannot be written as TSV."""
    fmt = file_format(Path(path))
    if fmt == "tsv":
        cells = frame.astype(str)
        if cells.apply(lambda column: column.str.contains("[\t\r\n]", regex=True)).to_numpy().any():
            raise DataError(f"{path}: a cell holds a tab or a line break, which tab-separated text cannot hold",
                            hint="write .csv, .jsonl or .parquet instead")
    with atomic_path(path) as tmp:
        if fmt == "csv":
            frame.to_csv(tmp, index=False)
        elif fmt == "tsv":
            frame.to_csv(tmp, index=False, sep="\t", quoting=3)  # 3: csv.QUOTE_NONE, as data.read_table reads it
        elif fmt == "jsonl":
            frame.to_json(tmp, orient="records", lines=True, force_ascii=False,
                          compression={"method": "gzip", "mtime": 0} if is_compressed(path) else None)
        else:
            frame.to_parquet(tmp, index=False)


def check_output(path: str | Path, force: bool) -> None:
    """Refuse to overwrite an existing file unless ``force``; check the format first."""
    file_format(Path(path))
    if Path(path).exists() and not force:
        raise StanceError(f"{path} already exists", hint="pass --force to overwrite it")


def remove(path: Path) -> None:
    """Delete ``path`` if it exists."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass


# ----------------------------------------------------------------------------------------------
# Tables written in chunks


class ChunkWriter:
    """Appends frames to one CSV, JSONL or Parquet file as :func:`write_frame` would write them at once.

    It writes ``path`` itself; callers write to a temporary path and rename it when done (see
    :func:`stance.predict.stream_predictions`), since a file built over many chunks is complete
    only at the end.
    """

    def __init__(self, path: Path, fmt: str, header: bool = True, compressed: bool = False) -> None:
        self.path = path
        self.format = fmt
        self.compressed = compressed  # gzip (a .jsonl.gz output): its parts join into one multi-member gzip file
        self.header = header
        self.rows = 0
        self._handle: Any = None
        self._parquet: Any = None
        self._schema: Any = None

    def __enter__(self) -> ChunkWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.format != "parquet":
            self._handle = (gzip.open(self.path, "wt", encoding="utf-8", newline="") if self.compressed
                            else self.path.open("w", encoding="utf-8", newline=""))
        return self

    def write(self, frame: pd.DataFrame) -> None:
        if self.format == "csv":
            frame.to_csv(self._handle, index=False, header=self.header and self.rows == 0)
        elif self.format == "jsonl":
            self._handle.write(frame.to_json(orient="records", lines=True, force_ascii=False))
        else:
            self._write_parquet(frame)
        self.rows += len(frame)

    def _write_parquet(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._parquet is None:
            # A column that is empty in the first chunk has no type yet: give it string, which later chunks fill.
            fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
            self._schema = pa.schema(fields, metadata=table.schema.metadata)
            self._parquet = pq.ParquetWriter(self.path, self._schema)
        try:
            table = table.select(self._schema.names).cast(self._schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, KeyError) as err:
            raise DataError(f"{self.path.name}: a column changes type between chunks ({str(err).splitlines()[0]})",
                            hint="give every column one type, or write CSV or JSONL") from None
        self._parquet.write_table(table)

    def __exit__(self, *exc: Any) -> None:
        if self._handle is not None:
            self._handle.close()
        if self._parquet is not None:
            self._parquet.close()
        elif self.format == "parquet" and not self.path.exists():
            self.path.touch()  # an empty shard: an empty part, so that joining finds every part


def join_parts(parts: Sequence[Path], target: Path, fmt: str) -> None:
    """Concatenate the part files in order into ``target`` (CSV parts after the first have no header)."""
    if fmt != "parquet":
        with target.open("wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    shutil.copyfileobj(handle, out, 1 << 20)
        return
    import pyarrow.parquet as pq

    writer = None
    try:
        for part in parts:
            if part.stat().st_size == 0:
                continue
            source = pq.ParquetFile(part)
            if writer is None:
                writer = pq.ParquetWriter(target, source.schema_arrow)
            for batch in source.iter_batches():
                writer.write_batch(batch.cast(writer.schema) if batch.schema != writer.schema else batch)
    finally:
        if writer is not None:
            writer.close()
