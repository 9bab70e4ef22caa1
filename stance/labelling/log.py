"""The annotation event log: the only state of a labelling session.

Each annotator's log is JSONL, one event a line, appended, flushed and fsynced before the next
statement appears. The current labels, the resume position and the undo history are all
replayed from it (:func:`replay`), so Ctrl-C, a closed terminal or a crash loses at most the key
being pressed. Events (every one has ``event``, ``annotator`` and ``time``):

- ``session``: written when a session starts; ``source`` (the statements file, relative to the
  log's folder), ``source_sha256``, ``order`` and ``model``.
- ``label``: ``id`` and ``label``; ``suggestion`` holds the model's guess when one was shown.
- ``skip``: ``id``; a skipped statement comes back once every other one has been seen.
- ``retract``: ``id``; undoes the statement's current label or skip. Undo never rewrites the log.
- ``note``: ``id`` and ``note`` (free text; the latest note on a statement counts).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from stance.errors import DataError, StanceError
from stance.labels import DEFAULT_LABELS

EVENT_KINDS = ("session", "label", "skip", "retract", "note")


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
