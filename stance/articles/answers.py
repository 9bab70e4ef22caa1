"""The answer step: which attributed sentences are a government's answer to the article's request.

Every sentence the extraction attributes to a government is a *candidate*: one row per
(sentence, government), with the rules' verdict (``status``) and how the speaker was found kept
as context. A trained run with the labels ``answer`` / ``not_answer`` (``configs/answers.yaml``,
trained on ``data/answers/sentences.jsonl.gz``) reads each candidate's text and context and gives
``p_answer``; without a run the rules decide (a ``response`` is an answer). Only answers go on
to the stance classifier.

The gold is ``answers.csv`` beside an article folder's ``expected.csv``: one row per sentence
that is a government's answer (``article, actor, label, quote``), ``quote`` a verbatim piece of
the sentence of at least five words, unique in the article. Every other candidate is not an answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from stance.articles.attribution import quoted_words
from stance.articles.text import YEAR_RE
from stance.errors import DataError

#: The answer step's label set, in report order.
ANSWER_LABELS: tuple[str, ...] = ("answer", "not_answer")
#: A candidate is an answer when its answer probability reaches this.
ANSWER_THRESHOLD = 0.5
#: Words a gold quote needs at least, so that it names one sentence.
MIN_QUOTE_WORDS = 5
#: Columns of a candidate table beyond the extraction's own.
CANDIDATE_COLUMNS = ("answer_text", "context", "requester", "request")


#: Governments that an article written in those years means by a later name: "Germany" in a 1973
#: article is West Germany.
#: "Bonn" in a 1995 article is the capital of reunified Germany.
#: "Moscow" or "Russia" in a 1983 article is the Soviet Union.
ERA_NAMES: dict[str, tuple[str, int, int]] = {"Germany": ("West Germany", 1949, 1990),
                                              "West Germany": ("Germany", 1990, 9999),
                                              "Russia": ("Soviet Union", 1922, 1992)}


def era_actor(actor: str, year: int | None) -> str:
    """The government an article of ``year`` means by ``actor`` (:data:`ERA_NAMES`)."""
    era = ERA_NAMES.get(actor)
    if era is None or year is None or not era[1] <= year < era[2]:
        return actor
    return era[0]


def mention_rows(sentences: Sequence, gazetteer, found: pd.DataFrame, article: str = "") -> pd.DataFrame:
    """Governments a sentence names as its subject without a reporting cue the rules know
    ("Spain gave a similar answer.", "France, which has ..., gave the clearest refusal."): one
    ``statements_frame`` row each, ``status`` ``mention``, for the answer step to judge.

    ``kind`` says where the government (or the list it is in: :func:`list_starts`) stands:
    ``opening`` the sentence, ``inside`` it, or ``object`` after a preposition or a verb of asking.
    A government alone after one ("troops to Afghanistan") is left out as a place or target; a list
    there is kept ("with Spain, Italy and Greece sending ships" names three contributors). A
    sentence already attributed to that government is not repeated.
    """
    from stance.articles.attribution import _PREPOSITION_BEFORE, mask_quotes
    from stance.articles.extraction import _EARLIER

    taken = set(zip(found["position"], found["actor"], strict=True)) if len(found) else set()
    rows = []
    for sentence in sentences:
        masked = mask_quotes(sentence.text)
        mentions = gazetteer.find(masked)
        starts = list_starts(masked, mentions)
        for mention, start in zip(mentions, starts, strict=True):
            # A list member stands where its list stands: "Germany, France and Italy are among the
            # contributors" opens the sentence for all three. A government alone after a preposition
            # is a place or a target ("troops to Afghanistan"); a list after one ("with Spain, Italy
            # and Greece sending ships") is kept, as objects, for the answer step to judge.
            object_ = bool(_PREPOSITION_BEFORE.search(masked[:start]))
            if object_ and starts.count(start) < 2:
                continue
            opening = start <= 4 or bool(re.fullmatch(r"(?:[A-Z][\w'’.-]*\s+){0,3}", masked[:start]))
            for actor in mention.actors[:1]:
                if (sentence.index, actor) in taken:
                    continue
                taken.add((sentence.index, actor))
                rows.append({"article": article, "actor": actor, "position": sentence.index,
                             "paragraph": sentence.paragraph,
                             "kind": "object" if object_ else "opening" if opening else "inside",
                             "speaker": mention.text, "how": "mention", "earlier": bool(_EARLIER.search(masked)),
                             "status": "mention", "text": sentence.text})
    return pd.DataFrame(rows, columns=list(found.columns))


#: What joins the members of a list of governments: "Britain, France and the Netherlands".
_LIST_JOINER = re.compile(r"\s*(?:,\s*(?:(?:and|or)\s+)?|\s(?:and|or)\s+)(?:the\s+)?")


def list_starts(text: str, mentions: Sequence) -> list[int]:
    """For each of ``mentions`` (in ``text``, left to right), where the list of governments it belongs
    to starts: its own start unless only commas and "and"/"or" separate it from the one before."""
    starts: list[int] = []
    for i, mention in enumerate(mentions):
        joined = i > 0 and bool(_LIST_JOINER.fullmatch(text[mentions[i - 1].end:mention.start]))
        starts.append(starts[-1] if joined else mention.start)
    return starts


def _token(value: object) -> str:
    return re.sub(r"\W+", "_", str(value).strip().lower()).strip("_") or "none"


def answer_context(status: str, how: str, kind: str, earlier: bool, *, is_requester: bool, paragraph: int,
                   n_paragraphs: int, earlier_statements: int, shared: bool, past_year: bool,
                   quoted: bool, actor_statements: int = 1, actor_kind: str = "country",
                   government: tuple[str, ...] = ()) -> str:
    """The context of one candidate as words a text model can read (``ctx_status_response ...``).

    What the sentence alone does not say: the rules' verdict, how the speaker was found, where
    the sentence stands in the article, whether the government has spoken before and how often
    the rules heard it (a government named in passing speaks once), whether the sentence names
    several governments or only earlier years, and what kind of actor it is (a country, an alliance).
    ``government`` adds words about the government across the article (:func:`government_context`).
    """
    if paragraph == 0:
        where = "lede"
    elif paragraph >= max(n_paragraphs - 2, 3):
        where = "end"
    elif paragraph <= 2:
        where = "top"
    else:
        where = "middle"
    words = [
        f"status_{_token(status)}", f"how_{_token(how)}", f"kind_{_token(kind)}",
        "earlier" if earlier else "present", "requester" if is_requester else "other", f"where_{where}",
        "first_statement" if earlier_statements == 0 else "again", "shared" if shared else "single",
        "past_year" if past_year else "no_past_year", "quoted" if quoted else "unquoted",
        f"statements_{min(actor_statements, 3)}", f"actor_{_token(actor_kind)}", *government,
    ]
    return " ".join(f"ctx_{w}" for w in words)


def answer_candidates(found: pd.DataFrame, requesters: Sequence[str] = (), request: str = "",
                      year: int | None = None, n_paragraphs: int | None = None,
                      actor_kinds: dict[str, str] | None = None, *, gazetteer=None, title: str = "",
                      request_sentence: str = "", profile: dict[str, tuple[int, int, int]] | None = None) -> pd.DataFrame:
    """Every attributed sentence of one article's ``statements_frame``, one row per government.

    Adds ``answer_text`` (what the answer model reads), ``context`` (:func:`answer_context`),
    ``requester`` and ``request``. With the ``gazetteer``, ``answer_text`` is the sentence with the
    row's government written ``thegov`` and every other country ``othergov`` (:func:`mark_government`:
    the model learns "thegov abstained" and "sponsored by thegov" for any government, not which
    countries tend to answer), and the context says whether the government is named in the
    headline (``title``) and in the request's sentence, and in how many sentences
    (:func:`government_context`) and, with ``profile`` (:func:`mention_profile`), how it is named
    across the article (:func:`profile_words`); without it, the sentence, with the government in brackets when
    the sentence names several, so that each row has its own text (as with the gazetteer when the
    sentence reads the same for several governments).
    """
    rows = found[found["actor"].astype(str) != ""].reset_index(drop=True).copy()
    if rows.empty:
        for column in CANDIDATE_COLUMNS:
            rows[column] = pd.Series(dtype=str)
        return rows
    n_paragraphs = n_paragraphs if n_paragraphs is not None else int(found["paragraph"].max()) + 1
    shared = rows.groupby("position")["actor"].transform("nunique") > 1
    before = rows.groupby("actor").cumcount()
    heard = rows.assign(_heard=rows["status"] == "response").groupby("actor")["_heard"].transform("sum")
    actor_kinds = actor_kinds or {}
    if gazetteer is not None:
        rows["answer_text"] = [mark_government(str(t), a, gazetteer, year)
                               for t, a in zip(rows["text"], rows["actor"], strict=True)]
        near = [near_words(t) for t in rows["answer_text"]]
        # A sentence that reads the same for several governments (a list, or "he said" after two
        # speakers) keeps its rows apart by a number a word-level model does not read, not by the
        # government's name, so that no country's name becomes evidence.
        alike = rows.duplicated(["position", "answer_text"], keep=False)
        number = rows[alike].groupby(["position", "answer_text"]).cumcount() + 1
        rows.loc[alike, "answer_text"] = rows.loc[alike, "answer_text"] + " (" + number.astype(str) + ")"
        named = {"headline": _named(title, gazetteer, year), "request": _named(request_sentence, gazetteer, year)}
        sentences = rows.groupby("actor")["position"].transform("nunique")
        government = [(*government_context(a, named, int(n)), *(profile_words(profile.get(a)) if profile else ()), *w)
                      for a, n, w in zip(rows["actor"], sentences, near, strict=True)]
    else:
        rows["answer_text"] = [f"{t} ({a})" if s else str(t)
                               for t, a, s in zip(rows["text"], rows["actor"], shared, strict=True)]
        government = [()] * len(rows)
    rows["context"] = [
        answer_context(r.status, r.how, r.kind, bool(r.earlier), is_requester=r.actor in requesters,
                       paragraph=int(r.paragraph), n_paragraphs=n_paragraphs, earlier_statements=int(b),
                       shared=bool(s), past_year=_past_year(str(r.text), year),
                       quoted=quoted_words(str(r.text)) >= 3, actor_statements=int(h),
                       actor_kind=actor_kinds.get(r.actor, "country"), government=g)
        for r, b, s, h, g in zip(rows.itertuples(index=False), before, shared, heard, government, strict=True)
    ]
    rows["requester"] = " and ".join(requesters)
    rows["request"] = request
    return rows


#: What :func:`mark_government` writes for the row's government and for any other country.
THIS_GOVERNMENT, OTHER_GOVERNMENT = "thegov", "othergov"


def mark_government(text: str, actor: str, gazetteer, year: int | None = None) -> str:
    """``text`` with every name of ``actor`` (by the era of ``year``) written :data:`THIS_GOVERNMENT`
    and every other country's :data:`OTHER_GOVERNMENT`; blocs and organisations keep their names."""
    out, last = [], 0
    for mention in gazetteer.find(text):
        government = era_actor(mention.actors[0], year)
        if government == actor:
            word = THIS_GOVERNMENT
        elif gazetteer.kinds.get(government, "country") == "country":
            word = OTHER_GOVERNMENT
        else:
            continue
        out.extend([text[last:mention.start], word])
        last = mention.end
    marked = "".join([*out, text[last:]])
    # A list of governments reads as one: "othergov, thegov and othergov abstained" is "thegov
    # abstained" for each of them, so that the verb after a list reaches every member.
    return _GOVERNMENT_LIST.sub(lambda m: THIS_GOVERNMENT if THIS_GOVERNMENT in m.group(0) else OTHER_GOVERNMENT,
                                marked)


_GOVERNMENT_LIST = re.compile(rf"\b(?:(?:the\s+)?(?:{THIS_GOVERNMENT}|{OTHER_GOVERNMENT}),?\s+(?:(?:and|or)\s+)?)+"
                              rf"(?:the\s+)?(?:{THIS_GOVERNMENT}|{OTHER_GOVERNMENT})\b(?![’'])")
_WORD = re.compile(r"[a-z][a-z'’-]+")
#: Words either side of the government's name that :func:`near_words` gives the model.
NEAR_WINDOW = 2


def near_words(marked: str, window: int = NEAR_WINDOW) -> tuple[str, ...]:
    """The words within ``window`` words of :data:`THIS_GOVERNMENT` in a :func:`mark_government`
    text, as ``near_<word>`` (``near_abstained``, ``near_replied``, ``near_host``): what the
    sentence says next to this government's name rather than anywhere in it, which tells apart
    the governments of one sentence ("thegov abstained while othergov had not replied")."""
    tokens = _WORD.findall(marked.lower())
    near: dict[str, None] = {}
    for i, token in enumerate(tokens):
        if token == THIS_GOVERNMENT:
            for other in tokens[max(i - window, 0):i + window + 1]:
                if other not in (THIS_GOVERNMENT, "the", "and") and len(other) > 2:
                    near[f"near_{_token(other)}"] = None
    return tuple(near)


def mention_profile(sentences: Sequence, gazetteer, year: int | None = None) -> dict[str, tuple[int, int, int]]:
    """Per government (by the era of ``year``), over every sentence of the article: how often it is
    named, how often as an object (after a preposition or a verb of asking, itself or the list it is
    in: "troops in Mali", "urged Japan and Italy") and how often in a list of three governments or
    more. A government mostly named as an object is the place or target of the request more often
    than an answerer."""
    from stance.articles.attribution import _PREPOSITION_BEFORE

    profile: dict[str, list[int]] = {}
    for sentence in sentences:
        text = str(getattr(sentence, "text", sentence))
        found = gazetteer.find(text)
        mentions = [(m, era_actor(m.actors[0], year), start)
                    for m, start in zip(found, list_starts(text, found), strict=True)]
        listed = len({a for _, a, _ in mentions if gazetteer.kinds.get(a, "country") == "country"}) >= 3
        for _, actor, start in mentions:
            counts = profile.setdefault(actor, [0, 0, 0])
            counts[0] += 1
            counts[1] += bool(_PREPOSITION_BEFORE.search(text[:start]))
            counts[2] += listed
    return {actor: (n, obj, lst) for actor, (n, obj, lst) in profile.items()}


def profile_words(profile: tuple[int, int, int] | None) -> tuple[str, ...]:
    """:func:`mention_profile`'s counts of one government as context words."""
    n, obj, listed = profile or (0, 0, 0)

    def share(k: int) -> str:
        return "none" if k == 0 else "most" if 2 * k >= n else "some"

    return (f"gov_mentions_{min(n, 5)}", f"gov_object_{share(obj)}", f"gov_listed_{share(listed)}")


def _named(text: str, gazetteer, year: int | None) -> set[str]:
    return {era_actor(m.actors[0], year) for m in gazetteer.find(text)} if text else set()


def government_context(actor: str, named: dict[str, set[str]], sentences: int) -> tuple[str, ...]:
    """Words about ``actor`` across the article: where it is named (``named``: place -> governments,
    e.g. the headline and the request's sentence) and in how many sentences the rules saw it
    (one: a government named in passing)."""
    return (*(f"gov_{'in' if actor in names else 'not_in'}_{place}" for place, names in named.items()),
            f"gov_sentences_{min(sentences, 4)}")


def _past_year(text: str, year: int | None) -> bool:
    return year is not None and any(int(y) < year for y in YEAR_RE.findall(text))


#: Statuses that are never an answer, whatever the answer model says: a bloc or organisation
#: speaking as such (the gold conventions give blocs no rows), and the government the request is
#: aimed at (Argentina when allies are asked to stop buying Argentine goods).
NEVER_ANSWERS = ("bloc", "target")


def set_aside_non_answerers(found: pd.DataFrame, actor_kinds: dict[str, str], targets: Sequence[str] = (),
                            requesters: Sequence[str] = ()) -> pd.DataFrame:
    """``found`` with the status ``bloc`` for actors that are not countries (the EU, NATO, the U.N.)
    and ``target`` for the request's targets, on rows the rules took as responses or mentions;
    a requester stays a requester."""
    out = found.copy()
    if out.empty:
        return out
    open_rows = out["status"].isin(["response", "mention"]) & ~out["actor"].isin(list(requesters))
    bloc = out["actor"].map(lambda a: bool(a) and actor_kinds.get(a, "country") != "country")
    # A bloc or organisation is never a government, even when it is the requester (the U.N.).
    out.loc[(open_rows | (out["status"] == "requester")) & bloc, "status"] = "bloc"
    out.loc[open_rows & ~bloc & out["actor"].isin(list(targets)), "status"] = "target"
    # The requester by another name (the era's: "Moscow" in 1984 asking is the Soviet Union's request).
    asking = (out["status"] == "response") & ~bloc & out["actor"].isin(list(requesters))
    out.loc[asking, "status"] = "requester"
    return out


def rule_answers(candidates: pd.DataFrame) -> pd.DataFrame:
    """``candidates`` with the rules' verdict as the answer: a ``response`` is an answer (``p_answer`` 1)."""
    out = candidates.copy()
    out["p_answer"] = (out["status"] == "response").astype(float)
    out["answer"] = out["p_answer"] >= ANSWER_THRESHOLD
    return out


def predict_answers(candidates: pd.DataFrame, classifier, mode: str = "context_text",
                    threshold: float = ANSWER_THRESHOLD) -> pd.DataFrame:
    """``candidates`` with ``p_answer`` from a trained answer run and ``answer`` (``p_answer >= threshold``)."""
    from stance.errors import ModelError
    from stance.models import TextInputs

    if "answer" not in classifier.labels:
        raise ModelError(f"the answer run's labels are {', '.join(classifier.labels)}, not answer/not_answer",
                         hint="give --answers a run of configs/answers.yaml")
    out = candidates.copy()
    if out.empty:
        out["p_answer"] = pd.Series(dtype=float)
        out["answer"] = pd.Series(dtype=bool)
        return out
    frame = out[["answer_text", "context", "request"]].rename(columns={"answer_text": "text"})
    proba = classifier.predict_proba(TextInputs.from_frame(frame, mode))
    out["p_answer"] = proba[:, list(classifier.labels).index("answer")].round(4)
    # The requester never answers its own request, however much of the article quotes it.
    out["answer"] = (out["p_answer"] >= threshold) & ~out["status"].isin([*NEVER_ANSWERS, "requester"])
    return out


# Gold answers and scoring


def load_gold_answers(path: str | Path) -> pd.DataFrame:
    """The gold answers table (``article, actor, label, quote``), checked: quotes of five words or more."""
    from stance.data import read_table

    frame = read_table(path)
    missing = {"article", "actor", "label", "quote"} - set(frame.columns)
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(sorted(missing))}",
                        hint="columns: article, actor, label, quote")
    frame = frame[["article", "actor", "label", "quote", "_line"]].copy()
    for column in ("article", "actor", "label", "quote"):
        frame[column] = frame[column].astype(str).str.strip()
    short = frame["quote"].str.split().str.len() < MIN_QUOTE_WORDS
    if short.any():
        line = int(frame.loc[short, "_line"].iloc[0])
        raise DataError(f"{path}:{line}: quote shorter than {MIN_QUOTE_WORDS} words",
                        hint="quote enough of the sentence to name it")
    return frame.drop(columns="_line").reset_index(drop=True)


def _normal(text: str) -> str:
    return " ".join(str(text).split())


def gold_labels(candidates: pd.DataFrame, gold: pd.DataFrame) -> list[str]:
    """``answer`` for each candidate whose sentence holds a gold quote of the same article and
    government, else ``not_answer``."""
    quotes: dict[tuple[str, str], list[str]] = {}
    for article, actor, quote in gold[["article", "actor", "quote"]].itertuples(index=False):
        quotes.setdefault((article, actor), []).append(_normal(quote))
    return ["answer" if any(q in _normal(text) for q in quotes.get((article, actor), ())) else "not_answer"
            for article, actor, text in candidates[["article", "actor", "text"]].itertuples(index=False)]


def answer_counts(predicted: pd.DataFrame, gold: pd.DataFrame, articles: Sequence[str]) -> pd.DataFrame:
    """Per article: answers predicted, those that hold a gold quote, gold answers, those found.

    ``predicted`` holds one row per (article, actor, sentence) the analysis took as an answer.
    A predicted answer is right when its sentence holds a gold quote of the same government; a
    gold answer is found when some predicted answer of its government holds its quote. Sentences
    shorter than a gold quote may be (``MIN_QUOTE_WORDS``) are left out.
    """
    rows = []
    # A sentence of fewer than MIN_QUOTE_WORDS words cannot hold a gold quote: it is not scored.
    predicted = predicted[predicted["text"].astype(str).str.split().str.len() >= MIN_QUOTE_WORDS]
    for name in articles:
        pred = predicted[predicted["article"] == name]
        wanted = gold[gold["article"] == name]
        by_actor: dict[str, list[str]] = {}
        for actor, text in pred[["actor", "text"]].itertuples(index=False):
            by_actor.setdefault(actor, []).append(_normal(text))
        right = sum(label == "answer" for label in gold_labels(pred, wanted)) if len(pred) else 0
        found = sum(any(_normal(q) in t for t in by_actor.get(a, ()))
                    for a, q in wanted[["actor", "quote"]].itertuples(index=False))
        rows.append({"article": name, "predicted": len(pred), "correct": right, "gold": len(wanted), "found": found})
    return pd.DataFrame(rows, columns=["article", "predicted", "correct", "gold", "found"])


def answer_f1(counts: pd.DataFrame) -> tuple[float, float, float]:
    """Precision, recall and F1 of the answers from :func:`answer_counts` (summed over articles)."""
    predicted, correct = counts["predicted"].sum(), counts["correct"].sum()
    gold, found = counts["gold"].sum(), counts["found"].sum()
    precision = correct / predicted if predicted else 0.0
    recall = found / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(precision), float(recall), float(f1)


def answer_f1_interval(counts: pd.DataFrame, n_resamples: int = 1000, confidence: float = 0.95,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the answer F1, resampling whole articles."""
    if counts.empty or n_resamples <= 0:
        return float("nan"), float("nan")
    values = counts[["predicted", "correct", "gold", "found"]].to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(values), size=(n_resamples, len(values)))
    sums = values[picks].sum(axis=1)
    precision = np.divide(sums[:, 1], sums[:, 0], out=np.zeros(n_resamples), where=sums[:, 0] > 0)
    recall = np.divide(sums[:, 3], sums[:, 2], out=np.zeros(n_resamples), where=sums[:, 2] > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros(n_resamples), where=total > 0)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(f1, [alpha, 1 - alpha])
    return float(low), float(high)
