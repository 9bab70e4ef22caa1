"""The government step: features of a government's candidates by hand, the fit and its threshold,
save and reload, and what it does to the answers the stance classifier reads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stance.articles import analyze_text
from stance.articles.answers import mention_profile, profile_words
from stance.articles.governments import (
    GOVERNMENT_FEATURES,
    GovernmentStep,
    decide_governments,
    fit_government_step,
    government_features,
)
from stance.errors import DataError

from .samples import sentences_of


def _candidates(rows) -> pd.DataFrame:
    """Candidate rows ``(actor, position, p_answer, status, context)`` of one article ``a``."""
    frame = pd.DataFrame(rows, columns=["actor", "position", "p_answer", "status", "context"])
    return frame.assign(article="a", answer=frame["p_answer"] >= 0.5, text="some sentence of five words")


def test_government_features_by_hand():
    frame = _candidates([
        ("Italy", 1, 0.9, "response", ("ctx_status_response ctx_where_lede ctx_shared ctx_gov_in_headline "
                                       "ctx_gov_mentions_3 ctx_gov_object_some ctx_gov_listed_none")),
        ("Italy", 2, 0.3, "mention", "ctx_status_mention ctx_single ctx_gov_mentions_3 ctx_gov_object_some"),
        ("Italy", 3, 0.6, "response", "ctx_status_response ctx_single ctx_quoted ctx_gov_mentions_3"),
        ("Libya", 2, 0.8, "target", "ctx_status_target"),  # the request's target may not answer: left out
    ])
    features = government_features(frame).set_index("actor")
    assert list(features.index) == ["Italy"]
    italy = features.loc["Italy"]
    assert (italy["top"], italy["second"]) == (0.9, 0.6)
    assert italy["mean"] == pytest.approx(0.6)
    assert italy["taken"] == pytest.approx(np.log1p(2)) and italy["rows"] == pytest.approx(np.log1p(3))
    assert (italy["headline"], italy["request"], italy["lede"], italy["quoted"]) == (1.0, 0.0, 1.0, 1.0)
    assert italy["shared"] == pytest.approx(1 / 3)
    assert (italy["mentions"], italy["object"], italy["listed"]) == (0.6, 0.5, 0.0)


def test_mention_profile_counts_objects_and_lists(gazetteer):
    sentences = sentences_of("Troops were sent to Mali by France.\n"
                             "France, Italy and Spain agreed.\nMali asked for help.\n")
    profile = mention_profile(sentences, gazetteer)
    # (named, as an object, in a list of three or more)
    assert profile["Mali"] == (2, 1, 0)
    assert profile["France"] == (2, 1, 1)
    assert profile["Spain"] == (1, 0, 1)
    assert profile_words(profile["Mali"]) == ("gov_mentions_2", "gov_object_most", "gov_listed_none")
    assert profile_words(None) == ("gov_mentions_0", "gov_object_none", "gov_listed_none")


def test_a_kept_government_without_a_taken_sentence_answers_with_its_best_one():
    frame = _candidates([("Ghana", 1, 0.3, "mention", ""), ("Ghana", 2, 0.45, "response", ""),
                         ("Chad", 3, 0.2, "response", ""), ("Chad", 4, 0.7, "response", "")])
    # p_government from the best sentence alone: 1 / (1 + exp(-(10 p - 4))), Ghana 0.6225, Chad 0.9526
    step = GovernmentStep(tuple(10.0 if f == "top" else 0.0 for f in GOVERNMENT_FEATURES), -4.0, 0.4)
    out = decide_governments(frame, step)
    assert out["answer"].tolist() == [False, True, False, True]
    assert out["p_government"].tolist() == pytest.approx([0.6225, 0.6225, 0.9526, 0.9526], abs=1e-4)


def test_a_dropped_government_loses_the_sentences_the_answer_step_took():
    frame = _candidates([("Libya", 1, 0.55, "response", "ctx_gov_object_most"),
                         ("Egypt", 2, 0.9, "response", ""), ("Egypt", 3, 0.2, "response", "")])
    step = GovernmentStep(tuple(-5.0 if f == "object" else 0.0 for f in GOVERNMENT_FEATURES), 2.0, 0.5)
    assert decide_governments(frame, step)["answer"].tolist() == [False, True, False]


def test_the_government_step_fits_saves_and_reloads(tmp_path):
    # Governments that answer have a likely sentence; those that do not, none above 0.4.
    rows = []
    for i in range(30):
        answers = i % 2 == 0
        p = 0.55 + (i % 7) / 20 if answers else 0.05 + (i % 7) / 20
        rows += [{"episode": f"e{i // 3}", "actor": f"G{i}", "p_answer": p, "status": "response",
                  "context": "ctx_single", "label": "answer" if answers else "not_answer"},
                 {"episode": f"e{i // 3}", "actor": f"G{i}", "p_answer": p / 2, "status": "mention",
                  "context": "ctx_shared", "label": "not_answer"}]
    records = pd.DataFrame(rows)
    step = fit_government_step(records)
    features = government_features(records, "episode")
    kept = step.predict(features) >= step.threshold
    assert kept.tolist() == [i % 2 == 0 for i in range(30)]
    step.save(tmp_path / "governments.json")
    again = GovernmentStep.load(tmp_path / "governments.json")
    assert again == step and np.allclose(again.predict(features), step.predict(features))
    with pytest.raises(DataError, match="governments that answer and governments that do not"):
        fit_government_step(records.assign(label="answer"))


def test_analyze_text_with_a_government_step_reads_the_best_sentence_of_a_kept_government(gazetteer):
    text = ("NATO asked allies to send more troops.\n\n"
            "Canada said on Friday the economy was growing faster than expected this year.\n")

    class Unsure:  # an answer step that takes nothing
        labels = ("answer", "not_answer")

        def predict_proba(self, inputs):
            return np.column_stack([np.full(len(inputs.texts), 0.3), np.full(len(inputs.texts), 0.7)])

    plain = analyze_text(text, "t", gazetteer=gazetteer, backend="rules", answers=(Unsure(), "context_text"))
    assert plain.governments.empty
    step = GovernmentStep(tuple(10.0 if f == "top" else 0.0 for f in GOVERNMENT_FEATURES), -2.0, 0.5)
    kept = analyze_text(text, "t", gazetteer=gazetteer, backend="rules", answers=(Unsure(), "context_text"),
                        governments=step)
    assert kept.governments["actor"].tolist() == ["Canada"]
    assert kept.governments.loc[0, "evidence"].startswith("Canada said on Friday the economy")
    assert "p_government" in kept.candidates.columns


def test_an_answers_run_with_government_step_saves_and_reports_it(tmp_path):
    from stance.articles.pipeline import analyze_articles, load_government_step
    from stance.config import load_config
    from stance.errors import ConfigError
    from stance.recipes import cross_validate

    rows = []
    for e in range(8):
        for g in range(4):
            answers = g < 2
            for s in range(2):
                said = "said it would send troops" if answers and s == 0 else "was named in a report on trade"
                rows.append({"id": f"e{e}-{g}-{s}", "text": f"thegov {said} ({s})", "actor": f"Country{g}",
                             "requester": "X", "request": "send troops", "episode": f"e{e}", "date": "2000",
                             "label": "answer" if answers and s == 0 else "not_answer",
                             "context": f"ctx_status_response ctx_{'single' if answers else 'shared'}",
                             "status": "response"})
    pd.DataFrame(rows).to_json(tmp_path / "sentences.jsonl", orient="records", lines=True)
    (tmp_path / "answers.yaml").write_text(
        "name: answers\n"
        f"data: {{path: {tmp_path / 'sentences.jsonl'}, labels: [answer, not_answer]}}\n"
        "input: {mode: context_text}\nmodel: {type: tfidf_logreg}\n"
        "evaluate: {cross_validation: 4, refit: true, government_step: true, bootstrap: 0, baselines: []}\n"
        f"output: {{dir: {tmp_path / 'experiments'}}}\n")
    run = cross_validate(load_config(tmp_path / "answers.yaml")).run
    step = load_government_step(run.path)
    assert isinstance(step, GovernmentStep) and run.manifest()["government_step"]["threshold"] == step.threshold
    report = pd.read_csv(run.reports_dir("cross_validation") / "governments.csv")
    assert report["decision"].tolist() == ["sentence by sentence", "government step (4-fold by article)"]
    assert report["governments"].tolist() == [32, 32] and report["answering"].tolist() == [16, 16]
    result = analyze_articles([], articles=[("t", "NATO asked allies to send troops.\n\nItaly said it would send troops.\n")],
                              answers=run.path, backend="rules")
    assert result.answer_step == f"{run.path} with its government step"
    assert "p_government" in result.analyses[0].candidates.columns
    with pytest.raises(ConfigError, match="evaluate.government_step needs evaluate.refit"):
        load_config(tmp_path / "answers.yaml", ["evaluate.refit=false"])


def test_a_kept_governments_answers_are_its_sentences_from_the_sentence_threshold():
    frame = _candidates([("Chad", 1, 0.35, "response", ""), ("Chad", 2, 0.45, "response", ""),
                         ("Chad", 3, 0.7, "response", "")])
    keep_all = tuple(0.0 for _ in GOVERNMENT_FEATURES)  # p_government 0.5 for every government
    assert decide_governments(frame, GovernmentStep(keep_all, 0.0, 0.5))["answer"].tolist() == [False, False, True]
    lower = GovernmentStep(keep_all, 0.0, 0.5, sentence_threshold=0.4)
    assert decide_governments(frame, lower)["answer"].tolist() == [False, True, True]
    # The answer step's own verdict does not count once the government step decides.
    assert decide_governments(frame.assign(answer=True), lower)["answer"].tolist() == [False, True, True]
