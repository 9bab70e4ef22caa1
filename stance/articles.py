"""From news articles to government stances: who answered the request, what they said, and how.

A news report about an ally's request goes through five steps, each a function here:

1. :func:`clean_article` drops filler (bylines, "Advertisement", photo credits, reporting
   credits), takes the headline off and strips datelines;
2. :func:`split_sentences` cuts paragraphs into sentences (a spaCy pipeline when one is
   installed, a rule-based splitter otherwise) and :func:`merge_quotes` rejoins a quotation
   that runs over several sentences;
3. :func:`detect_request` finds who asked for what ("US Defense Secretary Ash Carter asked
   coalition members to contribute more ...": requester United States, request "contribute
   more ...");
4. :func:`extract_statements` keeps the sentences that report what a government said or decided
   (direct quotes, reported speech with a reporting verb, announced decisions) and attributes
   each to a government through the :class:`Gazetteer` (countries, demonyms, capitals used as
   metonyms, institutions, alliances), named officials learnt from the article ("Defence Minister
   Harjit Sajjan" → Canada, then "Sajjan"), and back-references ("he", "the minister") to the
   last speaker. The requester's own statements, non-government speakers (analysts, the
   opposition) and background (years before the article's) are set aside with their reason;
5. :func:`classify_statements` labels each statement with a trained run and
   :func:`overall_stances` gives every government the stance of its latest statement (the
   guidelines' rule), with the statements behind it as evidence.

:func:`analyze_articles` runs them all; :func:`evaluate_articles` scores them against the
expected tables shipped with the example articles in ``data/articles/``.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from stance.errors import DataError, StanceError

# ----------------------------------------------------------------------------------------------
# Gazetteer

#: Kinds of alias a gazetteer entry may list, in the order they are read from the file.
ALIAS_KINDS: tuple[str, ...] = ("names", "demonyms", "capitals", "institutions")

#: Phrases that contain a government's alias without naming the government. Matched like aliases
#: (longest first), so "Latin American" is never read as "American".
NOT_GOVERNMENTS: tuple[str, ...] = (
    "Latin America", "Latin American", "North America", "North American", "South America", "South American",
    "Central America", "Central American", "Washington Post", "New York Times", "Ottawa Citizen",
    "Canberra Times", "Sydney Morning Herald", "Globe and Mail", "Times of India", "Berliner Zeitung",
    "Financial Times", "Deutsche Welle", "Associated Press", "Agence France-Presse", "Moscow Olympics",
    "Moscow Games", "Moscow Summer Games", "Washington Consensus", "German Marshall Fund",
    # Groups of member governments, not the alliance or union speaking.
    "NATO allies", "NATO members", "NATO member states", "NATO partners", "NATO countries", "EU members",
    "EU member states", "EU countries", "EU governments",
)


@dataclass(frozen=True)
class Mention:
    """A stretch of text that names a speaker or a government."""

    start: int
    end: int
    text: str
    kind: str  # names/demonyms/capitals/institutions, title, person, back, nongov
    actors: tuple[str, ...] = ()


@dataclass
class Gazetteer:
    """Aliases that name governments: ``alias -> (government, kind)``, plus country-specific titles.

    Build one with :func:`load_gazetteer`; :meth:`find` returns the aliases in a text.
    """

    aliases: dict[str, tuple[str, str]]
    titles: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._alias_re = _alternation([*self.aliases, *NOT_GOVERNMENTS])
        self._title_re = _alternation(self.titles) if self.titles else None
        self._people_re = _alternation(self.people) if self.people else None

    def find_people(self, text: str) -> list[Mention]:
        """Well-known officials listed in the gazetteer ("Angela Merkel"), by full name."""
        if self._people_re is None:
            return []
        return [Mention(m.start(), m.end(), m.group(0), "person", (self.people[m.group(0)],))
                for m in self._people_re.finditer(text)]

    @property
    def governments(self) -> list[str]:
        """Every government the gazetteer can name, sorted."""
        return sorted({government for government, _ in self.aliases.values()})

    def find(self, text: str) -> list[Mention]:
        """Aliases of governments in ``text``, left to right, longest match first."""
        found = []
        for match in self._alias_re.finditer(text):
            entry = self.aliases.get(match.group(0))
            if entry is not None:
                found.append(Mention(match.start(), match.end(), match.group(0), entry[1], (entry[0],)))
        return found

    def find_titles(self, text: str) -> list[Mention]:
        """Offices that name one government by themselves ("Chancellor", "Taoiseach")."""
        if self._title_re is None:
            return []
        return [Mention(m.start(), m.end(), m.group(0), "title", (self.titles[m.group(0)],))
                for m in self._title_re.finditer(text)]

    def resolve(self, name: str) -> str | None:
        """The canonical government for an alias or canonical name, or ``None``."""
        if name in self.kinds:
            return name
        entry = self.aliases.get(name)
        return entry[0] if entry else None


def _alternation(words: Iterable[str]) -> re.Pattern[str]:
    ordered = sorted(set(words), key=lambda w: (-len(w), w))
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(w) for w in ordered) + r")(?![\w-])")


def load_gazetteer(extra: str | Path | None = None, *, use_pycountry: bool = True) -> Gazetteer:
    """The packaged gazetteer, every other country pycountry knows, and ``extra`` merged on top.

    ``extra`` is a YAML (or JSON) file of the packaged file's shape: a government's aliases are
    added to the entry of the same name, a new name creates an entry. Without pycountry the
    packaged list alone is used.
    """
    packaged = importlib.resources.files("stance").joinpath("gazetteer.yaml").read_text(encoding="utf-8")
    entries = _parse_gazetteer(yaml.safe_load(packaged), "stance/gazetteer.yaml")
    if use_pycountry:
        _add_pycountry(entries)
    if extra is not None:
        entries = _merge_entries(entries, _parse_gazetteer(_read_yaml(Path(extra)), str(extra)))
    aliases: dict[str, tuple[str, str]] = {}
    titles: dict[str, str] = {}
    kinds: dict[str, str] = {}
    people: dict[str, str] = {}
    for government, entry in entries.items():
        kinds[government] = entry.get("kind", "country")
        aliases.setdefault(government, (government, "names"))
        for kind in ALIAS_KINDS:
            for alias in entry.get(kind, []):
                aliases[alias] = (government, kind)
        for title in entry.get("titles", []):
            titles[title] = government
        for person in entry.get("people", []):
            people[person] = government
    return Gazetteer(aliases, titles, kinds, people)


def _read_yaml(path: Path) -> object:
    if not path.is_file():
        raise DataError(f"gazetteer {path} does not exist", hint="check the path")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise DataError(f"gazetteer {path} is not valid YAML: {str(err).splitlines()[0]}") from None


def _parse_gazetteer(raw: object, source: str) -> dict[str, dict]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise DataError(f"gazetteer {source}: expected a mapping of government names to their aliases")
    known = {*ALIAS_KINDS, "titles", "people", "kind"}
    entries: dict[str, dict] = {}
    for government, entry in raw.items():
        entry = entry or {}
        if not isinstance(entry, Mapping):
            raise DataError(f"gazetteer {source}: entry {government!r} must be a mapping",
                            hint="e.g. Canada: {demonyms: [Canadian], capitals: [Ottawa]}")
        unknown = set(entry) - known
        if unknown:
            raise DataError(f"gazetteer {source}: entry {government!r} has unknown key(s) {', '.join(sorted(unknown))}",
                            hint=f"use {', '.join(sorted(known))}")
        clean: dict = {}
        for key, value in entry.items():
            if key == "kind":
                clean[key] = str(value)
            elif isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
                clean[key] = [v.strip() for v in value]
            else:
                raise DataError(f"gazetteer {source}: {government}.{key} must be a list of non-empty strings")
        entries[str(government)] = clean
    return entries


def _merge_entries(under: dict[str, dict], over: dict[str, dict]) -> dict[str, dict]:
    merged = {name: {k: (list(v) if isinstance(v, list) else v) for k, v in entry.items()} for name, entry in under.items()}
    for government, entry in over.items():
        target = merged.setdefault(government, {})
        for key, value in entry.items():
            if key == "kind":
                target[key] = value
            else:
                target[key] = [*target.get(key, []), *[v for v in value if v not in target.get(key, [])]]
    # An alias the user gives to one government is taken away from any other that had it.
    for government, entry in over.items():
        claimed = {v for key in (*ALIAS_KINDS, "titles", "people") for v in entry.get(key, [])}
        for other, other_entry in merged.items():
            if other != government:
                for key in (*ALIAS_KINDS, "titles", "people"):
                    if key in other_entry:
                        other_entry[key] = [v for v in other_entry[key] if v not in claimed]
    return merged


def _add_pycountry(entries: dict[str, dict]) -> None:
    try:
        import pycountry
    except ImportError:  # the packaged list still covers the governments of the corpus
        return
    known = {alias for name, entry in entries.items() for alias in [name, *entry.get("names", [])]}
    for country in pycountry.countries:
        names = [getattr(country, attr, None) for attr in ("common_name", "name")]
        names = [n for n in names if n and "," not in n and "(" not in n]
        if not names or any(n in known for n in names):
            continue
        entries[names[0]] = {"names": list(dict.fromkeys(names))}
        known.update(names)


# ----------------------------------------------------------------------------------------------
# Cleaning and sentences

_FILLER_LINE = re.compile(
    r"^(?:advertisement|sponsored( content)?|story continues below.*|continue reading.*|read more\b.*|"
    r"related( stories| coverage| articles)?:.*|also read\b.*|watch:.*|listen:.*|share( this( article| story)?)?\b.*|"
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
_DATELINE = re.compile(
    r"^(?:[A-Z][A-Z.'’-]+(?: [A-Z][A-Z.'’-]+)*)(?:, [A-Z][\w.]+(?: [A-Z][\w.]+)?(?: \d{1,2})?)?"
    r"\s*(?:\((?:[A-Za-z]+)\))?\s*[—–-]{1,2}\s+"
)
_TERMINAL = re.compile(r"[.!?…][\"”’)]*$|[\"”]$")
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")


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
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = " ".join(raw.split())
        if not line:
            continue
        if is_filler(line):
            dropped.append(line)
            header_years += [int(y) for y in _YEAR.findall(line)]
            continue
        if not paragraphs and not title and not _TERMINAL.search(line) and len(line.split()) <= 25:
            title = line.strip("#* ")
            header_years += [int(y) for y in _YEAR.findall(line)]
            continue
        if not paragraphs:
            line = _DATELINE.sub("", line, count=1)
        paragraphs.append(line)
    body_years = [int(y) for p in paragraphs for y in _YEAR.findall(p)]
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

        return spacy.load(name, exclude=["ner", "lemmatizer", "textcat"])
    except Exception:  # noqa: BLE001 - any failure to load means "not installed here"
        return None


def sentence_backend() -> str:
    """``spacy:<pipeline>`` when a spaCy pipeline splits sentences, else ``rules``."""
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


def article_sentences(article: Article, backend: str = "auto") -> list[Sentence]:
    """Every body sentence of ``article`` in order, quotations rejoined within a paragraph."""
    out: list[Sentence] = []
    for p, paragraph in enumerate(article.paragraphs):
        for text in merge_quotes(split_sentences(paragraph, backend)):
            out.append(Sentence(text, len(out), p))
    return out


# ----------------------------------------------------------------------------------------------
# Speakers: titles, back-references, non-government voices

_TITLE_WORDS = (
    "prime minister|deputy prime minister|foreign minister|defence minister|defense minister|interior minister|"
    "finance minister|ministers|minister|premier|president|vice president|chancellor|secretary|spokesperson|spokesman|"
    "spokeswoman|spokespeople|ambassador|envoy|officials?|government|ministry|department|cabinet|parliament|"
    "lawmakers|legislators|MPs|deputies|senators|king|queen|leader|head of state|head of government|"
    "chief of staff|chief|general|admiral|office|coalition government|administration|authorities|junta|regime"
)
_TITLE_RE = re.compile(rf"\b(?:{_TITLE_WORDS})\b", re.IGNORECASE)
_BACK_RE = re.compile(
    rf"\b(?:he|she|they|He|She|They)\b|\b(?:[Tt]he|[Hh]is|[Hh]er|[Tt]heir|[Ii]ts)\s+(?:own\s+)?(?:{_TITLE_WORDS}|aides?)\b"
)
_NONGOV_RE = re.compile(
    r"\b(?:analysts?|experts?|critics?|opposition|professors?|researchers?|scholars?|commentators?|observers?|"
    r"think[- ]tank|newspapers?|editorials?|polls?|surveys?|campaigners?|activists?|athletes?|Olympic committee|"
    r"[Nn]ational Olympic Committee|Olympic Committee|Olympic Association|union leaders?|civil society|human rights|"
    r"NGOs?|aid groups?|charit(?:y|ies)|rights groups?|an MP|a lawmaker|a legislator|a senator|backbench\w*|"
    r"members? of (?:the )?(?:parliament|Bundestag|House of Commons|House|Congress|Senate|Riksdag|Storting|Sejm|"
    r"Knesset|Duma|Diet|National Assembly|assembly|legislature|European Parliament)|business leaders?|industry|veterans?|"
    r"former (?:\w+ )?(?:minister|ambassador|general|official|diplomat|president|prime minister)s?)\b",
    re.IGNORECASE,
)
_PARTICLES = ("van", "von", "zu", "de", "der", "den", "da", "di", "du", "le", "la", "al", "bin", "ter")
_NAME_RE = re.compile(
    rf"\b[A-Z][a-zà-ÿ'’\-]+(?:\s+(?:(?:{'|'.join(_PARTICLES)})\s+)?[A-Z][a-zà-ÿ'’\-]+){{1,5}}"
)
_NAME_STOP = {
    "Minister", "Prime", "Foreign", "Defence", "Defense", "Secretary", "Chancellor", "President", "Vice", "Deputy",
    "Spokesperson", "Spokesman", "Spokeswoman", "Ambassador", "Envoy", "General", "Admiral", "Premier", "Senator",
    "King", "Queen", "Taoiseach", "State", "Home", "Finance", "Interior", "Affairs", "Chief", "Staff", "Opposition",
    "Leader", "Lieutenant", "Colonel", "Commander", "Head", "Director", "Press", "Government", "Cabinet", "Mr",
    "Mrs", "Ms", "Dr", "The", "A", "An", "Asked", "But", "And", "In", "On", "At", "After", "When", "While",
    "Speaking", "Meanwhile", "However", "Earlier", "Later", "Last", "This", "That", "His", "Her", "Their",
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January", "February", "March",
    "April", "May", "June", "July", "August", "September", "October", "November", "December", "Parliament",
    "Ministry", "Department", "Office", "Army", "Navy", "Air", "Force", "Forces", "Minister's", "Social", "Democrat",
    "Democrats", "Party", "Labour", "Liberal", "Conservative", "Republican", "Democratic", "Christian", "Union",
    "Committee", "Council", "Assembly", "House", "Senate", "Congress", "National", "Federal", "Security",
    "Defence's", "Secretary-General", "General's", "Special", "Envoy's", "Representative", "Under", "Permanent",
}
_ADJUNCT_START = re.compile(
    r"^(?:asked|speaking|responding|answering|replying|writing|addressing|visiting|meeting|after|before|despite|"
    r"unlike|like|while|when|whereas|as|although|though|in|at|on|during|following|with|without|since|if|because|"
    r"for|from|under|amid|who|which|whose|where|later|earlier|meanwhile|however|separately|instead|still|"
    r"yet|also|by|to|asked by|in a|\w+ing)\b",
    re.IGNORECASE,
)
_PREPOSITION_BEFORE = re.compile(
    r"(?:\b(?:to|at|in|with|on|for|toward|towards|against|by|over|about|from|of|into|than|across|near|under|"
    r"between|among|join|joining|asked|urged|told|letter|letters)\s+(?:the\s+)?)$",
    re.IGNORECASE,
)

# Reporting verbs: speech ("said"), and decisions announced by a government subject ("will send").
_SPEECH = (
    r"said|says|say|saying|told|tells|telling|confirmed|confirms|confirming|announced|announces|announcing|"
    r"added|adds|adding|stated|states|insisted|insists|insisting|dismissed|dismisses|dismissing|rejected|rejects|"
    r"rejecting|ruled out|rules out|ruling out|declined|declines|declining|refused|refuses|refusing|agreed|agrees|"
    r"pledged|pledges|promised|promises|warned|warns|noted|notes|explained|explains|indicated|indicates|"
    r"signalled|signaled|signals|argued|argues|replied|replies|responded|responds|wrote|writes|tweeted|posted|"
    r"acknowledged|acknowledges|vowed|vows|stressed|stresses|maintained|maintains|reiterated|reiterates|"
    r"suggested|suggests|conceded|concedes|offered|offers|repeated|repeats|informed|assured|made clear|"
    r"made it clear|answered|countered|cautioned|hinted|welcomed|welcomes|declared|declares|emphasised|"
    r"emphasized|underlined|underscored|affirmed|admitted|pointed out|committed|commits|approved|approves|"
    r"voted|votes|decided|decides|expelled|expels|ordered|ratified|ratifies|announce|confirm|brushed aside|"
    r"brushed off|shrugged off|waved away|turned down|turns down|spurned|snubbed|backed|backs|endorsed|endorses|"
    r"urged|urges|called on|calls on|called for|calls for|pressed|appealed to|appealed for"
)
_DECISION = (
    r"(?:will|would|shall|won['’]t|wouldn['’]t|cannot|can['’]t|could not|is to|are to|plans to|planned to|intends to|"
    r"is set to|are set to|is ready to|are ready to|stands ready to|is prepared to|are prepared to|is willing to|"
    r"has agreed to|have agreed to|has decided to|have decided to|has offered to|has chosen to|is unwilling to|"
    r"has no plans to|had no plans to|has no intention of|is not in a position to)\s+(?:not\s+|also\s+|now\s+|soon\s+|"
    r"still\s+|only\s+|be\s+)?[a-z]+|(?:is|are|was|were|has been|have been|remains|remain)\s+(?:still\s+|now\s+|also\s+|"
    r"not\s+|carefully\s+)?(?:considering|reviewing|studying|weighing|examining|assessing|looking at|discussing|"
    r"preparing|sending|deploying|withdrawing|pulling|sticking|ready|open|committed|unwilling|willing|reluctant)"
    r"|(?:has|have) (?:already )?(?:sent|deployed|dispatched|expelled|approved|ratified|declined|refused|rejected|"
    r"withdrawn|pulled out|committed|signed|joined)"
)
_CUE_RE = re.compile(rf"\b(?:according to|{_SPEECH})\b|\b(?:{_DECISION})\b")
_ACCORDING = re.compile(r"\baccording to\b")
_AUDIENCE_CUE = re.compile(r"(?:told|tells|telling|informed|assured|urged|urges|called on|calls on|pressed|appealed to)$")
_CONJ = re.compile(r"(?:['’]s)?(?:\s*,\s*|,?\s+and\s+(?:the\s+)?|\s+as well as\s+(?:the\s+)?)")
_URGING = re.compile(r"(?:urged|urges|called on|calls on|called for|calls for|pressed|appealed to|appealed for)$")
_ASKED_OF = re.compile(r"\b(?:allies|partners|members|countries|governments|nations|states|capitals)\b")
_OBJECT_PREPOSITION = re.compile(r"\b(?:to|with|against|on|for|about|toward|towards|into|over|by|at|than|of)\s+(?:the\s+)?$")
_EARLIER = re.compile(
    r"\b(?:earlier (?:this|that|in the|on) (?:week|month|day|year|morning)|earlier on|days earlier|a week earlier|"
    r"weeks earlier|last (?:week|month|year|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)|initially|"
    r"at first|previously|had (?:said|told|signalled|signaled|indicated|suggested|announced|insisted|stated|ruled|"
    r"promised|pledged|rejected|declined|agreed|refused|argued|hinted|warned))\b",
    re.IGNORECASE,
)
_QUOTE_SPAN = re.compile(r"“[^”]*”?|\"[^\"]*\"?")


def _mask_quotes(text: str) -> str:
    """``text`` with the inside of every quotation blanked, so nothing quoted is read as a speaker."""
    return _QUOTE_SPAN.sub(lambda m: m.group(0)[0] + " " * (len(m.group(0)) - 2) + m.group(0)[-1]
                           if len(m.group(0)) > 1 else m.group(0), text)


def _quoted_words(text: str) -> int:
    return sum(len(m.group(0).split()) for m in _QUOTE_SPAN.finditer(text))


@dataclass
class Speaker:
    """Who a statement is attributed to: governments (empty for a non-government voice) and how."""

    actors: tuple[str, ...]
    phrase: str
    how: str  # alias, person, back-reference, title, sentence, context, non-government
    start: int = -1  # where the naming mention starts in the sentence (aliases only)
    definite: bool = False  # a back-reference by a noun ("the government"), weaker than a pronoun


@dataclass
class _Context:
    """What the article has told so far: named people and the last speaker."""

    people: dict[str, tuple[str, ...]] = field(default_factory=dict)
    last_speaker: Speaker | None = None
    last_paragraph: int | None = None
    last_statement_index: int | None = None


def _segments(span: str, offset: int) -> list[tuple[int, str]]:
    """Clause-like pieces of a speaker span, split at commas and dashes, with their offsets."""
    pieces, start = [], 0
    for match in re.finditer(r",|\s[—–]\s|\s-\s|\(|\)", span):
        pieces.append((offset + start, span[start:match.start()]))
        start = match.end()
    pieces.append((offset + start, span[start:]))
    return [(o, s) for o, s in pieces if s.strip()]


def _person_name(text: str) -> str | None:
    """A person's name in ``text`` once titles are taken off ("Defence Minister Harjit Sajjan" → "Harjit Sajjan")."""
    for match in _NAME_RE.finditer(text):
        tokens = match.group(0).split()
        while tokens and tokens[0] in _NAME_STOP:
            tokens.pop(0)
        if len(tokens) >= 2 and tokens[-1] not in _NAME_STOP:
            return " ".join(tokens)
    return None


def _is_appositive(segment: str) -> bool:
    """A bare name or title ("Harjit Sajjan"): the government may be named in the piece before it."""
    words = segment.split()
    return bool(words) and all(w[0].isupper() or w.lower() in ("the", "of", "and", "for", *_PARTICLES) for w in words)


class _Attributor:
    """Finds the speaker of one sentence, learning names and back-references as it reads."""

    def __init__(self, gazetteer: Gazetteer, requesters: Sequence[str]) -> None:
        self.gazetteer = gazetteer
        self.requesters = set(requesters)
        self.context = _Context()
        self.paragraph = 0
        self._people_re: re.Pattern[str] | None = None

    # -- learning ------------------------------------------------------------------------------
    def learn_people(self, text: str) -> None:
        """Names introduced with a government ("Canada's defence minister, Harjit Sajjan")."""
        masked = _mask_quotes(text)
        for known in self.gazetteer.find_people(masked):
            self._remember(known.text.split(), known.actors)
        for match in _NAME_RE.finditer(masked):
            tokens = [t for t in match.group(0).split()]
            while tokens and (tokens[0] in _NAME_STOP or self.gazetteer.aliases.get(tokens[0])
                              or tokens[0].rstrip("'’s") in self.gazetteer.aliases):
                tokens.pop(0)
            if len(tokens) < 2 or any(self.gazetteer.aliases.get(t) for t in tokens) or tokens[-1] in _NAME_STOP:
                continue
            window = masked[max(0, match.start() - 60):match.start() + len(match.group(0)) - len(" ".join(tokens))]
            window = window.split(".")[-1]
            nongov = _NONGOV_RE.search(window)
            mentions = self.gazetteer.find(window)
            # The government nearest the name, but only if a title sits between them.
            if nongov and (not mentions or nongov.start() > mentions[-1].start):
                self._remember(tokens, ())
            elif mentions and _TITLE_RE.search(window[mentions[-1].start:]):
                self._remember(tokens, mentions[-1].actors)

    def learn_speaker(self, speaker: Speaker) -> None:
        """Remember the name in a speaker phrase resolved another way ("Chancellor Sebastian Kurz")."""
        for match in _NAME_RE.finditer(speaker.phrase):
            tokens = match.group(0).split()
            while tokens and tokens[0] in _NAME_STOP:
                tokens.pop(0)
            if len(tokens) >= 2 and not any(self.gazetteer.aliases.get(t) for t in tokens) and tokens[-1] not in _NAME_STOP:
                self._remember(tokens, speaker.actors)

    def note_subject(self, masked: str, paragraph: int) -> None:
        """A sentence that reports no statement but opens with a known person ("Prime Minister David
        Cameron lost the vote.") makes that person the one a following "he" refers to."""
        opening = re.match(r"\s*(?:(?:[A-Z][\w'’-]*|the|of)\s+){0,4}", masked)
        people = self._people_mentions(masked[:opening.end() + 40] if opening else "", 0)
        if people and people[0].start <= (opening.end() if opening else 0):
            self.context.last_speaker = Speaker(people[0].actors, people[0].text, "person")
            self.context.last_paragraph = paragraph

    def restore(self, context: _Context) -> None:
        """Go back to an earlier context (a clause split that did not hold): the people learnt since
        are forgotten, and so is the pattern that matched them."""
        self.context = context
        self._people_re = None

    def _remember(self, tokens: Sequence[str], actors: tuple[str, ...]) -> None:
        name = " ".join(tokens)
        for key in (name, tokens[-1]):
            if key not in self.context.people:
                self.context.people[key] = actors
                self._people_re = None

    def _people_mentions(self, text: str, offset: int) -> list[Mention]:
        if not self.context.people:
            return []
        if self._people_re is None:
            self._people_re = _alternation(self.context.people)
        return [Mention(offset + m.start(), offset + m.end(), m.group(0), "person", self.context.people[m.group(0)])
                for m in self._people_re.finditer(text)]

    # -- resolving -----------------------------------------------------------------------------
    def _segment_speaker(self, segment: str, offset: int) -> Speaker | None:
        """The speaker one clause piece names: a non-government voice, a government alias, a known
        person, or a back-reference to the last speaker, in that order."""
        nongov = _NONGOV_RE.search(segment)
        aliases = self.gazetteer.find(segment)
        if nongov and not any(a.start > nongov.end() and a.kind != "capitals" for a in aliases):
            return Speaker((), segment.strip(), "non-government")
        direct = [a for a in aliases if not _PREPOSITION_BEFORE.search(segment[:a.start])]
        if direct:
            chain = _conjoined(segment, aliases, aliases.index(direct[-1]))
            return Speaker(tuple(dict.fromkeys(a.actors[0] for a in chain)), segment.strip(), "alias",
                           start=offset + chain[0].start)
        people = self._people_mentions(segment, offset)
        if people:
            return Speaker(people[-1].actors, segment.strip(), "person" if people[-1].actors else "non-government")
        back = _BACK_RE.search(segment)
        if back and any(a.start > back.start() for a in aliases):  # "the government in Ottawa"
            return Speaker(aliases[-1].actors, segment.strip(), "alias", start=offset + aliases[-1].start)
        if back and self.context.last_speaker is not None:
            last = self.context.last_speaker
            pronoun = back.group(0).split()[0].lower() in ("he", "she", "they")
            return Speaker(last.actors, segment.strip(), "back-reference" if last.actors else "non-government",
                           definite=not pronoun)
        if aliases:  # "officials in Ottawa said"
            return Speaker(aliases[-1].actors, segment.strip(), "alias", start=offset + aliases[-1].start)
        return None

    def _span_speaker(self, span: str, offset: int) -> Speaker | None:
        """The speaker named before a reporting verb: the nearest clause piece that names one."""
        pieces = _segments(span, offset)
        for i in range(len(pieces) - 1, -1, -1):
            seg_offset, segment = pieces[i]
            if len(pieces) > 1 and _ADJUNCT_START.match(segment.strip()):
                continue  # "Asked about the US request, ...", "..., speaking in Washington, ..."
            found = self._segment_speaker(segment, seg_offset)
            if found is not None:
                if found.how == "alias" and len(found.actors) > 1:  # "Britain, Australia and Canada have"
                    mentions = self.gazetteer.find(span)
                    first = next((k for k, m in enumerate(mentions) if m.start + offset == found.start), None)
                    if first is not None:
                        chain = _conjoined(span, mentions, first)
                        found.actors = tuple(dict.fromkeys([*(m.actors[0] for m in chain), *found.actors]))
                return found
            if not _is_appositive(segment):
                return None
        return None

    def _after_speaker(self, span: str, offset: int) -> Speaker | None:
        """The speaker named after the verb: ``“...,” said Rachel Lind, a security analyst``."""
        for seg_offset, segment in _segments(span, offset):
            if re.match(r"\s*(?:who|which|whose|where|adding|saying|as|after|while|when)\b", segment):
                break
            found = self._segment_speaker(segment, seg_offset)
            if found is not None:
                return found
            if not _is_appositive(segment):
                break
        return None

    def speaker(self, sentence: str, masked: str, cue: re.Match[str]) -> Speaker | None:
        """The speaker of ``sentence`` for reporting cue ``cue``, or None when none can be named."""
        start = max(masked.rfind(q, 0, cue.start()) for q in ("”", '"', ";", ":"))
        before = masked[start + 1:cue.start()]
        if _ACCORDING.match(cue.group(0)) or (before.strip(" ,") == "" and start >= 0):
            # "according to officials in Ottawa"; “...,” said Defence Minister Harjit Sajjan.
            after = re.split(r"[.;:“\"]", masked[cue.end():], maxsplit=1)[0]
            nearest = _segments(after, 0)[0][1] if after.strip() else ""
            return self._with_fallbacks(self._after_speaker(after, cue.end()), nearest, masked, cue)
        nearest = _segments(before, 0)[-1][1] if before.strip() else ""
        found = self._span_speaker(before, start + 1)
        if found is not None and found.definite:
            # "In Berlin, the government said ..." / "the government said Germany would ...": a
            # government named beside the verb beats "the government" meaning the last speaker.
            located = self._located(masked, cue)
            if located is not None:
                return located
        return self._with_fallbacks(found, nearest, masked, cue)

    def _located(self, masked: str, cue: re.Match[str]) -> Speaker | None:
        """A government named where the speaker is ("In Ottawa, ...") or just after the verb ("said
        in Berlin", "said Germany would"), but not an audience ("told Canadian reporters")."""
        lead = re.match(r"\s*(?:In|From|At)\s+([^,]{1,40}),", masked)
        if lead and lead.end() <= cue.start():
            mentions = self.gazetteer.find(lead.group(1))
            if mentions:
                return Speaker(mentions[-1].actors, lead.group(0).strip(" ,"), "sentence")
        if _AUDIENCE_CUE.search(cue.group(0)):
            return None
        window = masked[cue.end():cue.end() + 40]
        for mention in self.gazetteer.find(window):
            if not _OBJECT_PREPOSITION.search(window[:mention.start]):
                return Speaker(mention.actors, window.strip(), "sentence")
        return None

    def _with_fallbacks(self, found: Speaker | None, nearest: str, masked: str, cue: re.Match[str]) -> Speaker | None:
        if found is not None:
            return found
        titles = self.gazetteer.find_titles(nearest)
        if not (_TITLE_RE.search(nearest) or titles or _person_name(nearest)):
            return None
        # An official the article does not tie to a government: where they speak, else the
        # government a country-specific title names ("Chancellor"), else the last speaker of the
        # same paragraph ("Defence Minister Lubomír Metnar said" after "The Czech government ...").
        located = self._located(masked, cue)
        if located is not None:
            located.phrase = nearest.strip()
            return located
        if titles:
            return Speaker(titles[-1].actors, nearest.strip(), "title")
        last = self.context.last_speaker
        if last is not None and self.context.last_paragraph == self.paragraph:
            return Speaker(last.actors, nearest.strip(), "context")
        return None


def _conjoined(text: str, mentions: Sequence[Mention], index: int) -> list[Mention]:
    """``mentions[index]`` with the mentions listed before it ("Germany and France", "the German and French")."""
    chain = [mentions[index]]
    for k in range(index - 1, -1, -1):
        if _CONJ.fullmatch(text[mentions[k].end:chain[0].start]):
            chain.insert(0, mentions[k])
        else:
            break
    return chain


# ----------------------------------------------------------------------------------------------
# Requests

@dataclass
class Request:
    """The request an article reports: who asked, what for (a short phrase), and where it is said."""

    requesters: tuple[str, ...]
    phrase: str
    sentence: str

    @property
    def requester(self) -> str:
        return " and ".join(self.requesters)


_REQUEST_VERB = re.compile(
    r"\b(?:asked|asks|asking|requested|requests|requesting|urged|urges|urging|called on|calls on|calling on|"
    r"appealed to|appeals to|appealing to|pressed|presses|pressing|pushed|pushing|lobbied|lobbying|"
    r"sought|seeks|seeking|invited|invites|wants|wanted)\b(?!\s+(?:about|whether|if|what|how|why|when|by\s+reporters))"
)
_REQUEST_NOUN = re.compile(
    r"\b(?:request|call|appeal|plea|demand|letter|push|pressure|invitation)s?\b"
    r"(?=\s+(?:(?:by|from)\s+[^,.;]{1,60}?\s+)?(?:for|to|that|asking|urging|calling)\b)"
)
_PHRASE_STOP = re.compile(
    r"[.;:?!“”\"]|,|\s[—–-]\s|\s(?:as|after|while|because|but|though|although|before|amid|saying|according|"
    r"have|has|had|was|were|is|are|drew|met|prompted|received|got)\s"
)


def _request_phrase(rest: str) -> str:
    """The short phrase after a request cue: ``allies to contribute more jets, ...`` → ``contribute more jets``."""
    match = re.match(r"\s*(?:[\w'’.&-]+\s+){0,10}?(?:to|for|that)\s+(.+)", rest, re.S)
    if match is None:
        return ""
    phrase = _PHRASE_STOP.split(match.group(1), maxsplit=1)[0]
    phrase = re.sub(r"^(?:them|it|members|allies|partners|countries|governments|nations|states|member states|"
                    r"coalition members|member governments)\s+to\s+", "", phrase.strip())
    words = phrase.split()
    return " ".join(words[:16]).strip(" ,")


def detect_request(sentences: Sequence[Sentence], gazetteer: Gazetteer) -> Request | None:
    """The first sentence that says who asked for what.

    A verb cue ("asked allies to ...", "called on partners to ...") takes its requester from the
    subject before it; a noun cue ("a US request for ...", "Washington's call for ...", "the
    request from NATO") only from the words right beside it, so that "Canada will not agree to
    the request for more jets" does not make Canada the requester.
    """
    candidates = list(_request_candidates(sentences, gazetteer))
    primary = next((c for c in candidates if c[1].requesters), candidates[0] if candidates else None)
    if primary is None:
        return None
    # Several requesters named near the top ("Henry asked ..., and Guterres urged ...") all ask.
    lede = primary[0].paragraph + 1
    requesters = [r for sentence, c in candidates if sentence.paragraph <= lede or c is primary[1]
                  for r in c.requesters]
    request = primary[1]
    return Request(tuple(dict.fromkeys(requesters)), request.phrase, request.sentence)


def _request_candidates(sentences: Sequence[Sentence], gazetteer: Gazetteer):
    """``(sentence, Request)`` for every request cue with a phrase, in article order."""
    attributor = _Attributor(gazetteer, ())
    for sentence in sentences:
        masked = _mask_quotes(sentence.text)
        attributor.learn_people(sentence.text)
        for match in _REQUEST_VERB.finditer(masked):
            phrase = _request_phrase(masked[match.end():])
            if not phrase:
                continue
            before = masked[:match.start()]
            passive = re.search(r"\bby\s+(.{0,60})$", masked[match.end():match.end() + 80]) if re.search(
                r"\b(?:was|were|been|being|is|are)\s+$", before) else None
            requesters: tuple[str, ...] = ()
            if passive is None:
                found = attributor._span_speaker(before[-160:], 0)
                requesters = found.actors if found else ()
            else:
                requesters = tuple(m.actors[0] for m in gazetteer.find(passive.group(1))[:2])
            yield sentence, Request(requesters, phrase, sentence.text)
        for match in _REQUEST_NOUN.finditer(masked):
            phrase = _request_phrase(masked[match.end():])
            if not phrase:
                continue
            near = masked[max(0, match.start() - 40):match.start()]
            adjacent = [m for m in gazetteer.find(near) if re.fullmatch(
                r"(?:['’]s)?(?:\s+(?:new|latest|formal|written|renewed|urgent|repeated|fresh|recent|own))*\s*",
                near[m.end:])]
            after = re.match(r"\s*(?:\w+\s+){0,6}?(?:from|by)\s+(?:the\s+)?(.{0,50})", masked[match.end():])
            requesters = tuple(m.actors[0] for m in adjacent[-1:]) or (
                tuple(dict.fromkeys(m.actors[0] for m in gazetteer.find(after.group(1)))) if after else ())
            # Several requesters before one noun: "Haitian, UN and US calls for ..."
            if adjacent:
                chain = [adjacent[-1]]
                for other in reversed(gazetteer.find(near)[:-1]):
                    if re.fullmatch(r"\s*(?:,|and|,\s*and)\s*", near[other.end:chain[0].start]):
                        chain.insert(0, other)
                    else:
                        break
                requesters = tuple(dict.fromkeys(m.actors[0] for m in chain))
            yield sentence, Request(requesters, phrase, sentence.text)


# ----------------------------------------------------------------------------------------------
# Statements

@dataclass
class Statement:
    """A government's response (or a sentence set aside, with ``status`` saying why)."""

    actor: str
    text: str
    position: int
    paragraph: int
    kind: str  # quote, reported, decision
    speaker: str
    how: str
    earlier: bool = False
    status: str = "response"  # response, requester, non-government, background, unattributed


def _is_background(sentence: str, year: int | None) -> bool:
    if year is None or _quoted_words(sentence) >= 3:
        return False
    years = [int(y) for y in _YEAR.findall(sentence)]
    return bool(years) and max(years) < year


def _split_clauses(masked: str) -> list[tuple[int, int]]:
    """Clause spans of a sentence that reports two speakers ("Canada said no, while Australia said ...")."""
    cuts = [m for m in re.finditer(r";\s|,\s+(?:while|whereas|but|and)\s", masked)]
    bounds, start = [], 0
    for cut in cuts:
        bounds.append((start, cut.start()))
        start = cut.start() + 1
    bounds.append((start, len(masked)))
    if len(bounds) > 1 and all(_CUE_RE.search(masked[a:b]) for a, b in bounds):
        return bounds
    return [(0, len(masked))]


def extract_statements(sentences: Sequence[Sentence], gazetteer: Gazetteer, request: Request | None = None,
                       year: int | None = None) -> list[Statement]:
    """Every sentence that reports what a government said or decided, attributed to it.

    The returned list also holds the sentences that looked like statements but are not
    responses, with ``status`` ``requester`` (the requester speaking), ``non-government``
    (analysts, the opposition, Olympic committees), ``background`` (only earlier years) or
    ``unattributed`` (a reporting verb but no government to give it to) or ``request`` (a
    government asking others, "NATO called on Hungary to ratify").
    """
    requesters = request.requesters if request else ()
    attributor = _Attributor(gazetteer, requesters)
    statements: list[Statement] = []
    for sentence in sentences:
        attributor.paragraph = sentence.paragraph
        attributor.learn_people(sentence.text)
        masked = _mask_quotes(sentence.text)
        found = _attribute_sentence(attributor, sentence, masked, year, requesters)
        statements.extend(found)
        if not found:
            attributor.context.last_statement_index = None
            attributor.note_subject(masked, sentence.paragraph)
    return statements


def _attribute_sentence(attributor: _Attributor, sentence: Sentence, masked: str, year: int | None,
                        requesters: Sequence[str]) -> list[Statement]:
    """The statements of one sentence: one per clause when its clauses have different speakers
    ("Canada said no, while Australia said it would consider"), else one for the whole sentence."""
    clauses = _split_clauses(masked)
    if len(clauses) > 1:
        saved = copy.deepcopy(attributor.context)
        parts = [_attribute_clause(attributor, sentence.text[a:b].strip(" ,;"), masked[a:b], sentence, year, requesters)
                 for a, b in clauses]
        speakers = [frozenset(st.actor for st in part) for part in parts]
        if all(parts) and len(set(speakers)) == len(speakers):
            return [statement for part in parts for statement in part]
        attributor.restore(saved)
    return _attribute_clause(attributor, sentence.text, masked, sentence, year, requesters)


def _attribute_clause(attributor: _Attributor, text: str, masked: str, sentence: Sentence, year: int | None,
                      requesters: Sequence[str]) -> list[Statement]:
    quoted = _quoted_words(text) >= 3
    earlier = bool(_EARLIER.search(masked))
    speaker: Speaker | None = None
    kind = "reported"
    urging = False
    for cue in _CUE_RE.finditer(masked):
        speaker = attributor.speaker(text, masked, cue)
        if speaker is not None:
            kind = "quote" if quoted else ("decision" if not re.match(rf"(?:according to|{_SPEECH})$", cue.group(0))
                                           else "reported")
            # "Stoltenberg called on Hungary to ...": asking another government is a request, not a
            # response (urging one's own Olympic association is a response).
            target = re.split(r"\bto\b|[,.;]", masked[cue.end():], maxsplit=1)[0]
            urging = bool(_URGING.search(cue.group(0))) and not _NONGOV_RE.search(target) and bool(
                attributor.gazetteer.find(target) or _ASKED_OF.search(target))
            break
    context = attributor.context
    if speaker is None and quoted and not re.search(r"[A-Za-z]", re.sub(r"[“”\"]", "", masked)) and (
            context.last_statement_index is not None and context.last_statement_index >= sentence.index - 1
            and context.last_speaker is not None):
        # A quotation carried on from the sentence before, with no attribution of its own.
        speaker = Speaker(context.last_speaker.actors, context.last_speaker.phrase, "continued quote")
        kind = "quote"
    if speaker is None:
        if _CUE_RE.search(masked) and (_TITLE_RE.search(masked) or quoted):
            return [Statement("", text, sentence.index, sentence.paragraph, kind, "", "none", earlier, "unattributed")]
        return []
    context.last_speaker = speaker
    context.last_statement_index = sentence.index
    context.last_paragraph = sentence.paragraph
    if speaker.how in ("sentence", "title", "context"):
        attributor.learn_speaker(speaker)
    if not speaker.actors:
        return [Statement("", text, sentence.index, sentence.paragraph, kind, speaker.phrase, speaker.how, earlier,
                          "non-government")]
    if _is_background(text, year):
        status = "background"
    elif urging:
        status = "request"
    else:
        status = None
    out = []
    for actor in speaker.actors:
        out.append(Statement(actor, text, sentence.index, sentence.paragraph, kind, speaker.phrase, speaker.how,
                             earlier, status or ("requester" if actor in requesters else "response")))
    return out


def statements_frame(statements: Sequence[Statement], article: str = "") -> pd.DataFrame:
    """The statements as a table, one row each, in article order."""
    columns = ["article", "actor", "position", "paragraph", "kind", "speaker", "how", "earlier", "status", "text"]
    rows = [{"article": article, "actor": s.actor, "position": s.position, "paragraph": s.paragraph,
             "kind": s.kind, "speaker": s.speaker, "how": s.how, "earlier": s.earlier, "status": s.status,
             "text": s.text} for s in statements]
    return pd.DataFrame(rows, columns=columns)


# ----------------------------------------------------------------------------------------------
# Classification and aggregation

#: The most sentences one statement holds: the guidelines' unit is one to three sentences.
MAX_STATEMENT_SENTENCES = 3


def group_statements(responses: pd.DataFrame, max_sentences: int = MAX_STATEMENT_SENTENCES) -> pd.DataFrame:
    """Join each government's runs of back-to-back sentences into statements of up to ``max_sentences``.

    The labelling unit is a statement of one to three sentences, and an article often spreads one
    across several: a decision, then the minister's justification ("The cabinet approved two
    Patriot batteries. ... 'No German soldier will be involved over Syria,' he said."). Read one
    sentence at a time, the justification looks like a stance of its own, and being last it would
    decide the government's overall stance. A run is the same government's response sentences at
    consecutive positions in one paragraph (a news paragraph is the reporter's own unit; a new one
    often brings a new speaker or a later development), all marked earlier or none; anything in
    between (another speaker, background, a sentence set aside) ends it. A run longer than ``max_sentences`` is cut into
    statements from its end, so the latest statement is always a full one. Each statement takes the
    position of its last sentence and the kind, speaker and attribution of its first; ``sentences``
    counts what it joins.
    """
    if responses.empty:
        return responses.assign(sentences=pd.Series(dtype=int))
    rows = []
    for _, group in responses.groupby(["article", "actor"], sort=False):
        group = group.sort_values("position", kind="stable")
        run: list[pd.Series] = []
        for _, row in group.iterrows():
            previous = run[-1] if run else None
            if previous is not None and (row["position"] != previous["position"] + 1
                                         or row["paragraph"] != previous["paragraph"]
                                         or bool(row["earlier"]) != bool(previous["earlier"])):
                rows.extend(_join_run(run, max_sentences))
                run = []
            run.append(row)
        rows.extend(_join_run(run, max_sentences))
    out = pd.DataFrame(rows).sort_values(["position", "actor"], kind="stable").reset_index(drop=True)
    return out[[*responses.columns, "sentences"]]


def _join_run(run: list[pd.Series], max_sentences: int) -> list[dict]:
    statements = []
    end = len(run)
    while end > 0:
        part = run[max(0, end - max_sentences):end]
        first, last = part[0], part[-1]
        statements.append({**first.to_dict(), "position": last["position"], "sentences": len(part),
                           "text": " ".join(str(row["text"]) for row in part)})
        end -= len(part)
    return statements[::-1]


def classify_statements(frame: pd.DataFrame, classifier, mode: str = "text", request: str = "") -> pd.DataFrame:
    """``frame`` with ``label``, ``confidence`` and ``p_<label>`` from a trained classifier.

    In ``request_text`` mode the model reads the article's request phrase with each statement.
    """
    from stance.models import TextInputs

    out = frame.copy()
    if out.empty:
        out["label"] = pd.Series(dtype=str)
        out["confidence"] = pd.Series(dtype=float)
        return out
    texts = out["text"].astype(str).tolist()
    inputs = TextInputs(texts, [request] * len(texts) if mode == "request_text" else None)
    proba = classifier.predict_proba(inputs)
    out["label"] = [classifier.labels[i] for i in proba.argmax(axis=1)]
    out["confidence"] = proba.max(axis=1).round(4)
    for i, label in enumerate(classifier.labels):
        out[f"p_{label}"] = proba[:, i].round(4)
    return out


def overall_stances(statements: pd.DataFrame) -> pd.DataFrame:
    """One row per government: the stance of its latest statement, with the statements behind it.

    "Latest" follows the guidelines: the statement the article tells last, except that one the
    article marks as earlier ("last week", "had said", "initially") comes before every statement
    without such a mark. ``labels`` lists every label in that order; ``evidence`` is the deciding
    statement.
    """
    columns = ["article", "actor", "stance", "confidence", "statements", "labels", "evidence"]
    if statements.empty:
        return pd.DataFrame(columns=columns)
    has_labels = "label" in statements.columns
    rows = []
    for (article, actor), group in statements.groupby(["article", "actor"], sort=False):
        ordered = group.assign(_late=~group["earlier"].astype(bool)).sort_values(["_late", "position"], kind="stable")
        latest = ordered.iloc[-1]
        rows.append({
            "article": article,
            "actor": actor,
            "stance": latest["label"] if has_labels else None,
            "confidence": float(latest["confidence"]) if has_labels else float("nan"),
            "statements": len(group),
            "labels": " → ".join(ordered["label"]) if has_labels else "",
            "evidence": latest["text"],
        })
    return pd.DataFrame(rows, columns=columns)


# ----------------------------------------------------------------------------------------------
# Whole articles

@dataclass
class ArticleAnalysis:
    """What :func:`analyze_text` found in one article."""

    article: Article
    request: Request | None
    statements: pd.DataFrame  # responses, classified when a model was given
    excluded: pd.DataFrame  # statements set aside, with their status
    governments: pd.DataFrame  # one row per responding government


@dataclass
class ArticlesResult:
    """Every article of one :func:`analyze_articles` call, and the tables across them."""

    analyses: list[ArticleAnalysis]
    governments: pd.DataFrame
    statements: pd.DataFrame
    requests: pd.DataFrame


def analyze_text(text: str, name: str = "article", *, gazetteer: Gazetteer | None = None, classifier=None,
                 mode: str = "text", backend: str = "auto") -> ArticleAnalysis:
    """Analyse one article's text: request, responses, their labels, each government's stance."""
    gazetteer = gazetteer or load_gazetteer()
    article = clean_article(text, name)
    sentences = article_sentences(article, backend)
    request = detect_request(sentences, gazetteer)
    found = statements_frame(extract_statements(sentences, gazetteer, request, article.year), name)
    responses = group_statements(found[found["status"] == "response"].reset_index(drop=True))
    excluded = found[found["status"] != "response"].reset_index(drop=True)
    if classifier is not None:
        responses = classify_statements(responses, classifier, mode, request.phrase if request else "")
    governments = overall_stances(responses)
    governments["requester"] = request.requester if request else ""
    governments["request"] = request.phrase if request else ""
    return ArticleAnalysis(article, request, responses, excluded, governments)


def read_articles(paths: Sequence[str | Path]) -> list[tuple[str, str]]:
    """``(name, text)`` for every article: files, every ``*.txt`` of a folder, ``-`` for stdin."""
    articles: list[tuple[str, str]] = []
    for item in paths:
        if str(item) == "-":
            articles.append(("stdin", sys.stdin.read()))
            continue
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".txt", ".md") and p.is_file()
                           and not p.name.upper().startswith("README"))
            if not files:
                raise DataError(f"{path} holds no .txt or .md articles")
        elif path.is_file():
            files = [path]
        else:
            raise DataError(f"article {path} does not exist", hint="give files, a folder of .txt files, or - for stdin")
        for file in files:
            try:
                articles.append((file.stem, file.read_text(encoding="utf-8")))
            except UnicodeDecodeError:
                raise DataError(f"{file}: not UTF-8 text", hint="re-save it as UTF-8") from None
    if not articles:
        raise DataError("no articles given", hint="give files, a folder, or - for stdin")
    return articles


def load_article_model(run: str | Path):
    """The classifier of a trained run and the input mode it reads."""
    from stance.predict import load_predictor

    return load_predictor(run)


def analyze_articles(paths: Sequence[str | Path], run: str | Path | None = None, *,
                     gazetteer: str | Path | Gazetteer | None = None, backend: str = "auto",
                     articles: Sequence[tuple[str, str]] | None = None) -> ArticlesResult:
    """Analyse every article in ``paths`` (or the given ``(name, text)`` pairs) with the run's model.

    Without ``run`` the statements are extracted and attributed but not classified.
    """
    if not isinstance(gazetteer, Gazetteer):
        gazetteer = load_gazetteer(gazetteer)
    classifier, mode = load_article_model(run) if run is not None else (None, "text")
    texts = list(articles) if articles is not None else read_articles(paths)
    analyses = [analyze_text(text, name, gazetteer=gazetteer, classifier=classifier, mode=mode, backend=backend)
                for name, text in texts]
    governments = pd.concat([a.governments for a in analyses], ignore_index=True) if analyses else pd.DataFrame()
    statements = pd.concat([a.statements for a in analyses], ignore_index=True) if analyses else pd.DataFrame()
    requests = pd.DataFrame([{
        "article": a.article.name, "title": a.article.title, "requester": a.request.requester if a.request else "",
        "request": a.request.phrase if a.request else "", "governments": len(a.governments),
        "statements": len(a.statements), "set_aside": len(a.excluded),
    } for a in analyses])
    return ArticlesResult(analyses, governments, statements, requests)


def write_table(frame: pd.DataFrame, path: str | Path, *, force: bool = False) -> None:
    """Write a table as CSV, JSONL, Parquet or Markdown (``.md``), from the extension."""
    from stance.predict import check_output, write_frame
    from stance.report import markdown, write_atomic

    path = Path(path)
    if path.suffix.lower() in (".md", ".markdown"):
        if path.exists() and not force:
            raise StanceError(f"{path} already exists", hint="pass --force to overwrite it")
        write_atomic(path, markdown(frame) + "\n")
        return
    try:
        check_output(path, force)
    except DataError:
        raise DataError(f"{path}: unsupported format {path.suffix or '(no extension)'}",
                        hint="use .csv, .jsonl, .parquet or .md") from None
    write_frame(frame, path)


# ----------------------------------------------------------------------------------------------
# Evaluation against expected tables

@dataclass
class ArticleEvaluation:
    """Extraction and stance scores of :func:`evaluate_articles`, as report tables."""

    tables: dict[str, pd.DataFrame]
    result: ArticlesResult

    @property
    def summary(self) -> pd.DataFrame:
        return self.tables["summary"]

    def value(self, metric: str) -> float:
        row = self.summary[self.summary["metric"] == metric]
        return float(row["value"].iloc[0]) if len(row) else float("nan")


def load_expected(path: str | Path) -> pd.DataFrame:
    """The expected table: one row per (article, actor) with its ``stance``."""
    from stance.data import read_table

    frame = read_table(path)
    missing = {"article", "actor", "stance"} - set(frame.columns)
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(sorted(missing))}", hint="columns: article, actor, stance")
    frame = frame[["article", "actor", "stance"]].apply(lambda c: c.str.strip())
    duplicated = frame.duplicated(["article", "actor"])
    if duplicated.any():
        first = frame[duplicated].iloc[0]
        raise DataError(f"{path}: {first['actor']} is listed twice for article {first['article']}")
    return frame


def evaluate_articles(folder: str | Path = "data/articles", run: str | Path | None = None, *,
                      expected: str | Path | None = None, gazetteer: str | Path | Gazetteer | None = None,
                      backend: str = "auto", n_resamples: int = 1000, seed: int = 0) -> ArticleEvaluation:
    """Score the analysis of every article in ``expected`` (default ``folder/expected.csv``).

    Extraction is scored per government and article: precision is the share of governments
    found that are expected, recall the share of expected governments found. Stance accuracy is
    the share of found-and-expected governments whose overall stance is the expected one;
    ``stance_accuracy_all`` counts a missed government as wrong. Intervals are percentile
    bootstraps that resample whole articles (their governments are not independent).
    """
    folder = Path(folder)
    expected_path = Path(expected) if expected else folder / "expected.csv"
    gold = load_expected(expected_path)
    names = list(dict.fromkeys(gold["article"]))
    paths = []
    for name in names:
        candidates = [folder / f"{name}.txt", folder / f"{name}.md"]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            raise DataError(f"{expected_path}: article {name!r} has no file {folder / (name + '.txt')}")
        paths.append(path)
    result = analyze_articles(paths, run, gazetteer=gazetteer, backend=backend)
    found = result.governments[["article", "actor", "stance"]].rename(columns={"stance": "predicted"})
    merged = gold.rename(columns={"stance": "expected"}).merge(found, on=["article", "actor"], how="outer")
    expected_keys = set(zip(gold["article"], gold["actor"], strict=True))
    found_keys = set(zip(found["article"], found["actor"], strict=True))
    merged["status"] = [
        "found" if key in expected_keys and key in found_keys else ("missed" if key in expected_keys else "extra")
        for key in zip(merged["article"], merged["actor"], strict=True)
    ]
    classified = run is not None
    merged["correct"] = (merged["expected"] == merged["predicted"]) if classified else pd.NA
    tables = {
        "summary": _summary(merged, classified, n_resamples, seed),
        "per_article": _per_article(merged, names, classified),
        "governments": merged[["article", "actor", "expected", "predicted", "status", "correct"]].sort_values(
            ["article", "status", "actor"], kind="stable").reset_index(drop=True),
    }
    return ArticleEvaluation(tables, result)


def _summary(merged: pd.DataFrame, classified: bool, n_resamples: int, seed: int) -> pd.DataFrame:
    from stance.evaluate import bootstrap_interval

    found = merged[merged["status"] == "found"]
    expected = merged[merged["status"] != "extra"]
    predicted = merged[merged["status"] != "missed"]
    rows = []

    def add(metric: str, hits: Sequence[bool], groups: Sequence[str], note: str) -> None:
        hits = list(hits)
        if not hits:
            rows.append({"metric": metric, "value": float("nan"), "low": float("nan"), "high": float("nan"),
                         "n": 0, "note": note})
            return
        interval = bootstrap_interval(["yes"] * len(hits), ["yes" if h else "no" for h in hits], "accuracy",
                                      labels=["yes", "no"], n_resamples=n_resamples, seed=seed, groups=list(groups))
        rows.append({"metric": metric, "value": sum(hits) / len(hits), "low": interval.low, "high": interval.high,
                     "n": len(hits), "note": note})

    add("extraction_precision", predicted["status"] == "found", predicted["article"],
        "governments found that are expected")
    add("extraction_recall", expected["status"] == "found", expected["article"], "expected governments found")
    p, r = rows[0]["value"], rows[1]["value"]
    rows.append({"metric": "extraction_f1", "value": 2 * p * r / (p + r) if p + r else 0.0, "low": float("nan"),
                 "high": float("nan"), "n": len(merged), "note": "harmonic mean of precision and recall"})
    if classified:
        add("stance_accuracy", found["correct"].astype(bool), found["article"],
            "overall stance right, among governments found")
        add("stance_accuracy_all", expected["correct"].fillna(False).astype(bool), expected["article"],
            "overall stance right, a missed government counted wrong")
    return pd.DataFrame(rows, columns=["metric", "value", "low", "high", "n", "note"])


def _per_article(merged: pd.DataFrame, names: Sequence[str], classified: bool) -> pd.DataFrame:
    rows = []
    for name in names:
        part = merged[merged["article"] == name]
        n_expected = int((part["status"] != "extra").sum())
        n_predicted = int((part["status"] != "missed").sum())
        n_found = int((part["status"] == "found").sum())
        row = {"article": name, "expected": n_expected, "extracted": n_predicted, "found": n_found,
               "missed": ", ".join(part.loc[part["status"] == "missed", "actor"]),
               "extra": ", ".join(part.loc[part["status"] == "extra", "actor"])}
        if classified:
            correct = int(part.loc[part["status"] == "found", "correct"].astype(bool).sum())
            row["stance_correct"] = correct
            row["wrong"] = ", ".join(
                f"{a} ({p}≠{e})" for a, p, e, s, c in part[["actor", "predicted", "expected", "status", "correct"]]
                .itertuples(index=False) if s == "found" and not c)
        rows.append(row)
    return pd.DataFrame(rows)
