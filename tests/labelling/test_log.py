"""The event log: every label appended at once, torn writes cut off, bad lines named, replayed to the labels."""

from __future__ import annotations

import pytest

from stance.errors import DataError
from stance.labelling import EventLog, default_log_path, read_events, replay

from .scripted import annotate, decisions, ids, log_of


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
