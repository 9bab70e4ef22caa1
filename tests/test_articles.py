"""Articles to government stances: cleaning, sentences, requests, attribution, aggregation, CLI."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from stance.articles import (
    Sentence,
    analyze_text,
    article_sentences,
    clean_article,
    detect_request,
    evaluate_articles,
    extract_statements,
    group_statements,
    load_gazetteer,
    merge_quotes,
    overall_stances,
    split_sentences,
)
from stance.cli import app
from stance.errors import DataError

REPO = Path(__file__).resolve().parents[1]
ARTICLES = REPO / "data" / "articles"

# Written for these tests; not about any real request.
LETTER = """\
Allies answer call for more ships

By Jane Roe, Staff Writer
March 3, 2031

Advertisement

WASHINGTON — US Defense Secretary Ann Smith asked coalition partners to send more ships to the patrol mission, officials said.

"We need every ally to do more," Smith said on Monday.

Canada's defence minister, John Doe, told reporters the government was studying the letter. "We will look at it carefully. We have made no decision yet," the minister said.

Later, Doe said Canada would send one frigate in April.

German Chancellor Eva Klein dismissed the request. "Germany is already doing its share," she said.

Analysts said the allies were stretched. "Nobody has ships to spare," said Tom Grey, an analyst at a London think tank.

Read more: The patrol mission explained

(Reporting by Jane Roe; Editing by Max Moe)
"""


@pytest.fixture(scope="module")
def gazetteer():
    return load_gazetteer()


def sentences_of(text: str) -> list[Sentence]:
    return article_sentences(clean_article(text), backend="rules")


def attribute(text: str, gazetteer, requesters=()) -> list[tuple[str, str]]:
    """``(actor, status)`` of every statement found in ``text`` (paragraphs separated by newlines)."""
    from stance.articles import Request

    request = Request(tuple(requesters), "more ships", "") if requesters else None
    found = extract_statements(sentences_of(text), gazetteer, request, year=None)
    return [(s.actor, s.status) for s in found]


# ----------------------------------------------------------------------------------------------
# Gazetteer


def test_gazetteer_names_demonyms_capitals_institutions_and_alliances(gazetteer):
    assert gazetteer.resolve("Ottawa") == "Canada"
    assert gazetteer.resolve("Canadian") == "Canada"
    assert gazetteer.resolve("Bundestag") == "Germany"
    assert gazetteer.resolve("Dutch") == "Netherlands"
    assert gazetteer.resolve("NATO") == "NATO" and gazetteer.kinds["NATO"] == "alliance"
    # Longest alias wins: "West German" is not "German".
    assert [m.actors for m in gazetteer.find("West German officials")] == [("West Germany",)]
    # pycountry adds countries the packaged file does not list.
    assert gazetteer.resolve("Bhutan") == "Bhutan"


def test_gazetteer_ignores_phrases_that_only_contain_an_alias(gazetteer):
    assert gazetteer.find("Latin American leaders and the Washington Post") == []


def test_user_gazetteer_adds_governments_and_aliases(tmp_path):
    extra = tmp_path / "extra.yaml"
    extra.write_text("Ruritania: {demonyms: [Ruritanian], capitals: [Strelsau]}\nCanada: {capitals: [Hull]}\n")
    gazetteer = load_gazetteer(extra)
    assert gazetteer.resolve("Strelsau") == "Ruritania"
    assert gazetteer.resolve("Hull") == "Canada"
    assert gazetteer.resolve("Ottawa") == "Canada"  # packaged aliases are kept


def test_user_gazetteer_errors_name_the_file_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("Ruritania: {capital: [Strelsau]}\n")
    with pytest.raises(DataError, match="bad.yaml.*capital"):
        load_gazetteer(bad)
    with pytest.raises(DataError, match="does not exist"):
        load_gazetteer(tmp_path / "missing.yaml")


# ----------------------------------------------------------------------------------------------
# Cleaning and sentences


def test_clean_article_drops_filler_headline_and_dateline():
    article = clean_article(LETTER)
    assert article.title == "Allies answer call for more ships"
    assert article.year == 2031
    body = " ".join(article.paragraphs)
    for filler in ("Advertisement", "By Jane Roe", "Read more", "Reporting by", "March 3"):
        assert filler not in body
    assert article.paragraphs[0].startswith("US Defense Secretary")  # "WASHINGTON —" stripped
    assert "Advertisement" in article.dropped


def test_rule_splitter_keeps_abbreviations_and_splits_short_sentences():
    text = "Mr. Smith met Gen. Jones at 9 a.m. on Friday. Italy said no. Rome will not send troops."
    assert split_sentences(text, backend="rules") == [
        "Mr. Smith met Gen. Jones at 9 a.m. on Friday.", "Italy said no.", "Rome will not send troops."]


def test_quotes_split_across_sentences_are_rejoined():
    parts = split_sentences('"We are reviewing it. We will decide soon," he said. Then he left.', backend="rules")
    assert merge_quotes(parts) == ['"We are reviewing it. We will decide soon," he said.', "Then he left."]
    curly = ["“No decision yet.", "We will talk to allies,” she said."]
    assert merge_quotes(curly) == ["“No decision yet. We will talk to allies,” she said."]


def test_spacy_backend_is_refused_clearly_when_no_pipeline_is_installed(monkeypatch):
    import stance.articles as articles
    from stance.errors import StanceError

    monkeypatch.setattr(articles, "spacy_pipeline", lambda: None)
    with pytest.raises(StanceError, match="no spaCy pipeline"):
        split_sentences("One. Two.", backend="spacy")
    assert split_sentences("One. Two.", backend="auto") == ["One.", "Two."]


def test_spacy_pipeline_is_used_when_installed(monkeypatch):
    import stance.articles as articles

    class Span:
        def __init__(self, text):
            self.text = text

    class FakeNlp:  # stands in for an installed spaCy pipeline
        meta = {"name": "core_fake"}

        def __call__(self, text):
            return type("Doc", (), {"sents": [Span("Whole paragraph as one sentence. ")]})()

    monkeypatch.setattr(articles, "spacy_pipeline", lambda: FakeNlp())
    assert split_sentences("Whole paragraph as one sentence.") == ["Whole paragraph as one sentence."]
    assert articles.sentence_backend() == "spacy:core_fake"


# ----------------------------------------------------------------------------------------------
# Requests


def test_request_from_a_verb_names_requester_and_phrase(gazetteer):
    request = detect_request(sentences_of(LETTER), gazetteer)
    assert request.requesters == ("United States",)
    assert request.phrase == "send more ships to the patrol mission"


def test_request_from_a_noun_needs_the_requester_beside_it(gazetteer):
    request = detect_request(sentences_of("Ottawa rejected Washington's request for more jets over Iraq."), gazetteer)
    assert request.requesters == ("United States",) and request.phrase == "more jets over Iraq"
    # The government that answers is not the requester just because it is named in the sentence.
    request = detect_request(sentences_of("Canada will not agree to the request for more jets."), gazetteer)
    assert request.requesters == () and request.phrase == "more jets"


def test_request_with_several_requesters(gazetteer):
    text = "The Haitian, UN and US calls for a country to lead a security mission went unanswered."
    request = detect_request(sentences_of(text), gazetteer)
    assert request.requesters == ("Haiti", "United Nations", "United States")
    assert request.phrase == "a country to lead a security mission went unanswered"


def test_no_request_gives_none(gazetteer):
    assert detect_request(sentences_of("Canada said it was reviewing its options."), gazetteer) is None


# ----------------------------------------------------------------------------------------------
# Attribution


def test_titles_names_and_demonyms(gazetteer):
    assert attribute("German Chancellor Eva Klein dismissed the plan.", gazetteer) == [("Germany", "response")]
    assert attribute("The Dutch government said it would send two ships.", gazetteer) == [("Netherlands", "response")]
    text = "Canada's defence minister, John Doe, said no.\nDoe later told reporters the decision was final."
    assert attribute(text, gazetteer) == [("Canada", "response"), ("Canada", "response")]


def test_capitals_as_metonyms_and_according_to(gazetteer):
    assert attribute("Ottawa said its plans had not changed.", gazetteer) == [("Canada", "response")]
    text = "The frigates will sail in May, according to officials in Canberra."
    assert attribute(text, gazetteer) == [("Australia", "response")]
    assert attribute("In Berlin, a government spokesman said the answer was no.", gazetteer) == [("Germany", "response")]


def test_pronouns_and_the_minister_refer_back_to_the_last_speaker(gazetteer):
    text = ('Spain\'s defence minister said the request was under review.\n'
            '"We will decide in January," he said.\n'
            'The minister added that no troops would leave before then.')
    assert attribute(text, gazetteer) == [("Spain", "response")] * 3


def test_a_quote_split_across_sentences_is_one_statement(gazetteer):
    text = '"We are reviewing our contribution. We will say more in the new year," Italian Defence Minister Anna Rossi said.'
    found = extract_statements(sentences_of(text), gazetteer)
    assert [(s.actor, s.kind) for s in found] == [("Italy", "quote")]
    assert found[0].text.startswith('"We are reviewing') and found[0].text.endswith("said.")


def test_a_quote_continued_without_attribution_keeps_its_speaker(gazetteer):
    text = '"It is not on the table," Greek Prime Minister Nikos Alexiou said. "We have done enough."'
    assert attribute(text, gazetteer) == [("Greece", "response"), ("Greece", "response")]


def test_inverted_attribution_after_a_quote(gazetteer):
    text = ('Poland\'s defence minister, Jan Nowak, spoke on Monday.\n'
            '"We will send 600 soldiers," said Nowak.')
    assert attribute(text, gazetteer) == [("Poland", "response")]


def test_lists_and_contrasts(gazetteer):
    assert attribute("Germany and France said they would each send a ship.", gazetteer) == [
        ("Germany", "response"), ("France", "response")]
    assert attribute("Britain, Australia and Canada have committed forces.", gazetteer) == [
        ("United Kingdom", "response"), ("Australia", "response"), ("Canada", "response")]
    assert attribute("Unlike Canada, Australia said it would consider the request.", gazetteer) == [
        ("Australia", "response")]
    assert attribute("Canada said it would not take part, while Australia said it would consider it.", gazetteer) == [
        ("Canada", "response"), ("Australia", "response")]


def test_the_requester_speaking_is_set_aside(gazetteer):
    text = ('US Defense Secretary Ann Smith said every ally must do more.\n'
            '"We are counting on you," she said.\n'
            'Pentagon spokesman Bill Ray said answers were expected soon.')
    assert attribute(text, gazetteer, requesters=["United States"]) == [("United States", "requester")] * 3


def test_non_government_voices_and_their_pronouns_are_set_aside(gazetteer):
    text = ('Analysts in Ottawa said the request was a test of the alliance.\n'
            '"Nobody has ships to spare," said Tom Grey, an analyst at a London think tank.\n'
            'The opposition leader said Canada should send nothing.')
    assert [status for _, status in attribute(text, gazetteer)] == ["non-government"] * 3


def test_background_from_earlier_years_is_set_aside(gazetteer):
    sentences = sentences_of("In 2014, Canada agreed to send six jets.\nCanada said on Friday it would bring them home.")
    found = extract_statements(sentences, gazetteer, None, year=2015)
    assert [(s.actor, s.status) for s in found] == [("Canada", "background"), ("Canada", "response")]


def test_a_government_asking_another_is_not_a_response(gazetteer):
    text = "NATO Secretary-General Jens Stoltenberg called on Hungary to ratify quickly."
    assert attribute(text, gazetteer) == [("NATO", "request")]


def test_a_name_learnt_in_a_clause_split_that_is_undone_is_forgotten_cleanly(gazetteer):
    """A two-clause sentence tried clause by clause and then read whole must not leave a person in
    the name pattern that the restored context no longer knows (it raised KeyError)."""
    from stance.articles import _Attributor

    attributor = _Attributor(gazetteer, ())
    saved = copy.deepcopy(attributor.context)
    attributor.learn_people("Japan's prime minister, Yasuhiro Nakasone, spoke.")
    assert attributor._people_mentions("Yasuhiro Nakasone said so.", 0)
    attributor.restore(saved)
    assert attributor._people_mentions("Yasuhiro Nakasone said so.", 0) == []


def test_whole_letter_article(gazetteer):
    analysis = analyze_text(LETTER, "letter", gazetteer=gazetteer, backend="rules")
    assert analysis.request.requesters == ("United States",)
    # Sentences of one paragraph by one government are one statement (the guidelines' unit).
    assert analysis.statements["actor"].tolist() == ["Canada"] * 2 + ["Germany"]
    assert analysis.statements["sentences"].tolist() == [2, 1, 2]
    # Smith speaking, the analysts, and "officials said" about the request (no government named)
    assert analysis.excluded["status"].tolist() == ["unattributed", "requester", "non-government", "non-government"]
    assert analysis.governments["actor"].tolist() == ["Canada", "Germany"]
    assert analysis.governments["statements"].tolist() == [2, 1]
    assert analysis.governments.loc[0, "evidence"] == "Later, Doe said Canada would send one frigate in April."


# ----------------------------------------------------------------------------------------------
# Statements of up to three sentences

def _sentences(rows):
    """Response sentences as extract_statements gives them: (actor, position, paragraph, earlier, text)."""
    return pd.DataFrame([{"article": "a", "actor": actor, "position": position, "paragraph": paragraph,
                          "kind": "reported", "speaker": "", "how": "", "earlier": earlier, "status": "response",
                          "text": text} for actor, position, paragraph, earlier, text in rows])


def test_a_decision_and_its_justification_in_one_paragraph_are_one_statement():
    grouped = group_statements(_sentences([
        ("Germany", 3, 1, False, "The cabinet approved two Patriot batteries."),
        ("Germany", 4, 1, False, '"No German soldier will fly over Syria," the minister said.')]))
    assert grouped["text"].tolist() == ['The cabinet approved two Patriot batteries. "No German soldier will fly '
                                        'over Syria," the minister said.']
    assert grouped["position"].tolist() == [4] and grouped["sentences"].tolist() == [2]


def test_a_new_paragraph_another_speaker_or_an_earlier_mark_starts_a_new_statement():
    grouped = group_statements(_sentences([
        ("Canada", 1, 0, False, "Ottawa is studying the letter."),
        ("Canada", 2, 1, False, "The plan has not changed, she said."),      # new paragraph
        ("Spain", 3, 1, False, "Madrid ruled it out."),
        ("Canada", 4, 1, False, "Canada will send trainers instead."),       # Spain came between
        ("Canada", 5, 1, True, "Canada had initially offered jets."),         # marked earlier
    ]))
    assert grouped[grouped["actor"] == "Canada"]["sentences"].tolist() == [1, 1, 1, 1]


def test_a_long_run_is_cut_from_its_end_so_the_latest_statement_is_whole():
    grouped = group_statements(_sentences([("Italy", i, 0, False, f"S{i}.") for i in range(1, 6)]))
    assert grouped["text"].tolist() == ["S1. S2.", "S3. S4. S5."]
    assert grouped["position"].tolist() == [2, 5]


# ----------------------------------------------------------------------------------------------
# Overall stance


def _statements(rows):
    return pd.DataFrame([{"article": "a", "actor": actor, "position": pos, "earlier": earlier, "label": label,
                          "confidence": conf, "text": f"s{pos}"} for actor, pos, earlier, label, conf in rows])


def test_the_later_statement_wins():
    frame = _statements([("Canada", 1, False, "consider", 0.6), ("Australia", 2, False, "consider", 0.7),
                         ("Canada", 5, False, "decline", 0.8)])
    table = overall_stances(frame).set_index("actor")
    assert table.loc["Canada", "stance"] == "decline" and table.loc["Canada", "confidence"] == 0.8
    assert table.loc["Canada", "labels"] == "consider → decline" and table.loc["Canada", "evidence"] == "s5"
    assert table.loc["Canada", "statements"] == 2
    assert table.loc["Australia", "stance"] == "consider"


def test_a_statement_told_as_earlier_does_not_win_by_position():
    # "Germany will send jets, the government said. Last week, Merkel had said no decision was taken."
    frame = _statements([("Germany", 1, False, "comply", 0.9), ("Germany", 2, True, "consider", 0.7)])
    table = overall_stances(frame)
    assert table.loc[0, "stance"] == "comply" and table.loc[0, "labels"] == "consider → comply"


def test_overall_stances_of_nothing_is_an_empty_table():
    assert overall_stances(pd.DataFrame()).empty


# ----------------------------------------------------------------------------------------------
# Evaluation against an expected table (hand-computed)


def test_evaluation_scores_extraction_by_hand(tmp_path, gazetteer):
    (tmp_path / "one.txt").write_text("Canada said it would send a ship.\nGermany said it would not take part.\n")
    # Expected: Canada, Germany, Italy in one; Spain in two. Found: Canada, Germany; Spain.
    (tmp_path / "expected.csv").write_text(
        "article,actor,stance\none,Canada,comply\none,Germany,decline\none,Italy,comply\ntwo,Spain,consider\n")
    (tmp_path / "two.txt").write_text("Spain said it would consider the request.\nFrance said it would send a ship.\n")
    evaluation = evaluate_articles(tmp_path, gazetteer=gazetteer, n_resamples=50)
    # found 3 of 4 expected (recall 3/4); 3 of the 4 extracted are expected (precision 3/4)
    assert evaluation.value("extraction_recall") == pytest.approx(0.75)
    assert evaluation.value("extraction_precision") == pytest.approx(0.75)
    assert evaluation.value("extraction_f1") == pytest.approx(0.75)
    per_article = evaluation.tables["per_article"].set_index("article")
    assert per_article.loc["one", "missed"] == "Italy" and per_article.loc["two", "extra"] == "France"
    assert "stance_accuracy" not in set(evaluation.summary["metric"])  # no model, no stances


def test_evaluation_names_a_missing_article(tmp_path):
    (tmp_path / "expected.csv").write_text("article,actor,stance\nghost,Canada,comply\n")
    with pytest.raises(DataError, match="ghost"):
        evaluate_articles(tmp_path)


def test_shipped_articles_and_expected_table_agree():
    expected = pd.read_csv(ARTICLES / "expected.csv")
    names = sorted(p.stem for p in ARTICLES.glob("*.txt"))
    assert len(names) >= 12 and sorted(expected["article"].unique()) == names
    assert set(expected["stance"]) <= {"decline", "consider", "comply"}
    for name in names:
        words = len((ARTICLES / f"{name}.txt").read_text(encoding="utf-8").split())
        assert 250 <= words <= 600, (name, words)
    row = expected[expected["article"] == "isis-2015-letters"].set_index("actor")["stance"].to_dict()
    assert row == {"Canada": "decline", "Germany": "decline", "Australia": "consider"}


def test_shipped_articles_extraction_recall_target(gazetteer):
    evaluation = evaluate_articles(ARTICLES, gazetteer=gazetteer, n_resamples=20)
    assert evaluation.value("extraction_recall") >= 0.9


# ----------------------------------------------------------------------------------------------
# CLI, with a fast classifier trained on the real corpus


@pytest.fixture(scope="module")
def article_run(tmp_path_factory) -> Path:
    """A TF-IDF + logistic regression run on data/statements.jsonl (one C, no bootstrap: seconds)."""
    from stance.config import load_config
    from stance.experiment import run_experiment

    out = tmp_path_factory.mktemp("article-runs")
    config = load_config(REPO / "configs" / "baselines" / "tfidf_logreg.yaml", [
        f"data.path={REPO / 'data' / 'statements.jsonl'}", f"data.splits={REPO / 'data' / 'splits.json'}",
        "model.params.C_grid=[1.0]", "model.params.ngram_range=[1,1]", "evaluate.baselines=[]", "evaluate.bootstrap=0", f"output.dir={out}",
    ])
    run, _ = run_experiment(config)
    return run.path


runner = CliRunner()


def test_cli_analyze_writes_one_row_per_government(article_run, tmp_path):
    article = ARTICLES / "isis-2015-letters.txt"
    result = runner.invoke(app, ["analyze", str(article), "--model", str(article_run), "-o", str(tmp_path / "g.csv"),
                                 "--statements", str(tmp_path / "s.jsonl")])
    assert result.exit_code == 0, result.output
    assert "United States asked for" in result.output
    table = pd.read_csv(tmp_path / "g.csv")
    assert table["actor"].tolist() == ["Canada", "Germany", "Australia"]
    assert set(table["stance"]) <= {"decline", "consider", "comply"}
    assert {"confidence", "statements", "labels", "evidence", "requester", "request"} <= set(table.columns)
    statements = pd.read_json(tmp_path / "s.jsonl", lines=True)
    assert len(statements) == table["statements"].sum() and "p_decline" in statements.columns
    # Markdown by extension; an existing file needs --force.
    md = tmp_path / "g.md"
    assert runner.invoke(app, ["analyze", str(article), "-m", str(article_run), "-o", str(md)]).exit_code == 0
    assert md.read_text().startswith("| article")
    again = runner.invoke(app, ["analyze", str(article), "-m", str(article_run), "-o", str(md)])
    assert again.exit_code == 1 and "already exists" in again.output


def test_cli_analyze_reads_stdin_and_folders_without_a_model(tmp_path):
    result = runner.invoke(app, ["analyze", "-", "-o", str(tmp_path / "g.jsonl")], input=LETTER)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "g.jsonl").read_text().splitlines()]
    assert [r["actor"] for r in rows] == ["Canada", "Germany"] and rows[0]["article"] == "stdin"
    assert "not classified" in result.output
    folder = runner.invoke(app, ["analyze", str(ARTICLES), "--no-evidence"])
    assert folder.exit_code == 0 and "korea-1950-troops" in folder.output


def test_cli_analyze_reports_a_missing_file_in_one_line(tmp_path):
    result = runner.invoke(app, ["analyze", str(tmp_path / "nope.txt")])
    assert result.exit_code == 1 and "does not exist" in result.output


def test_cli_evaluate_articles(article_run, tmp_path):
    result = runner.invoke(app, ["evaluate-articles", "--model", str(article_run), "--bootstrap", "50",
                                 "--report", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(tmp_path / "report" / "summary.csv").set_index("metric")
    assert summary.loc["extraction_recall", "value"] >= 0.9
    assert 0 <= summary.loc["stance_accuracy", "value"] <= 1
    assert (tmp_path / "report" / "governments.csv").is_file()


def test_cli_help_for_article_commands():
    for command in ("analyze", "evaluate-articles"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "--model" in result.output
