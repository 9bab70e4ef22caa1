"""A labelling session: the statements in the order shown, and the logic behind each key.

:class:`AnnotationSession` turns every action (label, skip, undo, note) into an event, logged
then applied; :func:`open_session` loads the statements, replays the annotator's log and orders
the queue (file order, a fixed random order, or what a model is least sure of first).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stance.errors import StanceError
from stance.labels import DEFAULT_LABELS
from stance.labelling.log import EventLog, ItemState, LogState, apply_event, log_annotator, now, read_events, replay

ORDERS = ("file", "random", "uncertainty")
UNCERTAINTY_MEASURES = ("entropy", "margin")
#: Fields an input file must have.
ITEM_FIELDS = ("id", "text")
_ANNOTATOR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


# What to show, in which order


def uncertainty_scores(proba: np.ndarray, measure: str = "entropy") -> np.ndarray:
    """How unsure a model is about each row of ``proba`` (higher: less sure).

    ``entropy``: ``-sum p log p`` in nats (0 for a certain guess, ``log k`` for a uniform one).
    ``margin``: ``1 - (p_top - p_second)`` (0 when one label has all the mass, 1 on a tie).
    """
    proba = np.asarray(proba, dtype=float)
    if measure == "entropy":
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(proba > 0, proba * np.log(proba), 0.0)
        return -terms.sum(axis=1)
    if measure == "margin":
        top2 = np.sort(proba, axis=1)[:, ::-1][:, :2]
        second = top2[:, 1] if proba.shape[1] > 1 else 0.0
        return 1.0 - (top2[:, 0] - second)
    raise StanceError(f"unknown uncertainty measure {measure!r}", hint=f"use {' or '.join(UNCERTAINTY_MEASURES)}")


def queue_order(n: int, order: str = "file", *, seed: int = 0, scores: np.ndarray | None = None) -> list[int]:
    """Positions of ``n`` statements in the order they are shown.

    ``file`` keeps the file's order; ``random`` is a permutation fixed by ``seed`` (the same on
    every resume); ``uncertainty`` puts the highest ``scores`` first, ties in file order.
    """
    if order == "file":
        return list(range(n))
    if order == "random":
        return [int(i) for i in np.random.default_rng(seed).permutation(n)]
    if order == "uncertainty":
        if scores is None or len(scores) != n:
            raise StanceError("--order uncertainty needs a model", hint="pass --model RUN (a trained run directory)")
        return [int(i) for i in np.argsort(-np.asarray(scores, dtype=float), kind="stable")]
    raise StanceError(f"unknown order {order!r}", hint=f"use one of {', '.join(ORDERS)}")


def load_items(path: str | Path) -> pd.DataFrame:
    """The statements to label: any CSV/JSONL/Parquet file with ``id`` and ``text`` (a label column is ignored)."""
    from stance.data import read_table, validate_statements

    frame = validate_statements(read_table(path), path, labels=None, required=ITEM_FIELDS)
    return frame.drop(columns="_line").reset_index(drop=True)


def default_log_path(source: str | Path, annotator: str) -> Path:
    """``annotations/<annotator>.jsonl`` in the folder of the statements file."""
    return Path(source).parent / "annotations" / f"{annotator}.jsonl"


def check_annotator(name: str) -> str:
    if not _ANNOTATOR_NAME.match(name or ""):
        raise StanceError(
            f"annotator name {name!r} is not usable as a file name",
            hint="use letters, digits, '.', '_' or '-', e.g. --annotator alice",
        )
    return name


@dataclass(frozen=True)
class Suggestion:
    """A model's guess for one statement."""

    label: str
    probabilities: dict[str, float]


def model_predictions(run: str | Path, items: pd.DataFrame, labels: Sequence[str]) -> tuple[np.ndarray, list[Suggestion]]:
    """Class probabilities of a trained run for ``items`` (columns in ``labels`` order) and its guesses.

    The input mode (statement alone, or request and statement) comes from the run's config.
    """
    from stance.io import probability_column
    from stance.predict import load_predictor, predict_frame

    classifier, mode = load_predictor(run)
    missing = [label for label in labels if label not in classifier.labels]
    if missing:
        raise StanceError(f"the model in {run} has no label(s) {', '.join(missing)}",
                          hint=f"its labels: {', '.join(classifier.labels)}")
    predicted = predict_frame(classifier, items, mode)
    proba = predicted[[probability_column(label) for label in labels]].to_numpy(dtype=float)
    suggestions = [
        Suggestion(labels[int(row.argmax())], {label: float(p) for label, p in zip(labels, row)}) for row in proba
    ]
    return proba, suggestions


# A session: the logic behind the keys


@dataclass
class Progress:
    """Counts over the statements of this session's file."""

    total: int
    labelled: int
    skipped: int
    position: int | None  # index in the queue of the statement on screen

    @property
    def remaining(self) -> int:
        return self.total - self.labelled


@dataclass
class Summary:
    """How a session ended."""

    progress: Progress
    log: Path
    interrupted: bool = False

    def line(self) -> str:
        p = self.progress
        how = "stopped (Ctrl-C); " if self.interrupted else ""
        text = f"{how}{p.labelled} of {p.total} statements labelled"
        if p.skipped:
            text += f", {p.skipped} skipped"
        text += f"; saved in {self.log}"
        if p.remaining:
            text += " (run the same command to resume)"
        return text


class AnnotationSession:
    """One annotator working through one file: every action is an event, logged then applied.

    ``items`` are the statements in the order shown. The statement on screen is the first *open*
    one (no label, not skipped) from the current position, wrapping around. When only skipped
    statements are left at the start of a session, they are open again ("revisit").
    """

    def __init__(self, items: pd.DataFrame, log: EventLog, annotator: str, *, state: LogState | None = None,
                 labels: Sequence[str] = DEFAULT_LABELS, suggestions: Sequence[Suggestion] | None = None,
                 clock: Callable[[], str] = now) -> None:
        self.items = items.reset_index(drop=True)
        self.ids = self.items["id"].astype(str).tolist()
        self.index = {item_id: i for i, item_id in enumerate(self.ids)}
        self.log = log
        self.annotator = annotator
        self.labels = list(labels)
        self.state = state or LogState()
        self.suggestions = list(suggestions) if suggestions is not None else None
        self.clock = clock
        self._skipped_here: set[str] = set()
        self.revisit = False
        self.revisit = not any(self._open_at(i) for i in range(len(self.ids))) and any(
            self.state.items.get(i, ItemState()).skipped for i in self.ids
        )
        self.position = self._next_open(0)

    # -- what is on screen

    def _open_at(self, i: int) -> bool:
        item = self.state.items.get(self.ids[i])
        if item is None:
            return True
        if item.label is not None:
            return False
        if not item.skipped:
            return True
        return self.revisit and self.ids[i] not in self._skipped_here

    def _next_open(self, start: int) -> int | None:
        n = len(self.ids)
        for step in range(n):
            i = (start + step) % n
            if self._open_at(i):
                return i
        return None

    @property
    def done(self) -> bool:
        return self.position is None

    @property
    def current(self) -> pd.Series | None:
        return None if self.position is None else self.items.iloc[self.position]

    @property
    def current_id(self) -> str | None:
        return None if self.position is None else self.ids[self.position]

    def suggestion(self) -> Suggestion | None:
        if self.suggestions is None or self.position is None:
            return None
        return self.suggestions[self.position]

    def progress(self) -> Progress:
        labelled = skipped = 0
        for item_id in self.ids:
            item = self.state.items.get(item_id)
            if item is not None:
                labelled += item.label is not None
                skipped += item.skipped
        return Progress(len(self.ids), labelled, skipped, self.position)

    def note_of(self, item_id: str) -> str:
        item = self.state.items.get(item_id)
        return item.note if item else ""

    # -- actions

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"event": kind, **fields, "annotator": self.annotator, "time": self.clock()}
        self.log.append(event)  # durable first, then applied: the screen never shows an unsaved label
        apply_event(self.state, event)
        return event

    def label(self, label: str) -> None:
        """Label the statement on screen and move to the next open one."""
        if self.position is None:
            return
        if label not in self.labels:
            raise StanceError(f"unknown label {label!r}", hint=f"allowed: {', '.join(self.labels)}")
        extra = {}
        suggestion = self.suggestion()
        if suggestion is not None:  # kept so that agreement with the model's guess can be studied
            extra["suggestion"] = suggestion.label
        item_id = self.ids[self.position]
        self._event("label", id=item_id, label=label, **extra)
        self._skipped_here.discard(item_id)
        self.position = self._next_open(self.position + 1)

    def skip(self) -> None:
        """Leave the statement on screen for later (it comes back after the others)."""
        if self.position is None:
            return
        item_id = self.ids[self.position]
        self._event("skip", id=item_id)
        self._skipped_here.add(item_id)
        self.position = self._next_open(self.position + 1)

    def undo(self) -> str | None:
        """Retract the last live label or skip of this file and show that statement again.

        Works across sessions (the undo order is replayed from the log). Returns the id, or
        None when there is nothing to undo.
        """
        target = next((i for i in reversed(self.state.decisions) if i in self.index), None)
        if target is None:
            return None
        self._event("retract", id=target)
        self._skipped_here.discard(target)
        self.position = self.index[target]
        return target

    def note(self, text: str) -> None:
        """Attach a free-text note to the statement on screen (an empty note clears it)."""
        if self.position is None:
            return
        item_id = self.ids[self.position]
        text = text.strip()
        if text or self.note_of(item_id):
            self._event("note", id=item_id, note=text)


def open_session(source: str | Path, annotator: str, *, out: str | Path | None = None, order: str = "file",
                 model: str | Path | None = None, suggest: bool = False, seed: int = 0,
                 uncertainty: str = "entropy", labels: Sequence[str] = DEFAULT_LABELS,
                 clock: Callable[[], str] = now) -> AnnotationSession:
    """Load the statements, replay the annotator's log and start a session (logging its start).

    The caller closes ``session.log`` when done.
    """
    check_annotator(annotator)
    if order not in ORDERS:
        raise StanceError(f"unknown order {order!r}", hint=f"use one of {', '.join(ORDERS)}")
    if (order == "uncertainty" or suggest) and model is None:
        raise StanceError(f"{'--order uncertainty' if order == 'uncertainty' else '--suggest'} needs a model",
                          hint="pass --model RUN (a trained run directory)")
    items = load_items(source)
    out = Path(out) if out is not None else default_log_path(source, annotator)
    events = read_events(out, labels)
    owner = log_annotator(events)
    if owner is not None and owner != annotator:
        raise StanceError(f"{out} holds the annotations of {owner!r}, not {annotator!r}",
                          hint="check --annotator, or give this annotator their own --out file")
    proba = suggestions = None
    if model is not None:
        proba, suggestions = model_predictions(model, items, labels)
    scores = uncertainty_scores(proba, uncertainty) if proba is not None else None
    positions = queue_order(len(items), order, seed=seed, scores=scores)
    items = items.iloc[positions].reset_index(drop=True)
    if suggestions is not None:
        suggestions = [suggestions[i] for i in positions] if suggest else None
    log = EventLog(out)
    try:
        session = AnnotationSession(items, log, annotator, state=replay(events), labels=labels,
                                    suggestions=suggestions, clock=clock)
        from stance.data import file_sha256

        log.append({"event": "session", "annotator": annotator, "time": clock(),
                    "source": os.path.relpath(Path(source).resolve(), out.resolve().parent),
                    "source_sha256": file_sha256(source), "order": order, "seed": seed if order == "random" else None,
                    "model": str(model) if model is not None else None, "suggest": suggest})
    except BaseException:
        log.close()
        raise
    return session
