"""Helpers of the labelling tests: keys from a list, a quiet session run on them, and logs written by hand."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from rich.console import Console

from stance.labelling import default_log_path, read_events, run_annotation


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


def quiet() -> Console:
    return Console(file=io.StringIO(), width=100)


def annotate(source: Path, keys: list, annotator: str = "alice", **options):
    """One session with scripted keys; returns the summary."""
    return run_annotation(source, annotator, keys=ScriptedKeys(keys), console=quiet(), **options)


def log_of(source: Path, annotator: str = "alice") -> list[dict]:
    return read_events(default_log_path(source, annotator))


def decisions(events: list[dict]) -> list[tuple]:
    return [(e["event"], e["id"], e.get("label")) for e in events if e["event"] != "session"]


def ids(source: Path) -> list[str]:
    return [json.loads(line)["id"] for line in source.read_text().splitlines()]


def write_log(path: Path, annotator: str, events: list[tuple], source: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    if source:
        lines.append({"event": "session", "annotator": annotator, "source": source})
    for kind, item_id, *rest in events:
        event = {"event": kind, "id": item_id, "annotator": annotator}
        if kind == "label":
            event["label"] = rest[0]
        lines.append(event)
    path.write_text("".join(json.dumps(e) + "\n" for e in lines))
    return path
