"""The corpus workflow behind ``stance data``: describe a statements file, split it by episode and
check a split for leakage, each in one call that returns the tables to show."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from stance.data import corpus_stats, length_table, load_statements
from stance.errors import StanceError
from stance.labels import DEFAULT_LABELS
from stance.sources import register_table, source_problems
from stance.splits import (
    SPLITS,
    LeakageReport,
    check_leakage,
    extend_split,
    load_split,
    make_split,
    save_split,
    shared_groups_allowed,
    split_summary,
)


@dataclass
class CorpusDescription:
    """Tables describing a corpus (overview, label counts per facet, lengths) and what to warn about."""

    tables: dict[str, pd.DataFrame]
    warnings: list[str] = field(default_factory=list)


def describe_corpus(path: str | Path, *, model: str = "default", max_length: int = 128,
                    labels: Sequence[str] = DEFAULT_LABELS, splits: str | Path | None = None) -> CorpusDescription:
    """Counts per label and facet and text lengths of the statements in ``path``.

    ``sources`` gives the grounding and register figures (grounded statements, shares with a
    future or conditional form, a quoted fragment, two or more sentences), per split of the split
    file ``splits`` where it is given and exists (statements of episodes it lacks count as "not in
    split"); ``request_direction`` gives the labels by request direction. With ``max_length > 0`` the
    overview also counts the statements the tokenizer of ``model`` cuts at ``max_length`` tokens,
    and a warning names the first of them.
    """
    frame = load_statements(path, labels)
    tables = corpus_stats(frame, labels)
    tables["length"] = length_table(frame)
    groups = None
    if splits is not None and Path(splits).is_file():
        split = load_split(splits)
        if split.files is not None:
            groups = split.assign(frame, str(path))
        elif split.group_by in frame.columns:
            groups = frame[split.group_by].map(split.episodes).fillna("not in split")
    tables["sources"] = register_table(frame, groups, order=SPLITS)
    warnings: list[str] = []
    if max_length > 0:
        from stance.models.transformer import truncated_statements

        cut = truncated_statements(frame, model, max_length)
        n_cut = int(cut.sum())
        row = pd.DataFrame({"statistic": [f"longer than {max_length} tokens (truncated)"], "value": [str(n_cut)]})
        tables["overview"] = pd.concat([tables["overview"], row], ignore_index=True)
        if n_cut:
            ids = ", ".join(frame.loc[cut, "id"].head(5))
            more = f" and {n_cut - 5} more" if n_cut > 5 else ""
            warnings.append(f"{path}: {n_cut} statement(s) are longer than {max_length} tokens and will be truncated: "
                            f"id(s) {ids}{more} (shorten them or raise input.max_length)")
    return CorpusDescription(tables, warnings)


def split_corpus(path: str | Path, out: str | Path, *, seed: int = 13, dev_fraction: float = 0.15,
                 test_fraction: float = 0.2, force: bool = False, extend: bool = False,
                 labels: Sequence[str] = DEFAULT_LABELS, group_by: str = "episode") -> pd.DataFrame:
    """Split the statements in ``path`` into train/dev/test by episode (or by the groups of another
    column, ``group_by``), stratified by label, write the split file ``out`` and return the statements
    and episodes per split.

    An existing ``out`` is replaced only with ``force``: every run reads it. With ``extend``, the
    existing ``out`` keeps every assignment and only the episodes it lacks are split (among
    themselves, with its seed and fractions; :func:`~stance.splits.extend_split`).
    """
    out = Path(out)
    frame = load_statements(path, labels)
    if extend:
        split = extend_split(load_split(out), frame)
        save_split(split, out)
        return split_summary(frame, split.assign(frame), labels)
    if out.exists() and not force:
        raise StanceError(f"{out} already exists",
                          hint="pass --extend to split only new episodes, or --force to replace the split every run uses")
    split = make_split(frame, seed=seed, dev_fraction=dev_fraction, test_fraction=test_fraction, group_by=group_by)
    save_split(split, out)
    return split_summary(frame, split.assign(frame), labels)


#: Provenance columns that mark a file as following data/CODEBOOK.md (and so its source rules).
CODEBOOK_COLUMNS = {"source_type", "grounding", "actor_type", "source_url"}


@dataclass
class SplitCheck:
    """The statements per split and what :func:`~stance.splits.check_leakage` found across them."""

    summary: pd.DataFrame
    leakage: LeakageReport
    #: Records that break the source rules (:func:`~stance.sources.source_problems`): id, problem.
    sources: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["id", "problem"]))

    @property
    def ok(self) -> bool:
        return self.leakage.ok and self.sources.empty

    @staticmethod
    def no_problems() -> pd.DataFrame:
        return pd.DataFrame(columns=["id", "problem"])


def check_corpus_split(path: str | Path, splits: str | Path, *, threshold: float = 0.9,
                       labels: Sequence[str] = DEFAULT_LABELS) -> SplitCheck:
    """Check the split file ``splits`` against the statements in ``path``: episodes in two splits, text
    pairs across splits with TF-IDF cosine at or above ``threshold``, and the source rules (a
    grounded record names its page; quotation marks only in grounded records, at most 8 words).
    A split that names files may put a group on both sides (it says which statement goes where).
    The source rules are the codebook's: they apply to files with its provenance columns
    (:data:`CODEBOOK_COLUMNS`), not to other stance datasets (tweets quote freely)."""
    frame = load_statements(path, labels)
    split = load_split(splits)
    assigned = split.assign(frame, str(path))
    group_by = None if shared_groups_allowed(split) else split.group_by
    return SplitCheck(split_summary(frame, assigned, labels),
                      check_leakage(frame, assigned, threshold=threshold, group_by=group_by),
                      source_problems(frame) if CODEBOOK_COLUMNS & set(frame.columns) else SplitCheck.no_problems())
