"""Article text: filler, headline and dateline dropped; sentences split and quotations rejoined."""

from __future__ import annotations

import pytest

import stance.articles.text as text_module
from stance.articles import clean_article, merge_quotes, split_sentences

from .samples import LETTER


def test_clean_article_drops_filler_headline_and_dateline():
    article = clean_article(LETTER)
    assert article.title == "Allies answer call for more ships"
    assert article.year == 2031
    body = " ".join(article.paragraphs)
    for filler in ("Advertisement", "By Jane Roe", "Read more", "Reporting by", "March 3"):
        assert filler not in body
    assert article.paragraphs[0].startswith("US Defense Secretary")  # "WASHINGTON —" stripped
    assert "Advertisement" in article.dropped


@pytest.mark.parametrize("dateline", [
    "BEIRUT (AFP) - ", "WARSAW/VILNIUS (Baltic Wire) - ", "VIENNA, Feb 4, 2006 (Danube Press Agency) - ",
    "UNITED NATIONS, N.Y. (UPI) — ", "ABIDJAN, Ivory Coast (AP) - ", "LONDON, Nov. 24 (UPI) - "])
def test_dateline_is_dropped_after_a_sub_headline_and_byline(dateline):
    text = ("Lebanon stays out of sanctions\n\nBeirut and Ankara split over the measures\n\nBy Rana Haddad\n\n"
            f"{dateline}Lebanon will not apply the sanctions, its foreign minister said.\n\n"
            "PARIS - a later paragraph keeps its words.")
    article = clean_article(text)
    assert article.paragraphs[0] == "Beirut and Ankara split over the measures"  # the sub-headline stays
    assert article.paragraphs[1].startswith("Lebanon will not apply")
    assert article.paragraphs[2].startswith("PARIS - ")  # only the first dateline is one
    assert article.year == (2006 if "2006" in dateline else None)  # a dated dateline dates the article


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
    from stance.errors import StanceError

    monkeypatch.setattr(text_module, "spacy_pipeline", lambda: None)
    with pytest.raises(StanceError, match="no spaCy pipeline"):
        split_sentences("One. Two.", backend="spacy")
    assert split_sentences("One. Two.", backend="auto") == ["One.", "Two."]


def test_spacy_pipeline_is_used_when_installed(monkeypatch):
    class Span:
        def __init__(self, text):
            self.text = text

    class FakeNlp:  # stands in for an installed spaCy pipeline
        meta = {"name": "core_fake"}

        def __call__(self, text):
            return type("Doc", (), {"sents": [Span("Whole paragraph as one sentence. ")]})()

    monkeypatch.setattr(text_module, "spacy_pipeline", lambda: FakeNlp())
    assert split_sentences("Whole paragraph as one sentence.") == ["Whole paragraph as one sentence."]
    assert text_module.sentence_backend() == "spacy:core_fake"


def test_related_coverage_links_are_dropped():
    text = "Allies answer\n\nCanada said it would send a ship.\n\nRelated coverage\n- China says the plan is unfair\n"
    article = clean_article(text)
    assert article.paragraphs == ["Canada said it would send a ship."]
