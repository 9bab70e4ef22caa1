"""The answer step: who asks and who answers, candidates and their gold, answer scores by hand,
aggregation, and the step with a trained (here: fake) answer classifier."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from stance.articles import (
    analyze_text,
    answer_counts,
    answer_f1,
    answer_sentences,
    detect_request,
    evaluate_articles,
    gold_labels,
    overall_stances,
    resolve_answer_run,
)
from stance.articles.answers import answer_f1_interval, era_actor, load_gold_answers
from stance.cli import app
from stance.errors import DataError

from .samples import sentences_of

# The 2015 pattern (data/articles/isis-2015-letters.txt is the model): the government that received
# the letter is an answerer, the letter's sender the requester.
RECEIVED = """\
Canada reviews its coalition role

OTTAWA — Canada confirmed on Wednesday that it had received a letter from the US defence secretary which asked for more military contributions to the fight against Islamic State.

Defence Minister Harjit Sajjan said the government was reviewing its contribution and would have more to say in the new year.

A spokesperson for the Canadian defence minister later said the plan to pull the jets out of the bombing mission had not changed.

"The jets are coming home," she said.
"""


def test_a_government_that_received_a_letter_asking_for_more_answers_it(gazetteer):
    request = detect_request(sentences_of(RECEIVED), gazetteer)
    assert request.requesters == ("United States",)
    analysis = analyze_text(RECEIVED, "received", gazetteer=gazetteer, backend="rules")
    assert analysis.governments["actor"].tolist() == ["Canada"]
    assert set(analysis.candidates["status"]) == {"response"}
    # "she said" two paragraphs on: the spokesperson for the Canadian defence minister, so Canada
    assert analysis.governments.loc[0, "evidence"].endswith('"The jets are coming home," she said.')


def test_the_recipient_of_a_letter_is_not_the_requester(gazetteer):
    text = ("President Reagan said the raid was a response to terrorism.\n"
            "He had written to Prime Minister Margaret Thatcher last week asking to use the F-111s stationed in Britain.\n"
            "Prime Minister Margaret Thatcher told MPs that she had agreed.\n")
    request = detect_request(sentences_of(text), gazetteer)
    assert "United Kingdom" not in request.requesters


def test_a_1973_article_means_west_germany_by_germany():
    assert era_actor("Germany", 1973) == "West Germany"
    assert era_actor("Germany", 1999) == "Germany" and era_actor("Germany", None) == "Germany"
    assert era_actor("Italy", 1973) == "Italy"
    assert era_actor("Russia", 1984) == "Soviet Union" and era_actor("Russia", 1995) == "Russia"


def test_a_government_named_as_the_subject_without_a_reporting_cue_is_a_candidate(gazetteer):
    text = "NATO asked allies to send troops.\nSpain gave a similar answer on Friday.\nTroops went to Germany.\n"
    analysis = analyze_text(text, "t", gazetteer=gazetteer, backend="rules")
    mentions = analysis.candidates[analysis.candidates["status"] == "mention"]
    # Germany follows "to": an object, not a subject; NATO asking is a mention of the requester
    assert mentions["actor"].tolist() == ["NATO", "Spain"]
    assert "ctx_requester" in mentions["context"].iloc[0] and "ctx_other" in mentions["context"].iloc[1]
    assert not mentions["answer"].any()  # the rules never take a bare mention for an answer


def test_gold_labels_mark_the_sentences_that_hold_a_quote_of_the_same_government():
    candidates = pd.DataFrame({"article": ["a", "a", "a", "b"], "actor": ["Canada", "Germany", "Canada", "Canada"],
                               "text": ["Canada said  it would send   a ship soon.", "Canada said it would send a ship soon.",
                                        "Canada had said no in 1990.", "Canada said it would send a ship soon."]})
    gold = pd.DataFrame({"article": ["a"], "actor": ["Canada"], "label": ["comply"],
                         "quote": ["said it would send a ship"]})
    # spacing does not matter; another government or another article does
    assert gold_labels(candidates, gold) == ["answer", "not_answer", "not_answer", "not_answer"]


def test_answer_counts_and_f1_by_hand():
    gold = pd.DataFrame({"article": ["a", "a", "a", "b"], "actor": ["Canada", "Canada", "Spain", "Italy"],
                         "label": ["comply"] * 4,
                         "quote": ["one two three four five", "six seven eight nine ten", "alpha beta gamma delta eps",
                                   "uno dos tres cuatro cinco"]})
    predicted = pd.DataFrame({
        "article": ["a", "a", "a", "b", "b"],
        "actor": ["Canada", "Spain", "Canada", "Italy", "Italy"],
        "text": ["x one two three four five y", "six seven eight nine ten", "Canada said no.",
                 "far too short to matter here", "said uno dos tres cuatro cinco"],
    })
    counts = answer_counts(predicted, gold, ["a", "b"]).set_index("article")
    # a: "Canada said no." is too short to hold a quote and is not scored; Canada's first is right,
    # Spain's sentence holds Canada's quote, not Spain's: 2 predicted, 1 right; gold 3, 1 found.
    assert counts.loc["a"].tolist() == [2, 1, 3, 1]
    assert counts.loc["b"].tolist() == [2, 1, 1, 1]
    precision, recall, f1 = answer_f1(counts.reset_index())
    assert precision == pytest.approx(2 / 4) and recall == pytest.approx(2 / 4) and f1 == pytest.approx(0.5)
    low, high = answer_f1_interval(counts.reset_index(), n_resamples=200, seed=1)
    assert 0 <= low <= 0.5 <= high <= 1
    assert (low, high) == answer_f1_interval(counts.reset_index(), n_resamples=200, seed=1)


def test_gold_answers_need_quotes_of_five_words(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("article,actor,label,quote\na,Canada,comply,said it would send one\na,Spain,decline,said no\n")
    with pytest.raises(DataError, match=":3: quote shorter than 5 words"):
        load_gold_answers(path)


def _statements(rows):
    frame = pd.DataFrame(rows, columns=["article", "actor", "position", "earlier", "label", "confidence", "p_answer",
                                        "text"])
    return frame


def test_aggregations_latest_confident_and_vote_by_hand():
    frame = _statements([
        ("a", "Canada", 1, False, "consider", 0.9, 0.9, "We are studying it."),
        ("a", "Canada", 2, False, "decline", 0.6, 0.5, "We will not send jets."),
        ("a", "Canada", 3, False, "consider", 0.7, 1.0, "We are still looking."),
        ("a", "Canada", 4, False, "decline", 0.8, 0.3, "On the economy, no."),
    ])
    latest = overall_stances(frame, "latest").iloc[0]
    assert latest["stance"] == "decline" and latest["confidence"] == pytest.approx(0.24)
    assert latest["evidence"] == "On the economy, no." and latest["relevance"] == pytest.approx(0.3)
    # combined confidence: 0.81, 0.30, 0.70, 0.24
    confident = overall_stances(frame, "confident").iloc[0]
    assert confident["stance"] == "consider" and confident["confidence"] == pytest.approx(0.81)
    assert confident["evidence"] == "We are studying it."
    # consider 0.81 + 0.70 = 1.51 against decline 0.30 + 0.24 = 0.54
    vote = overall_stances(frame, "vote").iloc[0]
    assert vote["stance"] == "consider" and vote["confidence"] == pytest.approx(1.51 / 2.05, abs=1e-4)
    assert vote["evidence"] == "We are studying it. | We are still looking."
    with pytest.raises(Exception, match="unknown aggregation"):
        overall_stances(frame, "median")


class _FakeAnswers:
    """Stands in for a trained answer run: the requester, or a sentence on the economy, is no answer."""

    labels = ["answer", "not_answer"]

    def predict_proba(self, inputs):
        assert all(context.startswith("ctx_status_") for context in inputs.requests)  # context_text mode
        p = np.array([0.1 if "economy" in text or "ctx_requester" in context else 0.9
                      for text, context in zip(inputs.texts, inputs.requests, strict=True)])
        return np.column_stack([p, 1 - p])


ECONOMY = """\
NATO asked allies to send more troops.

Canada said it would send 200 soldiers.

Canada said on Friday the economy was growing faster than expected this year.
"""


def test_a_trained_answer_step_drops_the_sentences_it_calls_not_answers(gazetteer):
    rules = analyze_text(ECONOMY, "e", gazetteer=gazetteer, backend="rules")
    assert rules.governments.loc[0, "evidence"].startswith("Canada said on Friday the economy")
    learned = analyze_text(ECONOMY, "e", gazetteer=gazetteer, backend="rules", answers=(_FakeAnswers(), "context_text"))
    assert learned.governments.loc[0, "evidence"] == "Canada said it would send 200 soldiers."
    assert learned.candidates["p_answer"].tolist() == [0.1, 0.9, 0.1]
    assert learned.excluded["text"].str.contains("economy").any()


def test_evaluate_articles_scores_answers_when_the_folder_has_gold(tmp_path, gazetteer):
    (tmp_path / "e.txt").write_text(ECONOMY)
    (tmp_path / "expected.csv").write_text("article,actor,stance\ne,Canada,comply\n")
    (tmp_path / "answers.csv").write_text("article,actor,label,quote\ne,Canada,comply,said it would send 200\n")
    evaluation = evaluate_articles(tmp_path, gazetteer=gazetteer, n_resamples=20)
    # the rules take both Canada sentences: 1 of 2 right, the 1 gold answer found
    assert evaluation.value("answer_precision") == pytest.approx(0.5)
    assert evaluation.value("answer_recall") == pytest.approx(1.0)
    assert evaluation.value("answer_f1") == pytest.approx(2 / 3)


def test_answer_sentences_are_records_labelled_from_the_gold(tmp_path, gazetteer):
    (tmp_path / "e.txt").write_text(ECONOMY)
    gold = pd.DataFrame({"article": ["e"], "actor": ["Canada"], "label": ["comply"],
                         "quote": ["said it would send 200"]})
    records = answer_sentences([tmp_path], gold, gazetteer=gazetteer)
    assert records["label"].tolist() == ["not_answer", "answer", "not_answer"]  # NATO asking, then Canada twice
    assert records["episode"].unique().tolist() == ["e"]
    assert {"id", "text", "actor", "requester", "request", "date", "context", "status"} <= set(records.columns)
    assert records["id"].is_unique


def test_cli_articles_sentences_writes_the_dataset(tmp_path):
    (tmp_path / "e.txt").write_text(ECONOMY)
    (tmp_path / "answers.csv").write_text("article,actor,label,quote\ne,Canada,comply,said it would send 200\n")
    out = tmp_path / "out" / "sentences.jsonl"
    result = CliRunner().invoke(app, ["articles", "sentences", str(tmp_path), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 answers" in result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["label"] for r in rows] == ["not_answer", "answer", "not_answer"]


def test_cli_articles_sentences_names_what_is_missing(tmp_path):
    out = tmp_path / "sentences.jsonl"
    result = CliRunner().invoke(app, ["articles", "sentences", str(tmp_path / "nowhere"), "--output", str(out)])
    assert result.exit_code != 0 and "no such file or folder" in result.output and "nowhere" in result.output
    (tmp_path / "e.txt").write_text(ECONOMY)
    result = CliRunner().invoke(app, ["articles", "sentences", str(tmp_path), "--output", str(out)])
    assert result.exit_code != 0 and "answers.csv" in result.output and "does not exist" in result.output
    assert not out.exists()


def _fake_run(folder, name, started, status="complete", model=True):
    folder.mkdir(parents=True)
    if model:
        (folder / "model").mkdir()
    (folder / "manifest.json").write_text(json.dumps({"status": status, "started": started}))
    (folder / "config.yaml").write_text(f"name: {name}\n")


def test_auto_takes_the_newest_complete_answers_run(tmp_path):
    _fake_run(tmp_path / "r1", "answers", "2026-12-01T10:00:00")
    _fake_run(tmp_path / "results" / "r2", "answers", "2026-12-02T10:00:00")
    _fake_run(tmp_path / "r3", "answers", "2026-12-03T10:00:00", status="failed")
    _fake_run(tmp_path / "r4", "default", "2026-12-04T10:00:00")
    assert resolve_answer_run("auto", tmp_path) == tmp_path / "results" / "r2"
    # A newer cross-validation without a refitted model is passed over.
    _fake_run(tmp_path / "r5", "answers", "2026-12-05T10:00:00", model=False)
    assert resolve_answer_run("auto", tmp_path) == tmp_path / "results" / "r2"
    assert resolve_answer_run("auto", tmp_path / "none") is None
    assert resolve_answer_run("rules", tmp_path) is None and resolve_answer_run(None) is None
    assert resolve_answer_run(str(tmp_path / "r1")) == tmp_path / "r1"


def test_a_spacy_pipeline_splits_sentences_and_names_people(monkeypatch, gazetteer):
    from stance.articles import text as text_module

    class Span:
        def __init__(self, text, label=""):
            self.text, self.label_ = text, label

    class FakeNlp:  # stands in for an installed English spaCy pipeline
        meta = {"name": "core_fake"}

        def __call__(self, paragraph):
            parts = [p.strip() + "." for p in paragraph.split(".") if p.strip()]
            ents = [Span("Nguyen thi Binh", "PERSON")] if "Nguyen thi Binh" in paragraph else []
            return type("Doc", (), {"sents": [Span(p) for p in parts], "ents": ents})()

    article = ("NATO asked allies to send ships.\nItaly's foreign minister, Nguyen thi Binh, spoke in Rome.\n"
               "Germany said it would not take part.\nBinh said the government would send two ships.\n")
    # The name pattern cannot read "Nguyen thi Binh" as a name, so "Binh said" has no government.
    rules = analyze_text(article, "s", gazetteer=gazetteer, backend="rules")
    assert rules.governments["actor"].tolist() == ["Germany"]
    monkeypatch.setattr(text_module, "spacy_pipeline", lambda: FakeNlp())
    sentences = text_module.article_sentences(text_module.clean_article(article), "auto")
    assert [s.people for s in sentences] == [(), ("Nguyen thi Binh",), (), ()]
    analysis = analyze_text(article, "s", gazetteer=gazetteer, backend="auto")
    assert analysis.governments["actor"].tolist() == ["Germany", "Italy"]
    assert text_module.sentence_backend() == "spacy:core_fake"


def test_blocs_and_the_requests_target_never_answer(gazetteer):
    text = ("Britain asked allies to stop buying Argentine goods.\n"
            "The European Union said on Monday it would ban imports.\n"
            "Argentina said the measure was an act of aggression.\n"
            "France said it would stop its purchases.\n")
    analysis = analyze_text(text, "t", gazetteer=gazetteer, backend="rules")
    status = dict(zip(analysis.candidates["actor"], analysis.candidates["status"], strict=False))
    assert status["European Union"] == "bloc" and status["Argentina"] == "target"
    assert analysis.governments["actor"].tolist() == ["France"]


def test_a_bloc_or_target_stays_out_even_when_the_answer_model_takes_it(gazetteer):
    from stance.articles.answers import predict_answers

    class Always:
        labels = ("answer", "not_answer")

        def predict_proba(self, inputs):
            return np.tile([0.9, 0.1], (len(inputs.texts), 1))

    candidates = pd.DataFrame({"answer_text": ["a", "b", "c"], "context": ["", "", ""], "request": ["", "", ""],
                               "status": ["bloc", "target", "mention"]})
    assert predict_answers(candidates, Always(), "text")["answer"].tolist() == [False, False, True]


def test_bonn_after_reunification_means_germany():
    assert era_actor("West Germany", 1995) == "Germany" and era_actor("West Germany", 1982) == "West Germany"


def test_bonn_and_germany_in_one_1995_sentence_are_one_candidate(gazetteer):
    text = ("Allies answer NATO\n\nBy A Writer\nMarch 3, 1995\n\nNATO asked allies to send troops to the force.\n\n"
            "Officials in Bonn said German troops would not go, and Foreign Minister Klaus Kinkel has warned "
            "against a mission.\n")
    analysis = analyze_text(text, "t", gazetteer=gazetteer, backend="rules")
    rows = analysis.candidates[analysis.candidates["text"].str.contains("Bonn")]
    assert rows["actor"].tolist() == ["Germany"] and "Kinkel" in rows["text"].iloc[0]


def test_the_requester_and_a_requesting_organisation_never_answer(gazetteer):
    from stance.articles.answers import predict_answers, set_aside_non_answerers

    class Always:
        labels = ("answer", "not_answer")

        def predict_proba(self, inputs):
            return np.tile([0.9, 0.1], (len(inputs.texts), 1))

    candidates = pd.DataFrame({"answer_text": ["a", "b"], "context": ["", ""], "request": ["", ""],
                               "status": ["requester", "response"]})
    assert predict_answers(candidates, Always(), "text")["answer"].tolist() == [False, True]
    found = pd.DataFrame({"actor": ["United Nations", "Canada"], "status": ["requester", "response"]})
    marked = set_aside_non_answerers(found, gazetteer.kinds, (), ("United Nations",))
    assert marked["status"].tolist() == ["bloc", "response"]


def test_the_answer_model_reads_the_sentence_with_its_government_marked(gazetteer):
    from stance.articles.answers import mark_government

    # Every name of the row's government (by the article's era) is thegov, every other country othergov.
    assert mark_government("France said Germany would not send troops.", "France", gazetteer) == \
        "thegov said othergov would not send troops."
    assert mark_government("Bonn refused.", "West Germany", gazetteer, 1983) == "thegov refused."
    # A bloc keeps its name: it is never a government.
    assert mark_government("NATO asked Spain.", "Spain", gazetteer) == "NATO asked thegov."


def test_a_list_of_governments_reads_as_one_so_the_verb_reaches_every_member(gazetteer):
    from stance.articles.answers import mark_government

    text = "Brazil, India, Lebanon and South Africa abstained."
    assert mark_government(text, "Lebanon", gazetteer) == "thegov abstained."
    assert mark_government("The text, submitted by France, Britain and Portugal, passed.", "Italy", gazetteer) == \
        "The text, submitted by othergov, passed."
    # A possessive after a comma is not a list member ("Lebanon, Syria's neighbour").
    assert mark_government("Lebanon, Syria's neighbour, stayed out.", "Lebanon", gazetteer) == \
        "thegov, othergov's neighbour, stayed out."


def test_the_context_says_where_the_government_is_named_across_the_article(gazetteer):
    text = ("Britain asks allies for minesweepers\n\n"
            "LONDON - Britain asked France and Italy to send minesweepers.\n"
            "Italy said it would send two ships.\nFrance said it was studying the request.\n"
            "Rome later confirmed the ships had sailed.\n")
    candidates = analyze_text(text, "t", gazetteer=gazetteer, backend="rules").candidates
    context = dict(zip(candidates["actor"] + "@" + candidates["position"].astype(str), candidates["context"]))
    italy = [c for k, c in context.items() if k.startswith("Italy@")]
    france = [c for k, c in context.items() if k.startswith("France@")]
    assert all("ctx_gov_in_request" in c and "ctx_gov_not_in_headline" in c for c in italy + france)
    # The rules saw Italy in three sentences (the request, its answer, "Rome" later), in the request
    # as an object like France before it; the requester is named in the headline.
    assert all("ctx_gov_sentences_3" in c for c in italy)
    assert "ctx_kind_object" in context["Italy@0"] and "ctx_kind_object" in context["France@0"]
    assert "ctx_gov_in_headline" in context["United Kingdom@0"]
    texts = candidates.loc[candidates["actor"] == "Italy", "answer_text"].tolist()
    assert "thegov said it would send two ships." in texts and "thegov later confirmed the ships had sailed." in texts


def test_a_sentence_that_reads_the_same_for_two_governments_keeps_one_text_each(gazetteer):
    from stance.articles import answer_candidates
    from stance.articles.answers import government_context

    found = pd.DataFrame([{"article": "t", "actor": a, "position": 0, "paragraph": 0, "kind": "reported",
                           "speaker": "he", "how": "back-reference", "earlier": False, "status": "response",
                           "text": "He said the troops would go."} for a in ("Italy", "Spain")])
    rows = answer_candidates(found, gazetteer=gazetteer)
    # Apart by a number, not by the country's name, which would make the name evidence.
    assert rows["answer_text"].tolist() == ["He said the troops would go. (1)", "He said the troops would go. (2)"]
    assert government_context("Italy", {"headline": {"Italy"}}, 7) == ("gov_in_headline", "gov_sentences_4")


def test_the_context_names_the_words_beside_the_government_not_beside_the_others(gazetteer):
    from stance.articles import answer_candidates
    from stance.articles.answers import near_words

    assert near_words("Officials said thegov had not replied, while othergov abstained.", window=2) == \
        ("near_officials", "near_said", "near_had", "near_not")
    assert near_words("No government named here.") == ()
    found = pd.DataFrame([{"article": "t", "actor": a, "position": 0, "paragraph": 0, "kind": "opening",
                           "speaker": a, "how": "mention", "earlier": False, "status": "mention",
                           "text": "Brazil abstained in the vote on Monday, but Chile had not replied."} for a in ("Brazil", "Chile")])
    context = dict(zip(found["actor"], answer_candidates(found, gazetteer=gazetteer)["context"]))
    assert "ctx_near_abstained" in context["Brazil"] and "ctx_near_abstained" not in context["Chile"]
    assert "ctx_near_replied" not in context["Brazil"] and "ctx_near_had" in context["Chile"]


def test_a_list_member_stands_where_its_list_stands(gazetteer):
    from stance.articles.answers import list_starts, mention_rows
    from stance.articles.extraction import statements_frame
    from stance.articles.text import Sentence

    text = "Germany, France and the Netherlands are among the contributors, and Spain sent ships."
    mentions = gazetteer.find(text)
    assert list_starts(text, mentions) == [0, 0, 0, text.index("Spain")]
    sentences = [Sentence(index=0, paragraph=1, text=text),
                 Sentence(index=1, paragraph=2, text="Ships came from Britain, Italy and Greece."),
                 Sentence(index=2, paragraph=2, text="Two frigates sailed to Cyprus.")]
    rows = mention_rows(sentences, gazetteer, statements_frame([], "t"))
    kinds = {(a, p): k for a, p, k in zip(rows["actor"], rows["position"], rows["kind"], strict=True)}
    # Every member of the opening list opens the sentence; every member of "from ..." is an object;
    # a government alone after a preposition is a place, no candidate.
    assert kinds == {("Germany", 0): "opening", ("France", 0): "opening", ("Netherlands", 0): "opening",
                     ("Spain", 0): "inside", ("United Kingdom", 1): "object", ("Italy", 1): "object",
                     ("Greece", 1): "object"}
