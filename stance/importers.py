"""Public stance datasets turned into the toolkit's record schema: ``stance data import FORMAT``.

Each release format is a :class:`ReleaseFormat` in :data:`IMPORTERS`: how to read one of its files
into ``id, text, request, label`` records (the release's target becomes ``request``, its labels keep
their names and spelling), and which split a file belongs to, from its name. :func:`import_release`
writes the statements of all files, one file per split, and a split file that names them (so the
release's own train/test split is the one every run uses, a target on both sides included).

The releases' terms forbid redistribution: they are read from the user's download, never shipped.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from stance.errors import DataError
from stance.io import write_frame, write_json
from stance.splits import SPLITS

#: Encodings tried in turn on a release file: SemEval-2016's training file holds bytes that are
#: not UTF-8 (cp1252 reads them; latin-1 reads anything).
ENCODINGS: tuple[str, ...] = ("utf-8-sig", "cp1252", "latin-1")


@dataclass(frozen=True)
class ReleaseFormat:
    """One public dataset's release: its label set, how to read a file, which split a file is."""

    name: str
    description: str
    labels: tuple[str, ...]
    read: Callable[[Path, str], pd.DataFrame]
    #: Words in a file's name and the split they mean, checked in order.
    split_words: tuple[tuple[str, str], ...]


@dataclass
class ImportResult:
    """What :func:`import_release` wrote: the files and the statements per split and label."""

    statements: Path
    splits: Path
    files: dict[str, Path]
    summary: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def decode(path: Path) -> tuple[str, str]:
    """The text of ``path`` and the encoding that read it (the first of :data:`ENCODINGS` that does)."""
    if not path.is_file():
        raise DataError(f"{path} does not exist", hint="check the path")
    raw = path.read_bytes()
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _read_semeval2016(path: Path, text: str) -> pd.DataFrame:
    """``ID<tab>Target<tab>Tweet<tab>Stance[<tab>Opinion towards<tab>Sentiment]``, a header line."""
    lines = [line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    header = lines[0].split("\t") if lines else []
    if [h.strip().lower() for h in header[:4]] != ["id", "target", "tweet", "stance"]:
        raise DataError(f"{path}:1: not a SemEval-2016 Task 6 file (header {lines[0][:60]!r})",
                        hint="expected the tab-separated header ID, Target, Tweet, Stance[, Opinion towards, Sentiment]")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != len(header):
            raise DataError(f"{path}:{number}: {len(cells)} tab-separated fields, the header has {len(header)}",
                            hint="a SemEval-2016 line is ID, Target, Tweet, Stance[, Opinion towards, Sentiment]")
        record = {"id": cells[0].strip(), "text": cells[2], "request": cells[1].strip(), "label": cells[3].strip()}
        if len(cells) >= 6:
            record.update(opinion_towards=cells[4].strip(), sentiment=cells[5].strip())
        rows.append({**record, "_line": number})
    return pd.DataFrame(rows)


def _read_pstance(path: Path, text: str) -> pd.DataFrame:
    """A CSV with ``Tweet, Target, Stance`` (the release has no ids: ``<file stem>-<row>``)."""
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DataError(f"{path}: cannot be read as a P-Stance CSV ({str(err).splitlines()[0]})") from None
    columns = {c.strip().lower(): c for c in frame.columns}
    tweet, target, stance = (columns.get(c) or columns.get(f"{c} 1") for c in ("tweet", "target", "stance"))
    if not (tweet and target and stance):
        raise DataError(f"{path}: not a P-Stance file (columns {', '.join(frame.columns)})",
                        hint="expected the columns Tweet, Target, Stance")
    return pd.DataFrame({
        "id": [f"{path.stem}-{n:05d}" for n in range(1, len(frame) + 1)],
        "text": frame[tweet], "request": frame[target].str.strip(), "label": frame[stance].str.strip(),
        "_line": range(2, len(frame) + 2),
    })


#: The release formats ``stance data import`` reads, by name.
IMPORTERS: dict[str, ReleaseFormat] = {
    "semeval2016": ReleaseFormat(
        "semeval2016", "SemEval-2016 Task 6 subtask A (tweets; FAVOR / AGAINST / NONE toward five targets): "
        "trialdata/trainingdata/testdata-taskA-all-annotations.txt", ("FAVOR", "AGAINST", "NONE"),
        _read_semeval2016, (("test", "test"), ("trial", "train"), ("train", "train"), ("dev", "dev"))),
    "pstance": ReleaseFormat(
        "pstance", "P-Stance (tweets; FAVOR / AGAINST toward Trump, Biden, Sanders): "
        "raw_{train,val,test}_{trump,biden,bernie}.csv", ("FAVOR", "AGAINST"),
        _read_pstance, (("test", "test"), ("val", "dev"), ("dev", "dev"), ("train", "train"))),
}


def release_format(name: str) -> ReleaseFormat:
    """The registered format ``name``; a clear error naming the known ones otherwise."""
    if name not in IMPORTERS:
        raise DataError(f"unknown dataset format {name!r}", hint=f"known formats: {', '.join(sorted(IMPORTERS))}")
    return IMPORTERS[name]


def split_of(path: Path, release: ReleaseFormat) -> str:
    """The split a release file belongs to, from the words in its name."""
    name = path.name.lower()
    for word, split in release.split_words:
        if word in name:
            return split
    words = ", ".join(word for word, _ in release.split_words)
    raise DataError(f"{path}: cannot tell which split this {release.name} file is",
                    hint=f"its name should contain one of: {words} (as the release's file names do)")


def read_release(name: str, files: Sequence[str | Path]) -> tuple[pd.DataFrame, list[str]]:
    """The records of every file of release ``name``, with their ``split``, and notes (encodings)."""
    from stance.data import validate_statements

    release = release_format(name)
    if not files:
        raise DataError(f"no {name} files given", hint=release.description)
    frames, notes = [], []
    for file in map(Path, files):
        text, encoding = decode(file)
        if encoding != "utf-8-sig":
            notes.append(f"{file}: not UTF-8, read as {encoding}")
        frame = release.read(file, text)
        if frame.empty:
            raise DataError(f"{file}: no records", hint=release.description)
        frame = validate_statements(frame, file, labels=release.labels, required=("id", "text", "request", "label"),
                                    check_conflicts=False)
        frame["split"] = split_of(file, release)
        frame["file"] = file.name
        frames.append(frame.drop(columns="_line"))
    records, dropped = drop_conflicts(pd.concat(frames, ignore_index=True))
    if len(dropped):
        shown = ", ".join(f"{f}:{i}" for f, i in zip(dropped["file"], dropped["id"], strict=True))
        notes.append(f"dropped {len(dropped)} record(s) whose text (for the same target) also appears with another "
                     f"label: {shown}")
    records = records.drop(columns="file")
    duplicated = records["id"].duplicated(keep=False)
    if duplicated.any():
        raise DataError(f"id(s) {', '.join(sorted(records.loc[duplicated, 'id'].unique())[:5])} are in more than one file",
                        hint="give each release file once")
    return records, notes


def drop_conflicts(records: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``records`` without those whose text (for one target) also carries another label, and the
    dropped ones. Train and dev copies go first, so a test record is dropped only when the conflict
    lies within the test set itself (releases have a few such pairs; a model cannot learn both)."""
    from stance.data import conflicting_labels

    dropped = []
    for splits in (("train", "dev"), ("train", "dev", "test")):
        conflicting = conflicting_labels(records) & records["split"].isin(splits)
        dropped.append(records[conflicting])
        records = records[~conflicting]
    return records.reset_index(drop=True), pd.concat(dropped)


def import_release(name: str, files: Sequence[str | Path], output: str | Path, *, force: bool = False) -> ImportResult:
    """Write the statements of release ``name`` under ``output``: ``statements.jsonl`` (all of them),
    ``<split>.jsonl`` per split, and ``splits.json``, which names those files."""
    release = release_format(name)
    output = Path(output)
    records, notes = read_release(name, files)
    statements, split_file = output / "statements.jsonl", output / "splits.json"
    if not force and (statements.exists() or split_file.exists()):
        raise DataError(f"{output} already holds an import", hint="pass --force to replace it")
    if "test" not in set(records["split"]) or "train" not in set(records["split"]):
        raise DataError(f"{name}: a train and a test file are needed; got {', '.join(sorted(set(records['split'])))}",
                        hint=release.description)
    written = {}
    for split in SPLITS:
        part = records[records["split"] == split].drop(columns="split")
        if len(part):
            written[split] = output / f"{split}.jsonl"
            write_frame(part, written[split])
    write_frame(records.drop(columns="split"), statements)
    write_json(split_file, {**{split: path.name for split, path in written.items()},
                            "method": f"the {name} release's own split (its files)"})
    summary = pd.crosstab(records["split"], records["label"]).reindex(
        index=[s for s in SPLITS if s in written], columns=list(release.labels), fill_value=0)
    summary["statements"] = summary.sum(axis=1)
    summary["targets"] = records.groupby("split")["request"].nunique()
    summary = summary.reset_index()
    summary.columns.name = None
    return ImportResult(statements, split_file, written, summary, notes)
