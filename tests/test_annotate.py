"""The labelling loop, driven by scripted keys: saved at once, undo, skip, note, resume, crashes."""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from stance.annotate import (
    EventLog,
    ScriptedKeys,
    StreamKeys,
    annotate_loop,
    default_log_path,
    open_session,
    queue_order,
    read_events,
    replay,
    run_annotation,
    uncertainty_scores,
)
from stance.cli import app
from stance.errors import DataError, StanceError

runner = CliRunner()


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


def test_each_label_is_appended_with_its_annotator_and_time(statements_file):
    summary = annotate(statements_file, ["1", "2", "3"])
    events = log_of(statements_file)
    first = ids(statements_file)[:3]
    assert decisions(events) == [("label", first[0], "decline"), ("label", first[1], "consider"),
                                 ("label", first[2], "comply")]
    assert all(e["annotator"] == "alice" and e["time"].endswith("Z") for e in events)
    session = events[0]
    assert session["event"] == "session" and session["source"] == "../statements.jsonl"
    assert (summary.progress.labelled, summary.progress.total) == (3, 24)
    assert default_log_path(statements_file, "alice") == statements_file.parent / "annotations" / "alice.jsonl"


def test_undo_appends_a_retraction_and_shows_the_statement_again(statements_file):
    annotate(statements_file, ["1", "2", "u", "3", "u", "u", "2", "1"])
    a, b = ids(statements_file)[:2]
    assert decisions(log_of(statements_file)) == [
        ("label", a, "decline"), ("label", b, "consider"), ("retract", b, None), ("label", b, "comply"),
        ("retract", b, None), ("retract", a, None), ("label", a, "consider"), ("label", b, "decline"),
    ]
    assert replay(log_of(statements_file)).labels() == {a: "consider", b: "decline"}


def test_undo_reaches_back_into_an_earlier_session(statements_file):
    annotate(statements_file, ["3", "q"])
    annotate(statements_file, ["u", "1"])
    first = ids(statements_file)[0]
    assert replay(log_of(statements_file)).labels() == {first: "decline"}


def test_skipped_statements_come_back_after_the_others(tmp_path, statements):
    source = tmp_path / "three.jsonl"
    statements.head(3).to_json(source, orient="records", lines=True)
    a, b, c = statements["id"][:3]
    done = annotate(source, ["s", "1", "2", "1"])  # the last key falls on the end screen and leaves
    assert done.progress.labelled == 2 and done.progress.skipped == 1 and done.progress.position is None
    again = annotate(source, ["3"])  # a new session shows the skipped one
    assert again.progress.labelled == 3 and again.progress.skipped == 0
    assert replay(log_of(source)).labels() == {a: "comply", b: "decline", c: "consider"}


def test_undo_on_the_end_screen_reopens_the_last_statement(tmp_path, statements):
    source = tmp_path / "two.jsonl"
    statements.head(2).to_json(source, orient="records", lines=True)
    summary = annotate(source, ["1", "2", "u", "3", "q"])
    assert summary.progress.labelled == 2 and summary.progress.position is None
    assert replay(log_of(source)).labels() == dict(zip(statements["id"][:2], ["decline", "comply"]))


def test_a_note_is_saved_for_the_statement_on_screen(statements_file):
    annotate(statements_file, ["n", "only the air component was asked", "2"])
    first = ids(statements_file)[0]
    events = log_of(statements_file)
    assert [e for e in events if e["event"] == "note"][0]["note"] == "only the air component was asked"
    state = replay(events)
    assert state.notes() == {first: "only the air component was asked"} and state.labels() == {first: "consider"}


def test_running_again_resumes_at_the_first_unlabelled_statement(statements_file):
    annotate(statements_file, ["1", "2", "q"])
    session = open_session(statements_file, "alice")
    try:
        assert session.position == 2 and session.current_id == ids(statements_file)[2]
    finally:
        session.log.close()
    annotate(statements_file, ["3"])
    labels = replay(log_of(statements_file)).labels()
    assert [labels[i] for i in ids(statements_file)[:3]] == ["decline", "consider", "comply"]


def test_a_crash_mid_session_loses_no_label(statements_file):
    with pytest.raises(RuntimeError, match="power cut"):
        annotate(statements_file, ["1", "3", "n", "unsure", RuntimeError("power cut")])
    events = log_of(statements_file)
    first, second, third = ids(statements_file)[:3]
    assert replay(events).labels() == {first: "decline", second: "comply"}
    assert replay(events).notes() == {third: "unsure"}
    summary = annotate(statements_file, ["2"])  # resumes on the third statement
    assert replay(log_of(statements_file)).labels()[third] == "consider"
    assert summary.progress.labelled == 3


def test_ctrl_c_stops_the_session_and_keeps_every_label(statements_file):
    summary = annotate(statements_file, ["2", "2", KeyboardInterrupt()])
    assert summary.interrupted and summary.progress.labelled == 2
    assert "stopped" in summary.line() and "resume" in summary.line()
    assert len(replay(log_of(statements_file)).labels()) == 2


def test_a_write_torn_by_a_crash_is_ignored_and_cut_off(tmp_path):
    log = tmp_path / "alice.jsonl"
    log.write_text('{"event": "label", "id": "a", "label": "comply", "annotator": "alice"}\n{"event": "label", "id"')
    assert replay(read_events(log)).labels() == {"a": "comply"}
    with EventLog(log) as opened:
        assert opened.repaired
        opened.append({"event": "label", "id": "b", "label": "decline", "annotator": "alice"})
    assert replay(read_events(log)).labels() == {"a": "comply", "b": "decline"}


def test_a_bad_line_inside_a_log_names_the_line(tmp_path):
    log = tmp_path / "alice.jsonl"
    log.write_text('{"event": "label", "id": "a", "label": "comply"}\nnot json\n{"event": "skip", "id": "b"}\n')
    with pytest.raises(DataError, match=r"alice.jsonl:2"):
        read_events(log)
    log.write_text('{"event": "label", "id": "a", "label": "yes"}\n')
    with pytest.raises(DataError, match="unknown label 'yes'"):
        read_events(log)


def test_another_annotators_log_is_refused(statements_file):
    annotate(statements_file, ["1"], annotator="alice")
    with pytest.raises(StanceError, match="annotations of 'alice'"):
        open_session(statements_file, "bob", out=default_log_path(statements_file, "alice"))
    with pytest.raises(StanceError, match="not usable as a file name"):
        open_session(statements_file, "../bob")


def test_replay_latest_decision_wins_and_retract_clears_it():
    events = [
        {"event": "session"},
        {"event": "label", "id": "a", "label": "comply"},
        {"event": "skip", "id": "b"},
        {"event": "label", "id": "a", "label": "decline"},
        {"event": "label", "id": "b", "label": "consider"},
        {"event": "label", "id": "c", "label": "comply"},
        {"event": "retract", "id": "c"},
        {"event": "note", "id": "c", "note": "ask the lead"},
    ]
    state = replay(events)
    assert state.labels() == {"a": "decline", "b": "consider"}
    assert state.decisions == ["a", "b"]  # undo would take b next
    assert state.items["c"].label is None and not state.items["c"].skipped
    assert state.notes() == {"c": "ask the lead"}


def test_queue_orders():
    assert queue_order(4, "file") == [0, 1, 2, 3]
    shuffled = queue_order(10, "random", seed=3)
    assert sorted(shuffled) == list(range(10)) and shuffled == queue_order(10, "random", seed=3)
    assert shuffled != queue_order(10, "random", seed=4)
    assert queue_order(4, "uncertainty", scores=np.array([0.1, 0.9, 0.5, 0.9])) == [1, 3, 2, 0]
    with pytest.raises(StanceError, match="needs a model"):
        queue_order(4, "uncertainty")


def test_uncertainty_scores_by_hand():
    proba = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.6, 0.3, 0.1]])
    entropy = uncertainty_scores(proba, "entropy")
    expected = [0.0, math.log(2), math.log(3), -(0.6 * math.log(0.6) + 0.3 * math.log(0.3) + 0.1 * math.log(0.1))]
    assert entropy == pytest.approx(expected)
    assert uncertainty_scores(proba, "margin") == pytest.approx([0.0, 1.0, 1.0, 0.7])


def test_the_screen_shows_the_statement_its_context_progress_and_definitions(statements_file, statements):
    console = quiet()
    session = open_session(statements_file, "alice")
    try:
        from stance.annotate import RichScreen

        annotate_loop(session, ScriptedKeys(["1", "?"]), RichScreen(console))
    finally:
        session.log.close()
    shown = console.file.getvalue()
    second = statements.iloc[1]
    assert second["text"] in shown and second["actor"] in shown and second["request"] in shown
    assert "1/24 labelled" in shown and "(2 of 24)" in shown and "e1-01" in shown
    assert "Ask one question" in shown  # the definitions one key away


def test_uncertainty_order_and_suggestions_from_a_trained_run(statements_file, tmp_path, monkeypatch):
    from stance.config import load_config
    from stance.experiment import train
    from stance.predict import predict_file

    monkeypatch.setattr("stance.runs.environment", lambda: {})  # versions of torch etc.: slow and not needed here

    splits = tmp_path / "splits.json"
    splits.write_text(json.dumps({"method": "fixed for tests", "seed": 0, "dev_fraction": 0.25, "test_fraction": 0.25,
                                  "episodes": {"train": ["e1", "e2"], "dev": ["e3"], "test": ["e4"]}}))
    config = tmp_path / "tfidf.yaml"
    config.write_text(f"name: tfidf\ndata: {{path: {statements_file}, splits: {splits}}}\n"
                      f"model: {{type: tfidf_logreg}}\nevaluate: {{bootstrap: 10}}\n"
                      f"output: {{dir: {tmp_path / 'experiments'}}}\n")
    run, _ = train(load_config(config))
    items = open_session(statements_file, "alice", order="uncertainty", model=run.path, suggest=True)
    try:
        predicted = predict_file(run.path, statements_file)
        proba = predicted[["p_decline", "p_consider", "p_comply"]].to_numpy()
        entropy = uncertainty_scores(proba)
        shown = [predicted["id"].tolist().index(i) for i in items.ids]
        assert all(entropy[a] >= entropy[b] - 1e-6 for a, b in zip(shown, shown[1:]))  # least sure first
        first = items.suggestion()
        assert first.label == predicted.loc[shown[0], "prediction"]
        assert sum(first.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
        annotate_loop(items, ScriptedKeys(["2"]), lambda *a: None)
    finally:
        items.log.close()
    events = log_of(statements_file)
    assert events[0]["order"] == "uncertainty" and events[0]["model"] == str(run.path)
    assert events[1]["suggestion"] == first.label and events[1]["id"] == items.ids[0]


def test_stream_keys_read_one_key_per_character_and_a_note_line():
    keys = StreamKeys(io.StringIO("1 2\nn a note here\nq"))
    assert [keys.key(), keys.key(), keys.key()] == ["1", "2", "n"]
    assert keys.line("note: ") == " a note here"
    assert keys.key() == "q" and keys.key() is None


def test_cli_annotate_saves_and_resumes(statements_file):
    first = runner.invoke(app, ["annotate", str(statements_file), "--annotator", "bob"], input="13q")
    assert first.exit_code == 0, first.output
    assert "2 of 24 statements labelled" in first.output
    second = runner.invoke(app, ["annotate", str(statements_file), "-a", "bob"], input="2")
    assert second.exit_code == 0 and "resuming: 2 already labelled" in second.output
    labels = replay(log_of(statements_file, "bob")).labels()
    assert [labels[i] for i in ids(statements_file)[:3]] == ["decline", "comply", "consider"]
    out = statements_file.parent / "elsewhere" / "bob.jsonl"
    assert runner.invoke(app, ["annotate", str(statements_file), "-a", "bob", "--out", str(out)], input="3").exit_code == 0
    assert replay(read_events(out)).labels() == {ids(statements_file)[0]: "comply"}


def test_cli_annotate_user_errors(statements_file):
    result = runner.invoke(app, ["annotate", str(statements_file), "-a", "bob", "--order", "uncertainty"])
    assert result.exit_code == 1 and "needs a model" in result.output
    assert runner.invoke(app, ["annotate", str(statements_file), "-a", "bob", "--order", "alphabetical"]).exit_code == 2
    missing = runner.invoke(app, ["annotate", "nope.jsonl", "-a", "bob"])
    assert missing.exit_code == 1 and "does not exist" in missing.output


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
