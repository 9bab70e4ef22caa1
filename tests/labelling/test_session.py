"""A session driven by scripted keys: undo, skip, note, resume, crashes; the order of the queue."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from stance.errors import StanceError
from stance.labelling import (
    annotate_loop,
    default_log_path,
    open_session,
    queue_order,
    replay,
    uncertainty_scores,
)

from .scripted import ScriptedKeys, annotate, decisions, ids, log_of


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


def test_another_annotators_log_is_refused(statements_file):
    annotate(statements_file, ["1"], annotator="alice")
    with pytest.raises(StanceError, match="annotations of 'alice'"):
        open_session(statements_file, "bob", out=default_log_path(statements_file, "alice"))
    with pytest.raises(StanceError, match="not usable as a file name"):
        open_session(statements_file, "../bob")


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


def test_uncertainty_order_and_suggestions_from_a_trained_run(statements_file, tmp_path, monkeypatch):
    from stance.config import load_config
    from stance.recipes import train
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
