"""Statement records: reading CSV, JSONL or Parquet, validating once, and describing a corpus.

A record follows ``data/CODEBOOK.md``: ``id, text, actor, requester, request, episode, date,
label`` are required; ``source_type, request_kind, hard_case, basis`` are optional provenance
columns; any other column is kept and carried through to predictions. Everything is checked at
the edge by :func:`load_statements`, which raises :class:`~stance.errors.DataError` naming the
file, the line and the fix.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from stance.errors import DataError
from stance.labels import DEFAULT_LABELS

REQUIRED_FIELDS: tuple[str, ...] = ("id", "text", "actor", "requester", "request", "episode", "date", "label")
PROVENANCE_FIELDS: tuple[str, ...] = ("source_type", "request_kind", "hard_case", "basis")
#: What prediction needs: only the text (and the request in request_text mode).
PREDICT_FIELDS: tuple[str, ...] = ("text",)
SUPPORTED_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}
SOURCE_TYPES = (
    "direct quote",
    "reported speech",
    "communique",
    "parliamentary answer",
    "press conference answer",
    "social media post",
)


def file_format(path: Path) -> str:
    """``csv``, ``jsonl`` or ``parquet`` from the extension; a clear error otherwise."""
    fmt = SUPPORTED_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise DataError(
            f"{path}: unsupported format {Path(path).suffix or '(no extension)'}",
            hint="use .csv, .jsonl or .parquet",
        )
    return fmt


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV, JSONL or Parquet file into a frame of strings, keeping every column.

    Line numbers in later errors are file lines: the frame's ``_line`` column holds them.
    """
    path = Path(path)
    fmt = file_format(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist", hint="check the path")
    try:
        if fmt == "csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
            frame["_line"] = range(2, len(frame) + 2)  # line 1 is the header
        elif fmt == "jsonl":
            frame = _read_jsonl(path)
        else:
            frame = pd.read_parquet(path)
            frame["_line"] = range(1, len(frame) + 1)
    except UnicodeDecodeError as err:
        raise DataError(
            f"{path}: not UTF-8 text (byte {err.start})",
            hint="re-save it as UTF-8, e.g. from a spreadsheet choose 'CSV UTF-8'",
        ) from None
    except DataError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as err:
        raise DataError(f"{path}: cannot be read as {fmt} ({str(err).splitlines()[0]})") from None
    return frame


def _read_jsonl(path: Path) -> pd.DataFrame:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{path}:{number}: not valid JSON ({err.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{number}: each line must be a JSON object")
            row["_line"] = number
            rows.append(row)
    return pd.DataFrame(rows)


def validate_statements(
    frame: pd.DataFrame,
    source: str | Path,
    *,
    labels: Sequence[str] | None = DEFAULT_LABELS,
    required: Sequence[str] = REQUIRED_FIELDS,
) -> pd.DataFrame:
    """Check a frame against the record schema and return it cleaned.

    ``labels=None`` skips the label column (files for prediction). Text is stripped; every
    column becomes a string. Raises :class:`DataError` for the first kind of problem found,
    listing up to five offending lines.
    """
    if frame.empty:
        raise DataError(f"{source}: no statements", hint="the file has a header but no rows")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        found = [c for c in frame.columns if c != "_line"]
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)}; found {', '.join(found) or 'none'}",
            hint="see data/CODEBOOK.md for the record fields",
        )
    frame = frame.copy()
    if "_line" not in frame.columns:
        frame["_line"] = range(1, len(frame) + 1)
    for column in required:
        values = frame[column]
        blank = values.isna() | values.astype(str).str.strip().isin(["", "nan", "None"])
        if blank.any():
            raise DataError(
                f"{source}: empty {column!r} on line(s) {_lines(frame, blank)}",
                hint=f"every record needs a {column}",
            )
        frame[column] = values.astype(str).str.strip()
    if "id" in frame.columns:
        dup = frame["id"].duplicated(keep=False)
        if dup.any():
            ids = sorted(frame.loc[dup, "id"].unique())[:5]
            raise DataError(f"{source}: duplicate id(s) {', '.join(ids)} on line(s) {_lines(frame, dup)}")
    if labels is not None and "label" in frame.columns:
        frame["label"] = frame["label"].str.lower()
        unknown = ~frame["label"].isin(labels)
        if unknown.any():
            bad = frame.loc[unknown, "label"].iloc[0]
            close = difflib.get_close_matches(bad, labels, n=1)
            hint = f"allowed: {', '.join(labels)}" + (f"; did you mean {close[0]!r}?" if close else "")
            raise DataError(f"{source}: unknown label {bad!r} on line(s) {_lines(frame, unknown)}", hint=hint)
        normalised = frame["text"].str.lower().str.split().str.join(" ")
        conflicting = frame.groupby(normalised)["label"].transform("nunique") > 1
        if conflicting.any():
            raise DataError(
                f"{source}: the same text has different labels on line(s) {_lines(frame, conflicting)}",
                hint="adjudicate the duplicates into one record",
            )
    return frame


def load_statements(path: str | Path, labels: Sequence[str] | None = DEFAULT_LABELS) -> pd.DataFrame:
    """Read and validate a labelled statements file (``labels=None``: labels not required)."""
    required = REQUIRED_FIELDS if labels is not None else PREDICT_FIELDS
    frame = validate_statements(read_table(path), path, labels=labels, required=required)
    return frame.drop(columns="_line").reset_index(drop=True)


def _lines(frame: pd.DataFrame, mask: pd.Series) -> str:
    lines = frame.loc[mask, "_line"].tolist()
    shown = ", ".join(str(n) for n in lines[:5])
    return shown + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes (run manifests record it for every data file)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def to_dataset(frame: pd.DataFrame):
    """The frame as a Hugging Face ``datasets.Dataset`` (for the Trainer and for users)."""
    import datasets

    return datasets.Dataset.from_pandas(frame.reset_index(drop=True), preserve_index=False)


# ----------------------------------------------------------------------------------------------
# Describing a corpus


def word_counts(frame: pd.DataFrame) -> pd.Series:
    """Words per statement (whitespace tokens)."""
    return frame["text"].str.split().str.len()


def corpus_stats(frame: pd.DataFrame, labels: Sequence[str] = DEFAULT_LABELS) -> dict[str, pd.DataFrame]:
    """Tables describing a corpus: overview, label counts, and label counts per facet.

    Facets present in the frame are included: episode, actor, requester, decade, request kind,
    source type, hard case. Every table is a DataFrame ready for CSV or Markdown.
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
                frame["actor"].nunique() if "actor" in frame else 0,
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
    for facet in ("episode", "actor", "requester", "decade", "request_kind", "source_type", "hard_case"):
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
