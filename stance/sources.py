"""Where a record comes from and how it reads: source fields, their checks, and register measures.

A record is *grounded* (``grounding: source``) when the page at ``source_url`` reports this
government's answer as the statement describes it; ``background`` marks a statement for which no
stored page was found. Quotation marks are allowed only in grounded records, around a fragment of at
most :data:`MAX_QUOTE_WORDS` words that the cited page shows the speaker saying.

The register measures (future or conditional forms, quoted fragments, several sentences, length)
describe how close the corpus reads to reporting written on the day; ``stance data stats`` reports
them per split.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal, get_args

import pandas as pd

Grounding = Literal["source", "background"]
ActorType = Literal["government", "organisation"]
RequestDirection = Literal["act", "refrain"]

#: Fields that say where a statement was reported (all optional columns of a record).
SOURCE_FIELDS: tuple[str, ...] = ("source_url", "source_outlet", "source_published", "speaker", "speaker_role", "grounding")
#: A grounded record must fill these.
GROUNDED_REQUIRED: tuple[str, ...] = ("source_url", "source_outlet", "source_published")
MAX_QUOTE_WORDS = 8

_DOUBLE_QUOTED = re.compile(r'["“]([^"“”]+)["”]')
# A single-quoted span opens after a space, a bracket or the start, and closes before a space or
# punctuation, so that apostrophes (Britain's, don't) are not taken for quotation marks.
_SINGLE_QUOTED = re.compile(r"(?:(?<=^)|(?<=[\s(\[]))['‘]([^'‘’]*?[^\s'‘’])['’](?=[\s.,;:!?)]|$)")
# Backshifted reported speech ("said it would send") is the register the corpus moves away from, so
# a bare "would" does not count; a refusal ("would not") does.
_FUTURE = re.compile(
    r"\b(will|won't|shall|going to|would not|wouldn't|(?:is|are|stands?|remains?) (?:ready|prepared|willing) to)\b|'ll\b",
    re.IGNORECASE,
)
_ABBREVIATIONS = ("Mr", "Mrs", "Ms", "Dr", "St", "Gen", "Lt", "Col", "Capt", "Sen", "Rep", "Gov", "Sgt", "Adm", "Maj",
                  "Prof", "Jan", "Feb", "Aug", "Sept", "Oct", "Nov", "Dec", "No", "vs", "U.S", "U.K", "U.N", "E.U")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’']?\s+(?=[\"“‘']?[A-Z0-9])")


def quoted_fragments(text: str) -> list[str]:
    """The spans of ``text`` inside quotation marks (double or single, straight or curly)."""
    return [m.group(1).strip() for m in _DOUBLE_QUOTED.finditer(text)] + \
        [m.group(1).strip() for m in _SINGLE_QUOTED.finditer(text)]


def sentence_count(text: str) -> int:
    """Sentences in ``text``, split after . ! ? before a capital, not after common abbreviations."""
    count = 1
    for match in _SENTENCE_END.finditer(text.strip()):
        before = text[: match.start()].rstrip("\"”’'")
        word = before.rsplit(None, 1)[-1].rstrip(".!?") if before.split() else ""
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isupper()):
            continue
        count += 1
    return count


def has_future(text: str) -> bool:
    """Whether ``text`` has a future or conditional form: will, won't, shall, would not, is ready to."""
    return _FUTURE.search(text) is not None


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        return pd.Series("", index=frame.index, dtype=object)
    return frame[name].fillna("").astype(str).str.strip()


def grounded_mask(frame: pd.DataFrame) -> pd.Series:
    """Rows whose ``grounding`` is ``source``."""
    return _column(frame, "grounding").str.lower() == "source"


def _episode_start(episode: str) -> str:
    """The request's date at the head of an episode string (``YYYY`` or ``YYYY-MM``), or ''."""
    match = re.match(r"(\d{4})(?:-(\d{2}))?\b", episode)
    if not match:
        return ""
    return match.group(1) + (f"-{match.group(2)}" if match.group(2) else "")


def source_problems(frame: pd.DataFrame) -> pd.DataFrame:
    """Every way a record breaks the source rules, one row per (id, problem); empty when all is well.

    Checked: ``grounding`` is ``source`` or ``background`` where given; a grounded record fills
    :data:`GROUNDED_REQUIRED` with an http(s) URL and an ISO date; a record with quotation marks is
    grounded and quotes at most :data:`MAX_QUOTE_WORDS` words at a time; ``actor_type`` and
    ``request_direction`` take their allowed values; a statement is not dated before its episode's
    request (compared at the precision the episode gives).
    """
    problems: list[tuple[str, str]] = []
    ids = _column(frame, "id")
    grounding = _column(frame, "grounding").str.lower()
    grounded = grounding == "source"
    allowed = {
        "grounding": get_args(Grounding), "actor_type": get_args(ActorType), "request_direction": get_args(RequestDirection),
    }
    for name, values in allowed.items():
        column = _column(frame, name).str.lower()
        bad = (column != "") & ~column.isin(values)
        problems += [(i, f"{name} {v!r} is not one of {', '.join(values)}") for i, v in zip(ids[bad], column[bad], strict=True)]
    for name in GROUNDED_REQUIRED:
        empty = grounded & (_column(frame, name) == "")
        problems += [(i, f"grounded but {name} is empty") for i in ids[empty]]
    url = _column(frame, "source_url")
    bad_url = (url != "") & ~url.str.match(r"https?://[^\s/]+\.[^\s]+$")
    problems += [(i, f"source_url {u!r} is not an http(s) address") for i, u in zip(ids[bad_url], url[bad_url], strict=True)]
    published = _column(frame, "source_published")
    bad_date = (published != "") & ~published.str.match(r"\d{4}(-\d{2}(-\d{2})?)?$")
    problems += [(i, f"source_published {d!r} is not YYYY[-MM[-DD]]") for i, d in zip(ids[bad_date], published[bad_date], strict=True)]
    for i, text, is_grounded in zip(ids, _column(frame, "text"), grounded, strict=True):
        fragments = quoted_fragments(text)
        if fragments and not is_grounded:
            problems.append((i, "quotation marks without a grounded source"))
        long = [f for f in fragments if len(f.split()) > MAX_QUOTE_WORDS]
        if long:
            problems.append((i, f"quotes {len(long[0].split())} words (at most {MAX_QUOTE_WORDS})"))
    if "episode" in frame.columns and "date" in frame.columns:
        for i, episode, date in zip(ids, _column(frame, "episode"), _column(frame, "date"), strict=True):
            start = _episode_start(episode)
            precision = min(len(start), len(date))
            if start and date and date[:precision] < start[:precision]:
                problems.append((i, f"dated {date}, before its episode's request ({start})"))
    return pd.DataFrame(problems, columns=["id", "problem"])


def register_table(frame: pd.DataFrame, groups: pd.Series | None = None, order: Sequence[str] = ()) -> pd.DataFrame:
    """Register and grounding figures per group (e.g. per split) and over all rows.

    Columns: statements, grounded (count and share), episodes with a grounded statement, shares
    with a future or conditional form, with a quoted fragment, with two or more sentences, and
    the median and maximum length in words.
    """
    text = _column(frame, "text")
    measures = pd.DataFrame({
        "grounded": grounded_mask(frame),
        "future": text.map(has_future),
        "quoted": text.map(lambda t: bool(quoted_fragments(t))),
        "multi": text.map(sentence_count) >= 2,
        "words": text.str.split().str.len(),
        "episode": _column(frame, "episode"),
    })
    keys = groups.reindex(frame.index).fillna("(none)").astype(str) if groups is not None else None
    rows = []
    names = [*order, *sorted(set(keys) - set(order))] if keys is not None else []
    for name in [*[n for n in names if keys is not None and (keys == n).any()], "all"]:
        part = measures if name == "all" else measures[keys == name]
        rows.append({
            "split": name,
            "statements": len(part),
            "grounded": int(part["grounded"].sum()),
            "grounded share": round(float(part["grounded"].mean()), 3),
            "episodes grounded": int(part.loc[part["grounded"], "episode"].nunique()),
            "future/conditional": round(float(part["future"].mean()), 3),
            "quoted fragment": round(float(part["quoted"].mean()), 3),
            "2+ sentences": round(float(part["multi"].mean()), 3),
            "median words": round(float(part["words"].median()), 1),
            "max words": int(part["words"].max()),
        })
    return pd.DataFrame(rows)


def government_mask(frame: pd.DataFrame) -> pd.Series:
    """Rows answered by a government (``actor_type`` empty or ``government``), not a bloc."""
    return _column(frame, "actor_type").str.lower() != "organisation"
