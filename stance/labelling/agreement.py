"""Agreement between annotators, and adjudication of their labels into a corpus.

Inputs are annotation logs written by ``stance annotate`` (replayed to their current labels) or
plain label files (CSV/JSONL/Parquet with ``id`` and ``label``, e.g. a corpus or a second pass;
the annotator is the file's stem).

Statistics (nominal labels):

- **Cohen's kappa** for a pair of annotators, on the statements both labelled
  (:func:`sklearn.metrics.cohen_kappa_score`).
- **Fleiss' kappa** (Fleiss 1971) for any number of annotators, on the statements every one of
  them labelled; with :func:`fleiss_category_kappas` per label.
- **Krippendorff's alpha** (nominal; Krippendorff 2011), which uses every statement with at least
  two labels, so annotators may have labelled different subsets.
- **Specific agreement** per label: of the pairs of labels on a statement where one annotator used
  the label, the share where the other did too (for two annotators ``2a / (2a + b + c)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from stance.errors import DataError, StanceError
from stance.labelling.log import log_annotator, log_source, read_events, replay
from stance.labels import DEFAULT_LABELS


# Reading annotations


@dataclass
class Annotations:
    """One annotator's current labels (and notes), and the statements file they were made on."""

    annotator: str
    labels: dict[str, str]
    notes: dict[str, str] = field(default_factory=dict)
    source: Path | None = None
    path: Path | None = None


def read_annotations(path: str | Path, labels: Sequence[str] = DEFAULT_LABELS) -> Annotations:
    """Read an annotation log (replayed: undone labels are gone) or a plain ``id,label`` file."""
    from stance.data import read_table

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist", hint="check the path")
    if path.suffix.lower() in (".jsonl", ".json") and _is_event_log(path):
        events = read_events(path, labels)
        state = replay(events)
        return Annotations(log_annotator(events) or path.stem, state.labels(), state.notes(),
                           log_source(events, path), path)
    frame = read_table(path)
    missing = [c for c in ("id", "label") if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: neither an annotation log nor a label file (no {' or '.join(missing)} column)",
                        hint="pass logs written by `stance annotate` or files with id and label columns")
    frame = frame[frame["label"].astype(str).str.strip() != ""]
    unknown = sorted(set(frame["label"].astype(str).str.lower()) - set(labels))
    if unknown:
        raise DataError(f"{path}: unknown label(s) {', '.join(unknown)}", hint=f"allowed: {', '.join(labels)}")
    dup = frame["id"].astype(str).duplicated()
    if dup.any():
        raise DataError(f"{path}: duplicate id(s) {', '.join(frame.loc[dup, 'id'].astype(str).head(5))}")
    notes = {}
    if "note" in frame.columns:
        notes = {str(i): str(n) for i, n in zip(frame["id"], frame["note"]) if str(n).strip() not in ("", "nan")}
    return Annotations(path.stem, dict(zip(frame["id"].astype(str), frame["label"].astype(str).str.lower())),
                       notes, None, path)


def _is_event_log(path: Path) -> bool:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                return '"event"' in line
    return False


def load_annotations(paths: Sequence[str | Path], labels: Sequence[str] = DEFAULT_LABELS) -> list[Annotations]:
    """Read several files; two files may not claim the same annotator."""
    result = [read_annotations(p, labels) for p in paths]
    seen: dict[str, Path | None] = {}
    for ann in result:
        if ann.annotator in seen:
            raise DataError(f"{ann.path} and {seen[ann.annotator]} are both by annotator {ann.annotator!r}",
                            hint="pass each annotator's file once")
        seen[ann.annotator] = ann.path
    return result


def label_matrix(annotations: Sequence[Annotations]) -> pd.DataFrame:
    """Statements × annotators: the label each annotator gave, ``None`` where none was given.

    Rows are in the order the statements first appear across the files.
    """
    ids: dict[str, None] = {}
    for ann in annotations:
        ids.update(dict.fromkeys(ann.labels))
    frame = pd.DataFrame({ann.annotator: [ann.labels.get(i) for i in ids] for ann in annotations},
                         index=pd.Index(list(ids), name="id"), dtype=object)
    return frame


def category_counts(matrix: pd.DataFrame, labels: Sequence[str]) -> np.ndarray:
    """Statements × labels: how many annotators gave each label to each statement."""
    return np.stack([(matrix == label).sum(axis=1).to_numpy() for label in labels], axis=1).astype(float)


# Statistics


def cohen_kappa(a: Sequence[str], b: Sequence[str], labels: Sequence[str] = DEFAULT_LABELS) -> float:
    """Cohen's kappa of two annotators' labels on the same statements (NaN when undefined)."""
    from sklearn.metrics import cohen_kappa_score

    if len(a) == 0:
        return float("nan")
    if len(set(a) | set(b)) == 1:  # both used one and the same label: chance agreement is 1
        return float("nan")
    return float(cohen_kappa_score(list(a), list(b), labels=list(labels)))


def fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' kappa from a statements × categories table of counts (same number of raters per row).

    ``P_i = (sum_j n_ij^2 - n) / (n (n - 1))``, ``p_j = sum_i n_ij / (N n)``,
    ``kappa = (mean P_i - sum p_j^2) / (1 - sum p_j^2)``.
    """
    counts = np.asarray(counts, dtype=float)
    if counts.size == 0:
        return float("nan")
    raters = counts.sum(axis=1)
    n = raters[0]
    if not np.all(raters == n) or n < 2:
        raise ValueError("Fleiss' kappa needs the same number (at least 2) of ratings on every statement")
    p_j = counts.sum(axis=0) / counts.sum()
    p_i = (np.sum(counts**2, axis=1) - n) / (n * (n - 1))
    p_bar, p_e = p_i.mean(), np.sum(p_j**2)
    return float("nan") if np.isclose(p_e, 1.0) else float((p_bar - p_e) / (1 - p_e))


def fleiss_category_kappas(counts: np.ndarray) -> np.ndarray:
    """Fleiss' kappa for each category against the rest (Fleiss 1971, eq. 17).

    ``kappa_j = 1 - sum_i n_ij (n - n_ij) / (N n (n - 1) p_j q_j)``; NaN for a category nobody
    used or everybody always used.
    """
    counts = np.asarray(counts, dtype=float)
    if counts.size == 0:
        return np.full(counts.shape[1] if counts.ndim == 2 else 0, np.nan)
    N, n = counts.shape[0], counts.sum(axis=1)[0]
    p_j = counts.sum(axis=0) / (N * n)
    disagreement = np.sum(counts * (n - counts), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappas = 1 - disagreement / (N * n * (n - 1) * p_j * (1 - p_j))
    return np.where((p_j > 0) & (p_j < 1), kappas, np.nan)


def coincidence_matrix(counts: np.ndarray) -> np.ndarray:
    """Krippendorff's coincidence matrix from statements × categories counts.

    Statements with fewer than two labels are not pairable and are left out.
    """
    counts = np.asarray(counts, dtype=float)
    m = counts.sum(axis=1)
    pairable = counts[m >= 2]
    m = m[m >= 2]
    k = counts.shape[1]
    o = np.zeros((k, k))
    for row, m_u in zip(pairable, m):
        o += (np.outer(row, row) - np.diag(row)) / (m_u - 1)
    return o


def krippendorff_alpha(counts: np.ndarray) -> float:
    """Krippendorff's alpha for nominal data from statements × categories counts (missing allowed).

    ``alpha = 1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c n_k`` with ``o`` the coincidence
    matrix and ``n_c`` its margins. NaN when fewer than two labels are pairable or only one
    category occurs.
    """
    o = coincidence_matrix(counts)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    off = ~np.eye(len(n_c), dtype=bool)
    expected = (np.outer(n_c, n_c))[off].sum()
    if n < 2 or expected == 0:
        return float("nan")
    return float(1 - (n - 1) * o[off].sum() / expected)


def specific_agreement(counts: np.ndarray) -> np.ndarray:
    """Per category: ``sum_i n_ij (n_ij - 1) / sum_i n_ij (m_i - 1)`` over statements with ≥ 2 labels.

    The share of a label's uses that another annotator matched on the same statement; for two
    annotators ``2a / (2a + b + c)``. NaN for a label nobody used.
    """
    counts = np.asarray(counts, dtype=float)
    m = counts.sum(axis=1)
    counts, m = counts[m >= 2], m[m >= 2]
    numerator = np.sum(counts * (counts - 1), axis=0)
    denominator = np.sum(counts * (m[:, None] - 1), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


# Reports


def agreement_report(annotations: Sequence[Annotations], labels: Sequence[str] = DEFAULT_LABELS,
                     statements: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Agreement tables: ``summary``, ``pairwise``, ``per_label``, ``confusion``, ``disagreements``.

    ``statements`` (a frame with ``id``), when given, adds each disagreement's text and context.
    """
    if len(annotations) < 2:
        raise StanceError("agreement needs the labels of at least two annotators", hint="pass two or more files")
    labels = list(labels)
    matrix = label_matrix(annotations)
    names = list(matrix.columns)
    counts = category_counts(matrix, labels)
    rated = counts.sum(axis=1)
    shared = rated >= 2
    complete = rated == len(names)
    if not shared.any():
        raise StanceError("no statement was labelled by two annotators", hint="check the files cover the same ids")

    agree_all = float((counts[shared].max(axis=1) == rated[shared]).mean())
    summary = [{"statistic": "raw agreement (all labels equal)", "value": agree_all,
                "annotators": len(names), "statements": int(shared.sum())}]
    pairwise = pairwise_table(matrix, labels)
    if len(names) == 2:
        summary.append({"statistic": "Cohen's kappa", "value": pairwise["cohen_kappa"].iloc[0],
                        "annotators": 2, "statements": int(pairwise["statements"].iloc[0])})
    else:
        summary.append({"statistic": "mean pairwise Cohen's kappa", "value": float(pairwise["cohen_kappa"].mean()),
                        "annotators": len(names), "statements": int(shared.sum())})
        summary.append({"statistic": "Fleiss' kappa (statements labelled by all)",
                        "value": fleiss_kappa(counts[complete]) if complete.any() else float("nan"),
                        "annotators": len(names), "statements": int(complete.sum())})
    summary.append({"statistic": "Krippendorff's alpha (nominal)", "value": krippendorff_alpha(counts),
                    "annotators": len(names), "statements": int(shared.sum())})

    per_label = pd.DataFrame({"label": labels})
    for name in names:
        per_label[f"n_{name}"] = [int((matrix[name] == label).sum()) for label in labels]
    per_label["specific_agreement"] = specific_agreement(counts)
    per_label["fleiss_kappa"] = fleiss_category_kappas(counts[complete]) if complete.any() else np.nan

    return {
        "summary": pd.DataFrame(summary),
        "pairwise": pairwise,
        "per_label": per_label,
        "confusion": confusion_table(matrix, labels),
        "disagreements": disagreements(matrix, annotations, statements),
    }


def pairwise_table(matrix: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """One row per pair of annotators: statements both labelled, raw agreement, Cohen's kappa."""
    rows = []
    for a, b in combinations(matrix.columns, 2):
        both = matrix[[a, b]].dropna()
        rows.append({"annotator_a": a, "annotator_b": b, "statements": len(both),
                     "agreement": float((both[a] == both[b]).mean()) if len(both) else float("nan"),
                     "cohen_kappa": cohen_kappa(both[a].tolist(), both[b].tolist(), labels)})
    return pd.DataFrame(rows)


def confusion_table(matrix: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """For each pair: rows the first annotator's label, columns the second's, on shared statements."""
    blocks = []
    for a, b in combinations(matrix.columns, 2):
        both = matrix[[a, b]].dropna()
        table = pd.crosstab(pd.Categorical(both[a], categories=labels), pd.Categorical(both[b], categories=labels),
                            dropna=False).reindex(index=labels, columns=labels, fill_value=0)
        block = pd.DataFrame({"annotator_a": a, "annotator_b": b, "label_a": labels})
        for label in labels:
            block[label] = table[label].to_numpy().astype(int)
        blocks.append(block)
    return pd.concat(blocks, ignore_index=True)


def disagreements(matrix: pd.DataFrame, annotations: Sequence[Annotations],
                  statements: pd.DataFrame | None = None) -> pd.DataFrame:
    """Statements whose labels differ: each annotator's label and notes (and the text, if known)."""
    distinct = matrix.apply(lambda row: row.dropna().nunique(), axis=1)
    rows = matrix[distinct > 1].fillna("").reset_index()
    notes = []
    for item_id in rows["id"]:
        parts = [f"{a.annotator}: {a.notes[item_id]}" for a in annotations if a.notes.get(item_id)]
        notes.append(" | ".join(parts))
    rows["notes"] = notes
    if statements is not None and not rows.empty:
        context = [c for c in ("text", "actor", "request") if c in statements.columns]
        rows = rows.merge(statements[["id", *context]].astype({"id": str}), on="id", how="left")
    return rows


def read_statements_context(path: str | Path) -> pd.DataFrame:
    """A statements file's ids with their text and context (for the list of disagreements)."""
    from stance.data import read_table, validate_statements

    frame = validate_statements(read_table(path), path, labels=None, required=("id", "text"))
    return frame.drop(columns="_line")
