"""Keys in, screens out: the thin I/O loop of ``stance annotate``.

:func:`annotate_loop` reads keys from any :class:`KeySource` (the terminal, a pipe, or a scripted
list in tests) and calls the :class:`~stance.labelling.session.AnnotationSession`, where the logic
lives; :class:`RichScreen` draws the statement, its context, the progress and the keys.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from stance.labelling.session import AnnotationSession, Summary, open_session

#: Fields shown with each statement (those present in the file).
CONTEXT_FIELDS = ("actor", "requester", "request", "episode", "date")

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


class KeySource(Protocol):
    """Where keys come from: ``key()`` one key (None at end of input), ``line()`` a typed line."""

    def key(self) -> str | None: ...

    def line(self, prompt: str) -> str | None: ...


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
