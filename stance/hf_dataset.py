"""The corpus as a Hugging Face dataset: ``stance data export --format hf DIR``, and its split read back.

An export is a folder written by ``datasets.DatasetDict.save_to_disk``: the splits ``train``,
``dev`` and ``test`` of the statements (by the split file, so by episode), ``label`` a
``ClassLabel`` with the label set's names in report order, every other column kept as a string,
plus a dataset card (``README.md``) generated from the corpus and its datasheet, and the
datasheet itself. ``datasets.load_from_disk(DIR)`` reads it, and so does stance: ``data.path: DIR``
trains on it, the split coming from the folder's own splits (:func:`dataset_split`).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from stance.data import is_dataset_dict, load_statements, word_counts
from stance.datasheet import datasheet_section
from stance.errors import DataError, StanceError
from stance.io import write_atomic
from stance.labels import DEFAULT_LABELS
from stance.runs import package_licence
from stance.splits import SPLITS, Split, load_split

#: Split names other tools give the dev split, read as ``dev``.
DEV_ALIASES = ("validation", "valid", "dev")
#: Columns documented in the dataset card's field table (the others are listed by name).
FIELD_NOTES = {
    "id": "unique record id",
    "text": "the statement (one to three sentences, in the project's words)",
    "actor": "the government (or bloc) answering",
    "requester": "who made the request",
    "request": "what was asked",
    "episode": "the request episode; splits are made by episode",
    "date": "when the request was made",
    "label": "how the actor answers",
    "actor_type": "`government`, or `organisation` for a bloc answering as one",
    "request_direction": "`act` (send, join, vote for) or `refrain` (stop buying, boycott, stay out)",
    "source_type": "direct quote, reported speech, communique, ...",
    "request_kind": "what was asked: troops, aircraft, money, sanctions, vote, ...",
    "hard_case": "the hard case the label turned on, if any (CODEBOOK.md section 4)",
    "basis": "the documented event the text restates",
    "grounding": "`source`: a stored news page reports the answer; `background`: none found",
    "source_url": "the page that reports the answer",
    "source_outlet": "the outlet of that page",
    "source_published": "the page's date",
    "speaker": "who gave the answer",
    "speaker_role": "their office",
}


def export_hf(path: str | Path, splits: str | Path, out: str | Path, *, labels: Sequence[str] = DEFAULT_LABELS,
              force: bool = False) -> pd.DataFrame:
    """Write the statements in ``path``, split by the split file ``splits``, as a ``DatasetDict``
    in ``out`` with a dataset card; returns the statements per split and label.

    An existing ``out`` is replaced only with ``force``.
    """
    import datasets

    datasets.disable_progress_bars()  # a bar per split is noise in a CLI report
    out = Path(out)
    if out.exists() and not force:
        raise StanceError(f"{out} already exists", hint="pass --force to replace it, or choose another folder")
    frame = load_statements(path, labels)
    assigned = load_split(splits).assign(frame, str(path))
    columns = [c for c in frame.columns if c != "label"]
    features = datasets.Features({**{c: datasets.Value("string") for c in columns},
                                  "label": datasets.ClassLabel(names=list(labels))})
    parts = {}
    for name in SPLITS:
        part = frame[assigned == name]
        rows: dict[str, list[Any]] = {c: [None if pd.isna(v) else str(v) for v in part[c]] for c in columns}
        rows["label"] = part["label"].tolist()
        parts[name] = datasets.Dataset.from_dict(rows, features=features)
    dataset = datasets.DatasetDict(parts)
    if out.exists():
        shutil.rmtree(out)
    dataset.save_to_disk(str(out))
    sheet = Path(path).parent / "DATASHEET.md"
    if sheet.is_file():
        shutil.copyfile(sheet, out / "DATASHEET.md")
    counts = _split_counts(frame, assigned, labels)
    write_atomic(out / "README.md", dataset_card(frame, features, counts, labels, source=Path(path), sheet=sheet,
                                                 folder=out))
    return counts


def dataset_split(path: str | Path) -> Split:
    """The episode split a saved ``DatasetDict`` holds: each episode in the split its rows are in
    (``validation`` read as ``dev``). An episode in two splits is an error: stance splits by episode."""
    import datasets

    if not is_dataset_dict(path):
        raise DataError(f"{path} is not a saved Hugging Face DatasetDict", hint="write one with `stance data export --format hf`")
    saved = datasets.load_from_disk(str(path))
    unknown = [name for name in saved if name not in SPLITS and name not in DEV_ALIASES]
    if unknown:
        raise DataError(f"{path}: split(s) {', '.join(unknown)} are not train, dev (validation) or test",
                        hint="rename the splits of the DatasetDict")
    episodes: dict[str, str] = {}
    for name, part in saved.items():
        split = "dev" if name in DEV_ALIASES else name
        if "episode" not in part.column_names:
            raise DataError(f"{path}: split {name!r} has no 'episode' column", hint="see data/CODEBOOK.md")
        for episode in set(part["episode"]):
            if episodes.setdefault(episode, split) != split:
                raise DataError(f"{path}: episode {episode!r} is in both {episodes[episode]} and {split}",
                                hint="stance splits by episode: move its statements into one split")
    return Split(dict(sorted(episodes.items())), seed=-1, dev_fraction=float("nan"), test_fraction=float("nan"),
                 method=f"the splits of the Hugging Face DatasetDict {Path(path).as_posix()}")


def _split_counts(frame: pd.DataFrame, assigned: pd.Series, labels: Sequence[str]) -> pd.DataFrame:
    table = pd.crosstab(assigned, frame["label"]).reindex(index=list(SPLITS), columns=list(labels), fill_value=0)
    table["statements"] = table.sum(axis=1)
    table["episodes"] = frame.groupby(assigned)["episode"].nunique().reindex(list(SPLITS), fill_value=0)
    return table.rename_axis("split").reset_index().rename_axis(None, axis=1)


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "n>1M"


def dataset_card(frame: pd.DataFrame, features, counts: pd.DataFrame, labels: Sequence[str], *,
                 source: Path, sheet: Path, folder: Path) -> str:
    """The dataset card: Hub YAML metadata (licence, language, task, size, features, splits), then
    summary, structure, splits, the datasheet's caveats and uses, and how to load it."""
    feature_info = []
    for name in features:
        if name == "label":
            feature_info.append({"name": name, "dtype": {"class_label": {"names": {str(i): n for i, n in enumerate(labels)}}}})
        else:
            feature_info.append({"name": name, "dtype": "string"})
    front = {
        "license": package_licence(),
        "language": ["en"],
        "pretty_name": f"stance: {source.stem}",
        "task_categories": ["text-classification"],
        "size_categories": [_size_category(len(frame))],
        "tags": ["stance", "stance-detection", "political-science", "international-relations"],
        "dataset_info": {
            "features": feature_info,
            "splits": [{"name": row["split"], "num_examples": int(row["statements"])} for row in counts.to_dict("records")],
        },
    }
    words = word_counts(frame)
    fields = pd.DataFrame([{"field": c, "meaning": FIELD_NOTES.get(c, "")} for c in features])
    table = counts.copy()
    parts = [
        "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---",
        f"# stance: {source.stem}",
        f"Statements by or about governments answering an ally's or partner's request, each labelled with how the "
        f"government answers ({', '.join(labels)}). {len(frame):,} statements from {frame['episode'].nunique()} "
        f"request episodes, {int(words.median())} words at the median. Exported by `stance data export --format hf` "
        f"from `{source.as_posix()}`; the split is by episode, so no episode is in two splits.",
        "## Structure\n\nA `DatasetDict` saved with `save_to_disk`: `label` is a `ClassLabel` "
        f"({', '.join(f'{i} = {n}' for i, n in enumerate(labels))}), every other field a string.\n\n"
        + fields.to_markdown(index=False),
        "## Splits\n\n" + table.to_markdown(index=False),
    ]
    for heading, title, whole in (("Known gaps and biases", "Caveats", False), ("Uses", "Uses", True)):
        text = datasheet_section(sheet, heading, first_sentence=not whole)
        if text:
            parts.append(f"## {title} (from the datasheet)\n\n{text}")
    if not sheet.is_file():
        parts.append("## Caveats\n\nNo datasheet was found beside the source file; document the data before sharing it.")
    parts.append(
        f"## How to load\n\n```python\nimport datasets\n\nsplits = datasets.load_from_disk(\"{folder.as_posix()}\")\n"
        f"splits[\"train\"].features[\"label\"].names\n```\n\nor train on it with stance: `data.path: {folder.as_posix()}` in "
        "a config "
        "(the split comes from the folder's own splits).")
    return "\n\n".join(parts) + "\n"
