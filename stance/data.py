"""Statement records: reading CSV, JSONL or Parquet, validating once, and describing a corpus.

A record follows ``data/CODEBOOK.md``: ``id, text, label`` are required (and ``request`` where the
model reads it); the domain columns ``actor, requester, request, episode, date`` and the provenance
columns ``source_type, request_kind, hard_case, basis`` are optional, and any other column is kept
and carried through to predictions. Labels are matched to the label set case-insensitively. Everything is checked at
the edge by :func:`load_statements`, which raises :class:`~stance.errors.DataError` naming the
file, the line and the fix.
"""

from __future__ import annotations

import difflib
import gzip
import hashlib
import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from stance.errors import DataError
from stance.labels import DEFAULT_LABELS, label_lookup
from stance.sources import government_mask

REQUIRED_FIELDS: tuple[str, ...] = ("id", "text", "label")
#: The codebook's domain columns: optional; statistics, splits and reports use those a file has.
DOMAIN_FIELDS: tuple[str, ...] = ("actor", "requester", "request", "episode", "date")
#: What prediction needs: only the text (and the request in request_text mode).
PREDICT_FIELDS: tuple[str, ...] = ("text",)
SUPPORTED_FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".jsonl": "jsonl", ".json": "jsonl",
                     ".parquet": "parquet"}
#: Cell values (lower-cased, stripped) that spreadsheets and pandas write for a missing value.
MISSING_MARKERS = ("", "nan", "none", "null", "na", "n/a", "#n/a", "<na>", "nat")


def file_format(path: Path) -> str:
    """``csv``, ``tsv`` (``.tsv``, ``.txt``: tab-separated, a header line, one record per line, quotes
    kept as text), ``jsonl`` (also gzip-compressed, ``.jsonl.gz``) or ``parquet`` from the extension;
    a clear error otherwise."""
    if is_compressed(path):
        if SUPPORTED_FORMATS.get(Path(Path(path).stem).suffix.lower()) == "jsonl":
            return "jsonl"
        raise DataError(f"{path}: only JSON lines are read and written compressed",
                        hint="name a gzip-compressed file .jsonl.gz, or decompress it")
    fmt = SUPPORTED_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise DataError(
            f"{path}: unsupported format {Path(path).suffix or '(no extension)'}",
            hint="use .csv, .tsv/.txt (tab-separated), .jsonl or .parquet",
        )
    return fmt


def is_compressed(path: str | Path) -> bool:
    """Whether ``path`` names a gzip-compressed file (``.jsonl.gz``)."""
    return Path(path).suffix.lower() == ".gz"


def _open_bytes(path: Path):
    """A binary handle reading ``path``, through gzip for a ``.gz`` file."""
    return gzip.open(path, "rb") if is_compressed(path) else path.open("rb")


def _raw_bytes(path: Path) -> bytes:
    with _open_bytes(path) as handle:
        return handle.read()


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV, JSONL or Parquet file into a frame of strings, keeping every column.

    Line numbers in later errors are file lines: the frame's ``_line`` column holds them.
    """
    path = Path(path)
    if is_dataset_dict(path):
        return read_dataset_dict(path)
    fmt = file_format(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist", hint="check the path")
    try:
        if fmt != "parquet":
            _check_utf8(path)
        if fmt == "csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            frame["_line"] = _csv_record_lines(path, len(frame))
        elif fmt == "tsv":
            frame = pd.read_csv(path, **_TSV_OPTIONS)
            frame["_line"] = _tsv_record_lines(path, len(frame))
        elif fmt == "jsonl":
            frame = _read_jsonl(path)
        else:
            frame = pd.read_parquet(path)
            frame["_line"] = range(1, len(frame) + 1)
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty", hint="a CSV needs a header line and one row per statement") from None
    except (pd.errors.ParserError, ValueError, OSError, RecursionError, MemoryError) as err:
        # pyarrow's errors for a file that is not Parquet are ValueErrors (ArrowInvalid) or OSErrors.
        first_line = (str(err).splitlines() or [type(err).__name__])[0]
        raise DataError(f"{path}: cannot be read as {fmt} ({first_line})") from None
    return frame


#: How a tab-separated file is read: every cell a string, a quote an ordinary character (tweets are
#: full of them), one record per line.
_TSV_OPTIONS = {"sep": "\t", "dtype": str, "keep_default_na": False, "encoding": "utf-8-sig",
                "quoting": 3, "skip_blank_lines": True}  # 3: csv.QUOTE_NONE


def _tsv_lines(path: Path) -> list[int]:
    """The file line of each record of a tab-separated file, the header's left out (blank lines are
    no records)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [number for number, line in enumerate(handle, start=1) if line.strip("\r\n")][1:]


def _tsv_record_lines(path: Path, n_records: int) -> list[int]:
    lines = _tsv_lines(path)
    return lines if len(lines) == n_records else list(range(2, n_records + 2))
#: The file that marks a folder written by ``datasets.DatasetDict.save_to_disk``.
DATASET_DICT_FILE = "dataset_dict.json"


def is_dataset_dict(path: str | Path) -> bool:
    """Whether ``path`` is a Hugging Face ``DatasetDict`` folder (``stance data export --format hf``)."""
    return (Path(path) / DATASET_DICT_FILE).is_file()


def read_dataset_dict(path: str | Path) -> pd.DataFrame:
    """Every split of a saved ``DatasetDict`` as one frame of strings, its splits one after another
    (a ``ClassLabel`` column as its label names); ``_line`` counts rows across them."""
    import datasets

    try:
        splits = datasets.load_from_disk(str(path))
    except (OSError, ValueError, KeyError) as err:
        raise DataError(f"{path}: cannot be read as a Hugging Face dataset ({type(err).__name__}: {err})") from None
    if not isinstance(splits, datasets.DatasetDict):
        splits = datasets.DatasetDict({"train": splits})
    frames = []
    for part in splits.values():
        frame = part.to_pandas()
        for column, feature in part.features.items():
            if isinstance(feature, datasets.ClassLabel):
                frame[column] = [feature.int2str(int(v)) if v is not None and v >= 0 else "" for v in frame[column]]
        frames.append(frame.astype(object).where(frame.notna(), "").astype(str))
    frame = pd.concat(frames, ignore_index=True)
    frame["_line"] = range(1, len(frame) + 1)
    return frame


def _csv_record_lines(path: Path, n_records: int) -> list[int]:
    """The file line each CSV record starts on: a quoted cell may span lines, blank lines are skipped.

    Falls back to "header on line 1, one record per line" if the csv module and pandas disagree
    on the number of records.
    """
    import csv

    starts = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        before = 0
        for row in reader:
            if row:  # a blank line is no record (pandas skips it too)
                starts.append(before + 1)
            before = reader.line_num
    starts = starts[1:]  # the header
    return starts if len(starts) == n_records else list(range(2, n_records + 2))


def _check_utf8(path: Path) -> None:
    """Raise a DataError naming the line and column of the first byte that is not UTF-8."""
    raw = _raw_bytes(path)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        raise DataError(
            f"{path}:{line}: not UTF-8 text (byte 0x{raw[err.start]:02x} at column {column})",
            hint="re-save it as UTF-8, e.g. from a spreadsheet choose 'CSV UTF-8'",
        ) from None


def _read_jsonl(path: Path) -> pd.DataFrame:
    return pd.DataFrame(list(_jsonl_rows(path)))


def _jsonl_rows(path: Path) -> Iterator[dict]:
    """The records of a JSONL file one at a time, each with its ``_line``."""
    # utf-8-sig: a byte-order mark, as some editors write, is not part of the first record.
    with io.TextIOWrapper(_open_bytes(path), encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line.rstrip("\r\n"))
            except json.JSONDecodeError as err:
                where = f"{err.msg[0].lower()}{err.msg[1:]}{'' if err.msg.endswith(' at') else ' at'} column {err.colno}"
                raise DataError(f"{path}:{number}: not valid JSON ({where})", hint="one JSON object per line") from None
            except (ValueError, RecursionError) as err:  # e.g. a number too long to convert, or nesting too deep
                raise DataError(f"{path}:{number}: not valid JSON ({type(err).__name__})",
                                hint="one JSON object per line") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{number}: each line must be a JSON object")
            row["_line"] = number
            yield row


def read_table_chunks(path: str | Path, chunk_size: int = 10_000, *, start: int = 0,
                      stop: int | None = None) -> Iterator[pd.DataFrame]:
    """Rows ``[start, stop)`` of a CSV, JSONL or Parquet file, ``chunk_size`` rows at a time.

    Each chunk is what :func:`read_table` gives for those rows (CSV cells as strings, ``_line``
    with file line numbers), but only one chunk is in memory at a time, whatever the file's size:
    pandas reads CSV in chunks, JSONL is read line by line, Parquet as pyarrow record batches.
    Rows before ``start`` are read and skipped (how a process finds its shard of a file).
    """
    path = Path(path)
    fmt = file_format(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist", hint="check the path")
    readers = {"csv": _csv_chunks, "tsv": _tsv_chunks, "jsonl": _jsonl_chunks, "parquet": _parquet_chunks}
    row = 0
    try:
        for chunk in readers[fmt](path, chunk_size):
            first, row = row, row + len(chunk)
            lo, hi = max(start - first, 0), len(chunk) if stop is None else min(stop - first, len(chunk))
            if lo < hi:
                yield chunk.iloc[lo:hi].reset_index(drop=True)
            if stop is not None and row >= stop:
                return
    except DataError:
        raise
    except UnicodeDecodeError:
        _check_utf8_lines(path)
        raise DataError(f"{path}: not UTF-8 text", hint="re-save it as UTF-8") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty",
                        hint="a CSV needs a header line and one row per statement") from None
    except (pd.errors.ParserError, ValueError, OSError, RecursionError, MemoryError) as err:
        first_line = (str(err).splitlines() or [type(err).__name__])[0]
        raise DataError(f"{path}: cannot be read as {fmt} ({first_line})") from None


def count_rows(path: str | Path) -> int:
    """How many records a CSV, JSONL or Parquet file holds, read in chunks (Parquet: its footer)."""
    path = Path(path)
    if file_format(path) == "parquet" and path.is_file():
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(path).metadata.num_rows
        except (ValueError, OSError) as err:
            first_line = (str(err).splitlines() or [type(err).__name__])[0]
            raise DataError(f"{path}: cannot be read as parquet ({first_line})") from None
    return sum(len(chunk) for chunk in read_table_chunks(path, 50_000))


def _csv_chunks(path: Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    import csv

    # A second, csv-module pass in step with pandas gives each record's first file line (a quoted
    # cell may span lines), as _csv_record_lines does for a whole file.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        starts = _csv_starts(reader)
        next(starts, None)  # the header
        for chunk in pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", chunksize=chunk_size):
            lines = [next(starts, None) for _ in range(len(chunk))]
            fallback = chunk.index + 2
            chunk["_line"] = [line if line is not None else int(f) for line, f in zip(lines, fallback, strict=True)]
            yield chunk


def _tsv_chunks(path: Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    lines = iter(_tsv_lines(path))
    for chunk in pd.read_csv(path, chunksize=chunk_size, **_TSV_OPTIONS):
        chunk["_line"] = [next(lines, int(i) + 2) for i in chunk.index]
        yield chunk


def _csv_starts(reader) -> Iterator[int]:
    import csv

    before = 0
    try:
        for row in reader:
            if row:
                yield before + 1
            before = reader.line_num
    except csv.Error:  # e.g. a cell over the csv module's size limit: pandas still reads it; lines fall back
        return


def _jsonl_chunks(path: Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    rows = []
    for row in _jsonl_rows(path):
        rows.append(row)
        if len(rows) == chunk_size:
            yield pd.DataFrame(rows)
            rows = []
    if rows:
        yield pd.DataFrame(rows)


def _parquet_chunks(path: Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    row = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_size):
        chunk = batch.to_pandas()
        chunk["_line"] = range(row + 1, row + len(chunk) + 1)
        row += len(chunk)
        yield chunk


def _check_utf8_lines(path: Path) -> None:
    """:func:`_check_utf8` for files too large to hold: line by line, memory for one line."""
    with _open_bytes(path) as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise DataError(
                    f"{path}:{number}: not UTF-8 text (byte 0x{raw[err.start]:02x} at column {err.start + 1})",
                    hint="re-save it as UTF-8, e.g. from a spreadsheet choose 'CSV UTF-8'",
                ) from None


def validate_statements(
    frame: pd.DataFrame,
    source: str | Path,
    *,
    labels: Sequence[str] | None = DEFAULT_LABELS,
    required: Sequence[str] = REQUIRED_FIELDS,
    check_conflicts: bool = True,
) -> pd.DataFrame:
    """Check a frame against the record schema and return it cleaned.

    ``labels=None`` skips the label column (files for prediction). Labels are matched to ``labels``
    case-insensitively and spelled as there; a label the set names (``none``, say) is a label, not
    an empty cell. Text is stripped; every column becomes a string. Raises :class:`DataError` for the first kind of problem found,
    listing up to five offending lines. ``check_conflicts=False`` leaves the same text with
    different labels for the caller (an importer that drops such records).
    """
    if frame.empty:
        raise DataError(f"{source}: no statements", hint="the file holds no records: add statements or pick another file")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        found = [_shown(c) for c in frame.columns if c != "_line"]
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)}; found {', '.join(found) or 'none'}",
            hint="see data/CODEBOOK.md for the record fields",
        )
    frame = frame.copy()
    if "_line" not in frame.columns:
        frame["_line"] = range(1, len(frame) + 1)
    named = set(label_lookup(labels)) if labels is not None else set()
    for column in required:
        values = frame[column]
        markers = [m for m in MISSING_MARKERS if m not in named] if column == "label" else MISSING_MARKERS
        blank = values.isna() | values.astype(str).str.strip().str.lower().isin(markers)
        if blank.any():
            raise DataError(
                f"{source}: empty {column!r} on line(s) {_lines(frame, blank)}",
                hint=f"fill in {column!r} on every line; blank, NaN and null cells count as empty",
            )
        frame[column] = values.astype(str).str.strip()
    if "id" in frame.columns:
        # Where ids are optional (files for prediction), records without one are not duplicates.
        ids = frame["id"].astype(str)
        dup = ids.duplicated(keep=False) & frame["id"].notna() & ~ids.str.strip().str.lower().isin(MISSING_MARKERS)
        if dup.any():
            shown = [_shown(i) for i in sorted(ids[dup].unique())[:5]]
            raise DataError(f"{source}: duplicate id(s) {', '.join(shown)} on line(s) {_lines(frame, dup)}",
                            hint="give every record its own id")
    if labels is not None and "label" in frame.columns:
        lookup = label_lookup(labels)
        folded = frame["label"].astype(str).str.strip().str.lower()
        unknown = ~folded.isin(lookup)
        if unknown.any():
            bad = frame.loc[unknown, "label"].iloc[0]
            close = difflib.get_close_matches(bad.lower(), list(lookup), n=1)
            close = [lookup[c] for c in close]
            hint = f"allowed: {', '.join(labels)}" + (f"; did you mean {close[0]!r}?" if close else "")
            raise DataError(f"{source}: unknown label {bad!r} on line(s) {_lines(frame, unknown)}", hint=hint)
        frame["label"] = folded.map(lookup)
        conflicting = conflicting_labels(frame)
        if check_conflicts and conflicting.any():
            raise DataError(
                f"{source}: the same text has different labels on line(s) {_lines(frame, conflicting)}",
                hint="adjudicate the duplicates into one record",
            )
    return frame


def conflicting_labels(frame: pd.DataFrame) -> pd.Series:
    """Which records share their text (case and spacing aside; and their request, where there is one:
    a tweet may favour one target and oppose another) with a record of another label."""
    normalised = frame["text"].astype(str).str.lower().str.split().str.join(" ")
    if "request" in frame.columns:
        normalised = frame["request"].astype(str).str.lower() + "\x1f" + normalised
    return frame.groupby(normalised)["label"].transform("nunique") > 1


def load_statements(path: str | Path, labels: Sequence[str] | None = DEFAULT_LABELS) -> pd.DataFrame:
    """Read and validate a labelled statements file (``labels=None``: labels not required)."""
    required = REQUIRED_FIELDS if labels is not None else PREDICT_FIELDS
    frame = validate_statements(read_table(path), path, labels=labels, required=required)
    return frame.drop(columns="_line").reset_index(drop=True)


def _shown(value: object) -> str:
    """A column name or id as the one-line message shows it: quoted if it would break the line."""
    text = str(value)
    return text if text.isprintable() else repr(text)


def _lines(frame: pd.DataFrame, mask: pd.Series) -> str:
    lines = frame.loc[mask, "_line"].tolist()
    shown = ", ".join(str(n) for n in lines[:5])
    return shown + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes (run manifests record it for every data file); for a folder (a
    saved dataset), of its files' relative paths and bytes, in path order."""
    path = Path(path)
    if path.is_dir():
        digest = hashlib.sha256()
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(f"{file.relative_to(path).as_posix()}\0{file_sha256(file)}\n".encode())
        return digest.hexdigest()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ----------------------------------------------------------------------------------------------
# Describing a corpus


def word_counts(frame: pd.DataFrame) -> pd.Series:
    """Words per statement (whitespace tokens)."""
    return frame["text"].str.split().str.len()


def corpus_stats(frame: pd.DataFrame, labels: Sequence[str] = DEFAULT_LABELS) -> dict[str, pd.DataFrame]:
    """Tables describing a corpus: overview, label counts, and label counts per facet.

    Facets present in the frame are included: episode, actor, requester, decade, request kind,
    request direction, source type, grounding, hard case. Every table is a DataFrame ready for CSV or Markdown.
    """
    frame = frame.copy()
    words = word_counts(frame)
    overview = pd.DataFrame(
        {
            "statistic": [
                "statements",
                "episodes",
                "responding governments",
                "requesters",
                "hard cases",
                "hard-case share",
                "words per statement (min)",
                "words per statement (median)",
                "words per statement (max)",
            ],
            "value": [
                len(frame),
                frame["episode"].nunique() if "episode" in frame else 0,
                # A bloc answering as a bloc (actor_type: organisation) is not a government.
                frame.loc[government_mask(frame), "actor"].nunique() if "actor" in frame else 0,
                frame["requester"].nunique() if "requester" in frame else 0,
                int((frame.get("hard_case", pd.Series(dtype=str)).fillna("") != "").sum()),
                round(float((frame.get("hard_case", pd.Series("", index=frame.index)).fillna("") != "").mean()), 3),
                int(words.min()),
                float(words.median()),
                int(words.max()),
            ],
        }
    )
    overview["value"] = overview["value"].map(_format_number)
    tables = {"overview": overview}
    if "label" in frame:
        counts = frame["label"].value_counts().reindex(labels, fill_value=0)
        tables["labels"] = pd.DataFrame(
            {"label": counts.index, "statements": counts.values, "share": (counts / counts.sum()).round(3).values}
        )
    if "date" in frame:
        frame["decade"] = frame["date"].str[:3] + "0s"
    if "hard_case" in frame:
        frame["hard_case"] = frame["hard_case"].fillna("").replace("", "(none)")
    for facet in ("episode", "actor", "requester", "decade", "request_kind", "request_direction", "source_type",
                  "grounding", "hard_case"):
        if facet in frame and "label" in frame:
            tables[facet] = _facet_table(frame, facet, labels)
    return tables


def _format_number(value: float) -> str:
    """Counts as integers, shares and medians with up to three decimals (for mixed-value tables)."""
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}".rstrip("0")


def _facet_table(frame: pd.DataFrame, facet: str, labels: Sequence[str]) -> pd.DataFrame:
    table = pd.crosstab(frame[facet], frame["label"]).reindex(columns=list(labels), fill_value=0)
    table["total"] = table.sum(axis=1)
    order = table.index.tolist() if facet == "decade" else table.sort_values("total", ascending=False).index
    table = table.loc[order].reset_index()
    table.columns.name = None
    return table


def length_table(frame: pd.DataFrame, bins: Sequence[int] = (0, 10, 20, 30, 45, 60, 80, 10_000)) -> pd.DataFrame:
    """Statements per text-length bin (words)."""
    words = word_counts(frame)
    cut = pd.cut(words, bins=list(bins), right=True)
    table = cut.value_counts(sort=False).rename_axis("words").reset_index(name="statements")
    table["words"] = table["words"].astype(str)
    return table
