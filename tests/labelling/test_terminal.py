"""The terminal loop: Ctrl-C, the screen, keys from a pipe, and a real terminal killed mid-session."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stance.labelling import StreamKeys, annotate_loop, default_log_path, open_session, read_events, replay

from .scripted import ScriptedKeys, annotate, ids, log_of, quiet


def test_ctrl_c_stops_the_session_and_keeps_every_label(statements_file):
    summary = annotate(statements_file, ["2", "2", KeyboardInterrupt()])
    assert summary.interrupted and summary.progress.labelled == 2
    assert "stopped" in summary.line() and "resume" in summary.line()
    assert len(replay(log_of(statements_file)).labels()) == 2


def test_the_screen_shows_the_statement_its_context_progress_and_definitions(statements_file, statements):
    console = quiet()
    session = open_session(statements_file, "alice")
    try:
        from stance.labelling import RichScreen

        annotate_loop(session, ScriptedKeys(["1", "?"]), RichScreen(console))
    finally:
        session.log.close()
    shown = console.file.getvalue()
    second = statements.iloc[1]
    assert second["text"] in shown and second["actor"] in shown and second["request"] in shown
    assert "1/24 labelled" in shown and "(2 of 24)" in shown and "e1-01" in shown
    assert "Ask one question" in shown  # the definitions one key away


def test_stream_keys_read_one_key_per_character_and_a_note_line():
    keys = StreamKeys(io.StringIO("1 2\nn a note here\nq"))
    assert [keys.key(), keys.key(), keys.key()] == ["1", "2", "n"]
    assert keys.line("note: ") == " a note here"
    assert keys.key() == "q" and keys.key() is None


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_tmux_session_killed_mid_labelling_loses_nothing(statements_file, tmp_path):
    """The real terminal path: keys typed into tmux, then the whole terminal killed (SIGKILL)."""
    socket = f"stance-test-{os.getpid()}"
    log = default_log_path(statements_file, "tess")
    stance = str(Path(sys.executable).with_name("stance"))
    command = f"exec {stance} annotate {statements_file} --annotator tess"
    tmux = ["tmux", "-L", socket]
    subprocess.run([*tmux, "new-session", "-d", "-x", "100", "-y", "40", command], check=True,
                   env={**os.environ, "TERM": "xterm-256color"})
    try:
        def labelled() -> int:
            return len(replay(read_events(log)).labels()) if log.exists() else 0

        deadline = time.time() + 30
        while not log.exists() and time.time() < deadline:  # the session event: the screen is up
            time.sleep(0.1)
        for key, count in (("3", 1), ("1", 2)):
            subprocess.run([*tmux, "send-keys", key], check=True)
            while labelled() < count and time.time() < deadline:
                time.sleep(0.05)
        assert labelled() == 2
        pane_pid = subprocess.run([*tmux, "display-message", "-p", "#{pane_pid}"], check=True,
                                  capture_output=True, text=True).stdout.strip()
        os.kill(int(pane_pid), 9)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    first, second = ids(statements_file)[:2]
    assert replay(read_events(log)).labels() == {first: "comply", second: "decline"}
    resumed = open_session(statements_file, "tess")
    try:
        assert resumed.position == 2
    finally:
        resumed.log.close()
