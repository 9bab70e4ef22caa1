"""Labelling statements in the terminal, one at a time, with nothing ever lost.

``stance annotate FILE --annotator NAME`` shows one statement with its actor, requester, request
and episode, takes a label on a single key and appends it at once to the annotator's **event log**
(JSONL, one event a line, flushed and fsynced before the next statement appears). The log is the
only state: the current labels, the resume position and the undo history are all replayed from it,
so Ctrl-C, a closed terminal or a crash loses at most the key being pressed, and running the same
command again carries on where it stopped.

Events (every one has ``event``, ``annotator`` and ``time``):

- ``session``: written when a session starts; ``source`` (the statements file, relative to the
  log's folder), ``source_sha256``, ``order`` and ``model``.
- ``label``: ``id`` and ``label``; ``suggestion`` holds the model's guess when one was shown.
- ``skip``: ``id``; a skipped statement comes back once every other one has been seen.
- ``retract``: ``id``; undoes the statement's current label or skip. Undo never rewrites the log.
- ``note``: ``id`` and ``note`` (free text; the latest note on a statement counts).

The I/O loop (:func:`annotate_loop`) is thin: it reads keys from any :class:`KeySource` (the
terminal, a pipe, or a scripted list in tests) and calls :class:`AnnotationSession`, where the
logic lives next to the pure functions :func:`replay`, :func:`queue_order` and
:func:`uncertainty_scores`.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from stance.errors import DataError, StanceError
from stance.labels import DEFAULT_LABELS

EVENT_KINDS = ("session", "label", "skip", "retract", "note")
ORDERS = ("file", "random", "uncertainty")
UNCERTAINTY_MEASURES = ("entropy", "margin")
#: Fields shown with each statement (those present in the file).
CONTEXT_FIELDS = ("actor", "requester", "request", "episode", "date")
#: Fields an input file must have.
ITEM_FIELDS = ("id", "text")
_ANNOTATOR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

#: The label definitions shown on ``?``: a short restatement of data/CODEBOOK.md §3 and §5.
DEFINITIONS_INTRO = (
    "[bold]Ask one question:[/] does this statement say the actor will give (some of) [italic]what was asked[/]? "
    "The request field says what was asked, with its frame: which mission, whose command, where."
)
LABEL_DEFINITIONS = {
    "decline": "No. Refuses, rules out, withdraws; \"what we do is enough\"; different help instead; the same help "
               "in another frame instead; a condition treated as unmet; a rejecting vote; a bare \"not now\".",
    "consider": "Open. Under review or consultation; deferred to a date or a body; an open condition; goodwill "
                "without specifics; leaning one way but undecided; \"not now, but looking at options\"; one "
                "chamber of two has approved.",
    "comply": "Yes, fully or in part. Agrees, announces, is already doing it, extends or speeds it up; partial help "
              "in kind; an authorising vote; a firm commitment waiting only on logistics or a formality; help of "
              "the kind sought offered unasked.",
}
DEFINITIONS_OUTRO = (
    "Label the statement on its date, not the episode's outcome. Torn between consider and a decision? If a "
    "reader could report yes or no to the ally from this statement alone, label the decision. "
    "Worked hard cases: data/CODEBOOK.md."
)

_LABEL_STYLES = {"decline": "red", "consider": "yellow", "comply": "green"}


# ----------------------------------------------------------------------------------------------
# The event log


def now() -> str:
    """UTC time stamp of an event, to the second."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventLog:
    """An append-only JSONL file: each event is one ``write`` of a whole line, then fsync.

    Opening repairs a torn last line (a write cut off by a crash, the only way a line can be
    incomplete) by cutting it off, so the next event starts on a line of its own.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.repaired = False
        created = not self.path.exists()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as err:
            raise StanceError(f"cannot open the annotation log {self.path}: {err.strerror}") from None
        if created:
            _fsync_dir(self.path.parent)
        else:
            self.repaired = _cut_torn_tail(self.path)

    def append(self, event: dict[str, Any]) -> None:
        """Write one event and make it durable before returning."""
        line = json.dumps(event, ensure_ascii=False) + "\n"
        os.write(self._fd, line.encode("utf-8"))
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems do not sync directories
        pass
    finally:
        os.close(fd)


def _cut_torn_tail(path: Path) -> bool:
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return False
    with path.open("r+b") as handle:
        handle.truncate(data.rfind(b"\n") + 1)
        handle.flush()
        os.fsync(handle.fileno())
    return True


def read_events(path: str | Path, labels: Sequence[str] = DEFAULT_LABELS) -> list[dict[str, Any]]:
    """The events of a log, in order; a missing file has none.

    A last line without its newline that does not parse is a torn write and is ignored; any other
    bad line raises :class:`DataError` naming it.
    """
    path = Path(path)
    if not path.exists():
        return []
    raw = path.read_text(encoding="utf-8")
    lines = raw.split("\n")
    events = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as err:
            if number == len(lines):  # no newline after it: torn by a crash mid-write
                continue
            raise DataError(f"{path}:{number}: not valid JSON ({err.msg})") from None
        _check_event(event, path, number, labels)
        events.append(event)
    return events


def _check_event(event: Any, path: Path, number: int, labels: Sequence[str]) -> None:
    where = f"{path}:{number}"
    if not isinstance(event, dict) or event.get("event") not in EVENT_KINDS:
        raise DataError(f"{where}: not an annotation event", hint=f"each line needs 'event': one of {', '.join(EVENT_KINDS)}")
    if event["event"] != "session" and not str(event.get("id", "")).strip():
        raise DataError(f"{where}: {event['event']} event without an 'id'")
    if event["event"] == "label" and event.get("label") not in labels:
        raise DataError(f"{where}: unknown label {event.get('label')!r}", hint=f"allowed: {', '.join(labels)}")


@dataclass
class ItemState:
    """One statement's current state in a log."""

    label: str | None = None
    skipped: bool = False
    note: str = ""


@dataclass
class LogState:
    """What a log says now: each statement's state, and the live decisions in the order given."""

    items: dict[str, ItemState] = field(default_factory=dict)
    #: ids with a live label or skip, oldest first: undo takes the last one.
    decisions: list[str] = field(default_factory=list)

    def item(self, item_id: str) -> ItemState:
        return self.items.setdefault(item_id, ItemState())

    def labels(self) -> dict[str, str]:
        """id → current label, for the labelled statements."""
        return {i: s.label for i, s in self.items.items() if s.label is not None}

    def notes(self) -> dict[str, str]:
        return {i: s.note for i, s in self.items.items() if s.note}


def apply_event(state: LogState, event: dict[str, Any]) -> None:
    """Fold one event into ``state``: the latest label or skip on a statement wins; retract clears it."""
    kind = event["event"]
    if kind == "session":
        return
    item_id = str(event["id"])
    item = state.item(item_id)
    if kind == "note":
        item.note = str(event.get("note") or "")
        return
    if item_id in state.decisions:
        state.decisions.remove(item_id)
    if kind == "label":
        item.label, item.skipped = str(event["label"]), False
    elif kind == "skip":
        item.label, item.skipped = None, True
    else:  # retract
        item.label, item.skipped = None, False
        return
    state.decisions.append(item_id)


def replay(events: Iterable[dict[str, Any]]) -> LogState:
    """The state a sequence of events leaves: current labels, skips, notes and undo order."""
    state = LogState()
    for event in events:
        apply_event(state, event)
    return state


def log_annotator(events: Iterable[dict[str, Any]]) -> str | None:
    """The annotator named by a log's events (None for an empty log)."""
    for event in events:
        if event.get("annotator"):
            return str(event["annotator"])
    return None


def log_source(events: Iterable[dict[str, Any]], log_path: str | Path) -> Path | None:
    """The statements file of the log's latest session, resolved against the log's folder."""
    source = None
    for event in events:
        if event.get("event") == "session" and event.get("source"):
            source = str(event["source"])
    if source is None:
        return None
    path = Path(source)
    return path if path.is_absolute() else Path(os.path.normpath(Path(log_path).parent / path))


# ----------------------------------------------------------------------------------------------
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
    from stance.predict import load_predictor, predict_frame

    classifier, mode = load_predictor(run)
    missing = [label for label in labels if label not in classifier.labels]
    if missing:
        raise StanceError(f"the model in {run} has no label(s) {', '.join(missing)}",
                          hint=f"its labels: {', '.join(classifier.labels)}")
    predicted = predict_frame(classifier, items, mode)
    proba = predicted[[f"p_{label}" for label in labels]].to_numpy(dtype=float)
    suggestions = [
        Suggestion(labels[int(row.argmax())], {label: float(p) for label, p in zip(labels, row)}) for row in proba
    ]
    return proba, suggestions


# ----------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------
# Keys in, screens out: the thin I/O loop


class KeySource(Protocol):
    """Where keys come from: ``key()`` one key (None at end of input), ``line()`` a typed line."""

    def key(self) -> str | None: ...

    def line(self, prompt: str) -> str | None: ...


class ScriptedKeys:
    """Keys from a list, for tests and scripts: an exception in the list is raised when reached
    (a simulated crash or Ctrl-C); ``line()`` takes the next item as the whole line."""

    def __init__(self, script: Iterable[str | BaseException]) -> None:
        self._script: Iterator[str | BaseException] = iter(script)

    def _next(self) -> str | None:
        item = next(self._script, None)
        if isinstance(item, BaseException):
            raise item
        return item

    def key(self) -> str | None:
        return self._next()

    def line(self, prompt: str) -> str | None:
        return self._next()


class StreamKeys:
    """Keys from a non-interactive stream (a pipe): one non-blank character is one key, and a
    note is the rest of the line after ``n`` (or the next line). End of input quits."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def key(self) -> str | None:
        while True:
            char = self.stream.read(1)
            if not char:
                return None
            if not char.isspace():
                return char

    def line(self, prompt: str) -> str | None:
        text = self.stream.readline()
        if text.strip() == "":
            text = self.stream.readline()
        return text.rstrip("\r\n") if text else None


class TerminalKeys:
    """Single keys from an interactive terminal, without Enter.

    The terminal stays in cbreak mode (keys arrive at once, unechoed; Ctrl-C still raises
    KeyboardInterrupt) from the first key until :meth:`close`, except while a note is typed, so
    keys typed ahead are never lost. The left arrow and Backspace mean undo.
    """

    def __init__(self, console=None, stream=None) -> None:
        self.stream = stream or sys.stdin
        self.console = console
        self._saved = None

    def _cbreak(self) -> None:
        import termios
        import tty

        if self._saved is None:
            fd = self.stream.fileno()
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd, termios.TCSANOW)  # TCSANOW: TCSAFLUSH would drop keys typed ahead

    def close(self) -> None:
        """Give the terminal its settings back."""
        import termios

        if self._saved is not None:
            termios.tcsetattr(self.stream.fileno(), termios.TCSANOW, self._saved)
            self._saved = None

    def key(self) -> str | None:
        import select

        self._cbreak()
        fd = self.stream.fileno()
        data = os.read(fd, 1)
        if data == b"\x1b":  # an escape sequence (arrow keys) arrives at once
            while select.select([fd], [], [], 0.02)[0]:
                data += os.read(fd, 8)
        elif data and data[0] >= 0xC0:  # the rest of a UTF-8 character
            data += os.read(fd, 3 if data[0] >= 0xF0 else 2 if data[0] >= 0xE0 else 1)
        if not data or data == b"\x04":  # end of input or Ctrl-D
            return None
        if data in (b"\x1b[D", b"\x1bOD", b"\x7f", b"\x08"):
            return "u"
        if data.startswith(b"\x1b"):
            return "\x1b"
        return data.decode("utf-8", errors="ignore")[:1]

    def line(self, prompt: str) -> str | None:
        self.close()
        try:
            if self.console is not None:
                return self.console.input(prompt)
            return input(prompt)
        except EOFError:
            return None


#: Keys besides the label digits (1, 2, 3...).
ACTION_KEYS = {"s": "skip", "u": "undo", "b": "undo", "n": "note", "?": "help", "h": "help", "q": "quit",
               "\x1b": "help-off"}


def key_action(key: str, labels: Sequence[str]) -> tuple[str, str | None]:
    """What a key does: ``("label", name)``, ``("skip", None)``, ... or ``("unknown", None)``."""
    if key.isdigit() and 1 <= int(key) <= len(labels):
        return "label", labels[int(key) - 1]
    return ACTION_KEYS.get(key.lower() if len(key) == 1 else key, "unknown"), None


def key_help(labels: Sequence[str]) -> str:
    """The footer line naming every key."""
    label_keys = " ".join(f"[bold]{i}[/] {label}" for i, label in enumerate(labels, start=1))
    return f"{label_keys} · [bold]s[/] skip · [bold]u[/] undo · [bold]n[/] note · [bold]?[/] codebook · [bold]q[/] quit"


Screen = Callable[["AnnotationSession", bool, str], None]


def annotate_loop(session: AnnotationSession, keys: KeySource, screen: Screen) -> Summary:
    """Show a statement, read a key, act, repeat, until every statement is done or the user quits.

    Every action is saved by the session before the next screen. Ctrl-C (KeyboardInterrupt)
    ends the loop with ``interrupted=True``; any other exception propagates, with everything
    up to the last key already on disk.
    """
    message = f"resuming: {session.progress().labelled} already labelled" if session.progress().labelled else ""
    if session.revisit:
        message = "only skipped statements are left: showing them again"
    show_help = False
    try:
        while True:
            screen(session, show_help, message)
            key = keys.key()
            if key is None:
                break
            action, label = key_action(key, session.labels)
            message, show_help = "", False
            if action == "quit":
                break
            if action == "help":
                show_help = True
            elif action == "help-off":
                pass
            elif action == "undo":
                undone = session.undo()
                message = f"undone: {undone} (label it again)" if undone else "nothing to undo"
            elif session.done:
                if action != "unknown":
                    break  # at the end screen any other key leaves
                message = "press u to undo the last label, q to quit"
            elif action == "label":
                item_id = session.current_id
                session.label(label)
                message = f"saved: {item_id} → {label}"
            elif action == "skip":
                item_id = session.current_id
                session.skip()
                message = f"skipped: {item_id}"
            elif action == "note":
                text = keys.line("note (Enter to save, empty to clear): ")
                if text is not None:
                    session.note(text)
                    message = "note saved" if text.strip() else "note cleared"
            else:
                message = f"unknown key {key!r}: {_plain(key_help(session.labels))}"
    except KeyboardInterrupt:
        return Summary(session.progress(), session.log.path, interrupted=True)
    return Summary(session.progress(), session.log.path)


def _plain(markup: str) -> str:
    return re.sub(r"\[/?[a-z ]*\]", "", markup)


class RichScreen:
    """Draws a session with rich: progress, the statement with its context, the model's guess, keys."""

    def __init__(self, console) -> None:
        self.console = console

    def __call__(self, session: AnnotationSession, show_help: bool, message: str) -> None:
        from rich.console import Group
        from rich.panel import Panel
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        console = self.console
        if console.is_terminal:
            console.clear()
        progress = session.progress()
        bar = Table.grid(padding=(0, 1))
        bar.add_row(
            Text(f"{session.annotator}", style="bold"),
            ProgressBar(total=max(progress.total, 1), completed=progress.labelled, width=30),
            Text(f"{progress.labelled}/{progress.total} labelled"
                 + (f" · {progress.skipped} skipped" if progress.skipped else "")),
        )
        console.print(bar)
        if show_help:
            console.print(definitions_panel(session.labels))
        row = session.current
        if row is None:
            console.print(Panel(
                f"All {progress.total} statements done: {progress.labelled} labelled"
                + (f", {progress.skipped} skipped (run again to see them)" if progress.skipped else "") + ".",
                title="done", title_align="left"))
            console.print(Text.from_markup("[bold]u[/] undo the last label    any other key: quit"))
        else:
            context = Table.grid(padding=(0, 2))
            context.add_column(style="dim", justify="right")
            context.add_column()
            for name in CONTEXT_FIELDS:
                if name in row.index and str(row[name]).strip():
                    context.add_row(name, Text(str(row[name])))
            parts: list[Any] = [Text(str(row["text"]), style="bold"), Text(""), context]
            note = session.note_of(str(row["id"]))
            if note:
                parts.append(Text(f"note: {note}", style="italic"))
            suggestion = session.suggestion()
            if suggestion is not None:
                shown = " · ".join(f"{label} {p:.2f}" for label, p in suggestion.probabilities.items())
                parts.append(Text.from_markup(
                    f"model suggests [bold {_LABEL_STYLES.get(suggestion.label, 'cyan')}]{suggestion.label}[/] ({shown})"))
            position = (progress.position or 0) + 1
            console.print(Panel(Group(*parts), title=f"{row['id']}  ({position} of {progress.total})", title_align="left"))
            console.print(Text.from_markup(key_help(session.labels)))
        if message:
            console.print(Text(message, style="cyan"))


def definitions_panel(labels: Sequence[str]):
    """The codebook's label definitions, as a rich panel (labels outside the default set show no text)."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column()
    for i, label in enumerate(labels, start=1):
        table.add_row(Text(f"{i} {label}", style=f"bold {_LABEL_STYLES.get(label, 'cyan')}"),
                      Text(LABEL_DEFINITIONS.get(label, "")))
    body = Group(Text.from_markup(DEFINITIONS_INTRO), Text(""), table, Text(""), Text(DEFINITIONS_OUTRO))
    return Panel(body, title="label definitions (any key to go back)", title_align="left")


def run_annotation(source: str | Path, annotator: str, *, keys: KeySource, console, **options: Any) -> Summary:
    """Open a session on ``source`` for ``annotator``, run the loop on ``keys``, close the log."""
    session = open_session(source, annotator, **options)
    try:
        if session.log.repaired:
            console.print(f"[yellow]note:[/] cut off an incomplete last line of {session.log.path} (a crash mid-write)")
        return annotate_loop(session, keys, RichScreen(console))
    finally:
        session.log.close()
        if hasattr(keys, "close"):
            keys.close()
