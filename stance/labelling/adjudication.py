"""Adjudication: annotators' labels merged into gold labels (the adjudicator's label, else the
majority; ties flagged), written as a corpus file with a votes table and a report of the ties."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from stance.errors import DataError, StanceError
from stance.labelling.agreement import Annotations, label_matrix, load_annotations, read_annotations
from stance.labels import DEFAULT_LABELS


def adjudicate(annotations: Sequence[Annotations], adjudicator: Annotations | None = None) -> pd.DataFrame:
    """Gold labels: the adjudicator's label where given, else the majority; ties stay unresolved.

    One row per statement: ``id``, ``label`` ("" when unresolved), ``method`` (``adjudicator``,
    ``unanimous``, ``majority``, ``single`` for one annotator only, or ``tie``), ``votes`` and each
    annotator's label.
    """
    matrix = label_matrix(annotations)
    if adjudicator is not None:
        for item_id in adjudicator.labels:
            if item_id not in matrix.index:
                matrix.loc[item_id] = None
    rows = []
    for item_id, row in matrix.iterrows():
        given = [v for v in row.tolist() if v is not None and v == v]
        votes = Counter(given)
        ranked = votes.most_common()
        if adjudicator is not None and item_id in adjudicator.labels:
            label, method = adjudicator.labels[item_id], "adjudicator"
        elif not ranked:
            continue
        elif len(ranked) == 1:
            label, method = ranked[0][0], "unanimous" if len(given) > 1 else "single"
        elif ranked[0][1] > ranked[1][1]:
            label, method = ranked[0][0], "majority"
        else:
            label, method = "", "tie"
        rows.append({"id": item_id, "label": label, "method": method, "annotators": len(given),
                     "votes": ", ".join(f"{lab}:{n}" for lab, n in ranked),
                     **{name: (v if v is not None and v == v else "") for name, v in row.items()}})
    return pd.DataFrame(rows)


@dataclass
class Adjudication:
    """What :func:`adjudicate_files` wrote."""

    gold: pd.DataFrame  # every statement: label, method, votes, each annotator's label
    corpus: pd.DataFrame  # the resolved statements with their source fields and the gold label
    unresolved: pd.DataFrame  # the ties, with their source fields and each annotator's label
    out: Path
    gold_path: Path
    unresolved_path: Path
    source: Path

    def method_counts(self) -> pd.DataFrame:
        """How each label was decided (adjudicator, unanimous, majority, single, tie): statements per method."""
        return self.gold["method"].value_counts().rename_axis("method").reset_index(name="statements")


def report_paths(out: str | Path) -> tuple[Path, Path]:
    """Where the adjudication table and the unresolved report go: beside ``out``."""
    out = Path(out)
    stem = out.name[: -len(out.suffix)] if out.suffix else out.name
    return out.with_name(f"{stem}.adjudication.csv"), out.with_name(f"{stem}.unresolved.csv")


def adjudicate_files(paths: Sequence[str | Path], out: str | Path, *, adjudicator: str | Path | None = None,
                     corpus: str | Path | None = None, force: bool = False,
                     labels: Sequence[str] = DEFAULT_LABELS) -> Adjudication:
    """Merge annotation files into gold labels and write a corpus file that ``stance data validate`` accepts.

    The record fields come from ``corpus`` (the statements file that was annotated; by default the
    one the logs name). Writes ``out`` (resolved statements only), ``<out>.adjudication.csv`` (every
    statement with its votes) and ``<out>.unresolved.csv`` (the ties, ready for
    ``stance annotate ... --annotator <adjudicator>``). Refuses to overwrite any of them without
    ``force``.
    """
    from stance.data import file_format, read_table, validate_statements
    from stance.io import write_frame

    out = Path(out)
    file_format(out)
    gold_path, unresolved_path = report_paths(out)
    for path in (out, gold_path, unresolved_path):
        if path.exists() and not force:
            raise StanceError(f"{path} already exists", hint="pass --force to overwrite it")
    annotations = load_annotations(paths, labels)
    judge = read_annotations(adjudicator, labels) if adjudicator is not None else None
    source = Path(corpus) if corpus is not None else _common_source(annotations)
    statements = validate_statements(read_table(source), source, labels=None, required=("id",))
    statements["id"] = statements["id"].astype(str)
    gold = adjudicate(annotations, judge)
    unknown = sorted(set(gold["id"]) - set(statements["id"]))
    if unknown:
        raise DataError(f"{len(unknown)} annotated id(s) are not in {source}: {', '.join(unknown[:5])}",
                        hint="pass the statements file that was annotated with --corpus")
    resolved = gold[gold["label"] != ""].set_index("id")["label"]
    records = statements[statements["id"].isin(resolved.index)].copy()
    records["label"] = records["id"].map(resolved)
    records = validate_statements(records, out).drop(columns="_line").reset_index(drop=True)
    ties = gold[gold["method"] == "tie"]
    annotator_columns = [a.annotator for a in annotations]
    unresolved = statements.drop(columns=["_line", "label"], errors="ignore").merge(
        ties[["id", "votes", *annotator_columns]], on="id", how="inner")
    write_frame(records, out)
    write_frame(gold, gold_path)
    write_frame(unresolved, unresolved_path)
    return Adjudication(gold, records, unresolved, out, gold_path, unresolved_path, source)


def _common_source(annotations: Sequence[Annotations]) -> Path:
    sources = {a.source for a in annotations if a.source is not None}
    if len(sources) == 1:
        source = sources.pop()
        if source.is_file():
            return source
        raise StanceError(f"the annotated statements file {source} no longer exists", hint="pass it with --corpus")
    if not sources:
        raise StanceError("the files do not say which statements file was annotated",
                          hint="pass it with --corpus FILE")
    raise StanceError(f"the files were made on different statements files: {', '.join(sorted(map(str, sources)))}",
                      hint="pass the one to take the record fields from with --corpus")
