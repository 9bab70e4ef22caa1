"""Text shared by the article tests: an invented news report and helpers that run the early steps."""

from __future__ import annotations

from pathlib import Path

from stance.articles import Request, Sentence, article_sentences, clean_article, extract_statements

REPO = Path(__file__).resolve().parents[2]
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


def sentences_of(text: str) -> list[Sentence]:
    return article_sentences(clean_article(text), backend="rules")


def attribute(text: str, gazetteer, requesters=()) -> list[tuple[str, str]]:
    """``(actor, status)`` of every statement found in ``text`` (paragraphs separated by newlines)."""
    request = Request(tuple(requesters), "more ships", "") if requesters else None
    found = extract_statements(sentences_of(text), gazetteer, request, year=None)
    return [(s.actor, s.status) for s in found]


#: The example articles the extraction rules were developed and frozen on (before the issue 21
#: round added harder development articles: lists of governments, blocs, link boilerplate).
RULES_ARTICLES = (
    "afghan-surge-2009", "airlift-1973-bases", "douma-2018-strikes", "haiti-2023-mission", "interfet-1999-troops",
    "isaf-2006-south", "isis-2015-letters", "korea-1950-troops", "kosovo-1998-activation", "libya-1986-overflight",
    "libya-2011-strikes", "mali-2013-serval", "moscow-1980-boycott", "nato-spending-2025", "patriot-2012",
    "pipeline-1982-sanctions", "qatar-2017-ties", "salisbury-2018-expulsions", "sweden-nato-2024", "syria-2013",
    "takuba-2020", "tanker-1987-minesweepers",
)


def rules_articles(folder: Path) -> Path:
    """Copy RULES_ARTICLES and their expected rows into ``folder``; return it."""
    import shutil

    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    for name in RULES_ARTICLES:
        shutil.copy(ARTICLES / f"{name}.txt", folder)
    expected = pd.read_csv(ARTICLES / "expected.csv")
    expected[expected["article"].isin(RULES_ARTICLES)].to_csv(folder / "expected.csv", index=False)
    return folder
