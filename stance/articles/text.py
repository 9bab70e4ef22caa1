"""Article text: drop page furniture (bylines, ads, credits, dates), take the headline off, strip the
dateline, and cut paragraphs into sentences, rejoining a quotation that runs over several.

Sentences come from a spaCy pipeline when one is installed, from a rule-based splitter otherwise.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from stance.errors import StanceError


_FILLER_LINE = re.compile(
    r"^(?:advertisement|sponsored( content)?|story continues below.*|continue reading.*|read more\b.*|"
    r"related( stories| coverage| articles)?:.*|related (stories|coverage|articles)|more on this( story)?:?|see also:?|also read\b.*|watch:.*|listen:.*|share( this( article| story)?)?\b.*|"
    r"sign up\b.*|subscribe\b.*|follow (us|@).*|click here\b.*|photo:.*|photograph:.*|image:.*|file photo\b.*|"
    r"\(?reporting by\b.*|\(?additional reporting\b.*|\(?editing by\b.*|\(?writing by\b.*|copyright\b.*|©.*|"
    r"all rights reserved.*|posted\b.*|published\b.*|updated\b.*|last updated\b.*|topics?:.*|tags?:.*|"
    r"comments?\b.*|print\b|email\b|this article (was|is)\b.*|by [A-Z][\w.'’-]+(?: [A-Z][\w.'’-]+){0,3}"
    r"(?:(?:,| and| in| for) .{0,80})?)$",
    re.IGNORECASE,
)
_DATE_LINE = re.compile(
    r"^(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,? )?(?:\d{1,2} )?"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? (?:\d{1,2},? )?\d{4}"
    r"(?:,? \d{1,2}[:.]\d{2}.*)?$|^\d{4}-\d{2}-\d{2}.*$",
    re.IGNORECASE,
)
_CAPTION = re.compile(r"\((?:AP|AFP|Reuters|Getty|EPA|[A-Z][\w ]*) Photo[^)]*\)\s*$|Getty Images\s*$|/ ?(?:AFP|AP|Reuters)\s*$")
_CITY = r"[A-Z][A-Z.'’-]+(?: [A-Z][A-Z.'’-]+)*"
# "BEIRUT (AFP) -", "WARSAW/VILNIUS (Baltic Wire) -", "VIENNA, Feb 4, 2006 (Danube Press Agency) -",
# "ABIDJAN, Ivory Coast (AP) -", "UNITED NATIONS, N.Y. (UPI) -": cities, a place or date, an agency.
_DATELINE = re.compile(
    rf"^{_CITY}(?:/{_CITY})*(?:, [A-Z][\w.]*(?: [A-Z][\w.]*)?(?: \d{{1,2}})?(?:, \d{{4}})?)?"
    r"\s*(?:\([A-Z][\w.&'’ -]{0,40}\))?\s*[—–-]{1,2}\s+"
)
#: A dateline opens the body, which may follow a sub-headline or a byline.
_DATELINE_WITHIN = 3
_TERMINAL = re.compile(r"[.!?…][\"”’)]*$|[\"”]$")
YEAR_RE = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")


@dataclass
class Article:
    """A cleaned article: its headline, its body paragraphs, the year it is written in."""

    name: str
    title: str
    paragraphs: list[str]
    year: int | None
    dropped: list[str] = field(default_factory=list)


def is_filler(line: str) -> bool:
    """Whether a line is page furniture rather than reporting (bylines, ads, credits, dates)."""
    stripped = line.strip().strip("*_#> ").strip()
    if not stripped:
        return True
    if _FILLER_LINE.match(stripped) or _DATE_LINE.match(stripped) or _CAPTION.search(stripped):
        return True
    # A link in a "Related coverage" list: a bulleted headline, with no full stop.
    if re.match(r"^[-•–]\s+\S", line.strip()) and not _TERMINAL.search(stripped):
        return True
    return False


def clean_article(text: str, name: str = "article") -> Article:
    """Split ``text`` into paragraphs without filler, headline or dateline.

    The headline is the first line that is not filler and does not end like a sentence; the
    article's year is the first year in the filler or the headline (its date line), else the
    most frequent year in the body.
    """
    title = ""
    paragraphs: list[str] = []
    dropped: list[str] = []
    header_years: list[int] = []
    dateline_seen = False
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = " ".join(raw.split())
        if not line:
            continue
        if is_filler(line):
            dropped.append(line)
            header_years += [int(y) for y in YEAR_RE.findall(line)]
            continue
        if not paragraphs and not title and not _TERMINAL.search(line) and len(line.split()) <= 25:
            title = line.strip("#* ")
            header_years += [int(y) for y in YEAR_RE.findall(line)]
            continue
        if len(paragraphs) < _DATELINE_WITHIN and not dateline_seen:
            match = _DATELINE.match(line)
            if match:  # its date, if it has one, dates the article
                header_years += [int(y) for y in YEAR_RE.findall(match.group(0))]
                line, dateline_seen = line[match.end():], True
        paragraphs.append(line)
    body_years = [int(y) for p in paragraphs for y in YEAR_RE.findall(p)]
    year = header_years[0] if header_years else (
        max(set(body_years), key=lambda y: (body_years.count(y), y)) if body_years else None)
    return Article(name, title, paragraphs, year, dropped)


_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "gen", "lt", "col", "maj", "capt", "adm", "sgt", "cpl", "sen", "rep", "gov", "prof",
    "st", "jr", "sr", "vs", "etc", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec", "rev", "hon", "inc", "ltd", "co", "corp", "brig", "cmdr", "pres", "approx", "e.g", "i.e",
    "u.s", "u.k", "u.n", "a.m", "p.m", "ft", "mt", "fig",
}
_BOUNDARY = re.compile(r"[.!?…]+[\"”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])")


def _regex_sentences(paragraph: str) -> list[str]:
    sentences, start = [], 0
    for match in _BOUNDARY.finditer(paragraph):
        before = paragraph[start:match.start() + 1]
        last_word = re.split(r"\s+", before.strip())[-1].rstrip(".!?…").lower().lstrip("(\"“")
        number_follows = re.match(r"\d", paragraph[match.end():match.end() + 1] or "")
        if match.group(0).startswith(".") and (last_word in _ABBREVIATIONS or re.fullmatch(r"[a-z]", last_word)
                                               or (last_word == "no" and number_follows)):
            continue
        sentences.append(paragraph[start:match.end()].strip())
        start = match.end()
    rest = paragraph[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


@functools.lru_cache(maxsize=1)
def spacy_pipeline():
    """The installed spaCy pipeline named by ``STANCE_SPACY_MODEL`` (default ``en_core_web_sm``), or None.

    Nothing is downloaded: without spaCy or without the pipeline package the rule-based
    splitter is used.
    """
    name = os.environ.get("STANCE_SPACY_MODEL", "en_core_web_sm")
    if name.lower() in ("", "none", "off"):
        return None
    try:
        import spacy

        return spacy.load(name, exclude=["lemmatizer", "textcat"])
    except Exception:  # noqa: BLE001 - any failure to load means "not installed here"
        return None


def sentence_backend() -> str:
    """``spacy:<pipeline>`` when a spaCy pipeline splits sentences and finds people, else ``rules``."""
    nlp = spacy_pipeline()
    return f"spacy:{nlp.meta.get('name', '?')}" if nlp is not None else "rules"


def split_sentences(paragraph: str, backend: str = "auto") -> list[str]:
    """Sentences of one paragraph: ``backend`` is ``auto`` (spaCy if installed), ``spacy`` or ``rules``."""
    if backend not in ("auto", "spacy", "rules"):
        raise StanceError(f"unknown sentence backend {backend!r}", hint="use auto, spacy or rules")
    nlp = spacy_pipeline() if backend in ("auto", "spacy") else None
    if backend == "spacy" and nlp is None:
        raise StanceError("no spaCy pipeline is installed", hint="install spaCy and an English pipeline, or use rules")
    if nlp is None:
        return _regex_sentences(paragraph)
    return [s.text.strip() for s in nlp(paragraph).sents if s.text.strip()]


def split_paragraph(paragraph: str, backend: str = "auto") -> tuple[list[str], list[str]]:
    """Sentences of one paragraph and the people (PERSON entities) a spaCy pipeline finds in it;
    with the rules, no people (the attribution's own name patterns find them)."""
    nlp = spacy_pipeline() if backend in ("auto", "spacy") else None
    if nlp is None:
        return split_sentences(paragraph, backend), []
    doc = nlp(paragraph)
    people = [e.text.strip() for e in getattr(doc, "ents", ()) if e.label_ == "PERSON" and len(e.text.split()) >= 2]
    return [s.text.strip() for s in doc.sents if s.text.strip()], people


def _open_quote(text: str) -> bool:
    """Whether ``text`` leaves a quotation open (curly quotes counted, straight ones paired)."""
    return text.count("“") > text.count("”") or text.count('"') % 2 == 1


def merge_quotes(sentences: Sequence[str], limit: int = 4) -> list[str]:
    """Rejoin sentences that a quotation runs across: ``“We are reviewing. We will decide,” he said.``"""
    merged: list[str] = []
    buffer: list[str] = []
    for sentence in sentences:
        buffer.append(sentence)
        joined = " ".join(buffer)
        if _open_quote(joined) and len(buffer) < limit:
            continue
        merged.append(joined)
        buffer = []
    if buffer:
        merged.append(" ".join(buffer))
    return merged


@dataclass(frozen=True)
class Sentence:
    """One sentence (or a quotation rejoined across sentences) with where it stands."""

    text: str
    index: int
    paragraph: int
    people: tuple[str, ...] = ()  # people a spaCy pipeline found in it (empty with the rules)


def article_sentences(article: Article, backend: str = "auto") -> list[Sentence]:
    """Every body sentence of ``article`` in order, quotations rejoined within a paragraph."""
    out: list[Sentence] = []
    for p, paragraph in enumerate(article.paragraphs):
        if backend not in ("auto", "spacy", "rules"):
            raise StanceError(f"unknown sentence backend {backend!r}", hint="use auto, spacy or rules")
        if backend == "spacy" and spacy_pipeline() is None:
            raise StanceError("no spaCy pipeline is installed", hint="install spaCy and an English pipeline, or use rules")
        sentences, people = split_paragraph(paragraph, backend)
        for text in merge_quotes(sentences):
            out.append(Sentence(text, len(out), p, tuple(name for name in people if name in text)))
    return out
