"""The clause of a sentence that concerns one government, when one sentence reports several answers.

Headlines and summary sentences pack several governments' answers into one sentence: "Italy and
Germany vote no; France and Spain abstain, Sweden votes yes". Read whole, that sentence gives every
government it names the same label, whatever each one did. :func:`focus_texts` gives the stance
classifier, for each government, only the clause that names it ("France and Spain abstain"), while
the evidence a reader sees keeps the whole sentence.

A government's text is narrowed only where it is safe to: the sentence splits into clauses
(:func:`clauses`), the government is named in exactly one of them, and another clause names another
government that is not the requester (the requester's words are the context of an answer: "Canada
recalled its envoy, answering Britain's call"). A clause that leans on another ("Italy did the
same", "as did Greece") is never read alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import pandas as pd

from stance.articles.answers import era_actor
from stance.articles.gazetteer import Gazetteer

# Where one clause ends and the next begins: a semicolon, a dash between spaces, or a comma before
# "while", "whereas" or "but".
_CUT = re.compile(r"\s*;\s+|\s+[—–-]{1,2}\s+|,\s+(?=(?:while|whereas|but)\s)")
# Lower-case words that a list of names may hold without being a clause of its own.
_LIST_WORDS = frozenset({"and", "or", "the", "of", "both", "former", "new"})
# A clause that says what it reports only through another clause.
_LEANING = re.compile(r"\b(?:the same|did so|do so|does so|followed suit|likewise|similarly|as did|so did|as had|"
                      r"so had|neither did|nor did)\b", re.IGNORECASE)


def _has_verb_like(piece: str) -> bool:
    """Whether ``piece`` says something: a lower-case word that a list of names would not hold."""
    return any(word not in _LIST_WORDS for word in re.findall(r"\b[a-z][a-z'’]*\b", piece))


def clauses(text: str, starts_with_government: Callable[[int], bool],
            ends_with_government: Callable[[int], bool] = lambda end: False) -> list[tuple[int, int]]:
    """The clause spans of ``text``: cut at semicolons, spaced dashes and ", while/whereas/but", and at
    a comma followed by a government that begins a clause of its own ("France and Spain abstain,
    Sweden votes yes"; not "Spain, Greece and Slovakia back Belgrade", nor "as did Greece, Italy", nor
    the list in "a team flies in as France, Italy and Britain send rescuers").

    ``starts_with_government(i)`` says whether a government's name begins at offset ``i``,
    ``ends_with_government(i)`` whether one ends there.
    """
    cuts = [(m.start(), m.end()) for m in _CUT.finditer(text)]
    for comma in re.finditer(r",\s+", text):
        after = comma.end()
        if not starts_with_government(after) or ends_with_government(comma.start()):
            continue  # not a new subject, or a comma inside a list of governments
        before_start = max([0, *[end for _, end in cuts if end <= comma.start()],
                            *[m.end() for m in re.finditer(r",\s+", text[:comma.start()])]])
        next_stops = [m.start() for m in re.finditer(r",\s+|\s*;\s+", text[after:])]
        after_end = after + (min(next_stops) if next_stops else len(text) - after)
        if _has_verb_like(text[before_start:comma.start()]) and _has_verb_like(text[after:after_end]):
            cuts.append((comma.start(), comma.end()))
    spans, start = [], 0
    for cut_start, cut_end in sorted(cuts):
        if cut_start > start:
            spans.append((start, cut_start))
        start = max(start, cut_end)
    if start < len(text):
        spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip(" ,;.")]


def _named(text: str, gazetteer: Gazetteer, year: int | None) -> list[tuple[int, int, str]]:
    """``(start, end, government)`` for each government ``text`` names (by the era of ``year``)."""
    found = []
    for mention in [*gazetteer.find(text), *gazetteer.find_people(text)]:
        for actor in mention.actors:
            found.append((mention.start, mention.end, era_actor(actor, year)))
    return found


def sentence_focus(text: str, actors: Sequence[str], gazetteer: Gazetteer, year: int | None = None,
                   requesters: Sequence[str] = ()) -> dict[str, str]:
    """For each of ``actors`` (governments whose answer ``text`` may hold), the part of ``text`` its
    stance should be read from: its own clause where another clause names another government (not
    one of the ``requesters``, whose words are context) and the clause stands by itself; else ``text``."""
    whole = {actor: text for actor in actors}
    named = _named(text, gazetteer, year)
    starts, ends = {start for start, _, _ in named}, {end for _, end, _ in named}
    spans = clauses(text, lambda i: i in starts, lambda i: i in ends)
    if len(spans) < 2:
        return whole
    where: dict[str, set[int]] = {}
    for start, _, actor in named:
        for number, (a, b) in enumerate(spans):
            if a <= start < b:
                where.setdefault(actor, set()).add(number)
    out = dict(whole)
    for actor in dict.fromkeys(actors):
        numbers = where.get(actor, set())
        if len(numbers) != 1:
            continue  # not named, or named in several clauses
        a, b = spans[next(iter(numbers))]
        clause = text[a:b].strip(" ,;")
        others_elsewhere = any(other != actor and other not in requesters and not numbers & elsewhere
                               for other, elsewhere in where.items())
        if others_elsewhere and _has_verb_like(clause) and not _LEANING.search(clause):
            out[actor] = clause
    return out


def focus_texts(frame: pd.DataFrame, gazetteer: Gazetteer, years: int | None | dict[str, int | None] = None,
                requesters: Sequence[str] | dict[str, Sequence[str]] = ()) -> pd.Series:
    """The text the stance classifier should read for each row of ``frame`` (columns ``article``,
    ``actor``, ``text``): :func:`sentence_focus` of each sentence, for the rows that share it.

    ``years`` and ``requesters`` are the article's, or mappings from the ``article`` column.
    """
    focus = frame["text"].astype(str).copy()
    if frame.empty:
        return focus
    for (article, _), group in frame.groupby(["article", "text"], sort=False):
        year = years.get(article) if isinstance(years, dict) else years
        asking = requesters.get(article, ()) if isinstance(requesters, dict) else requesters
        chosen = sentence_focus(str(group["text"].iloc[0]), list(group["actor"]), gazetteer, year, asking)
        focus.loc[group.index] = [chosen[actor] for actor in group["actor"]]
    return focus
