"""Statement extraction: the sentences that report what a government said or decided, joined into
statements of up to three sentences, classified, and each government's overall stance.

Sentences that look like statements but are not responses (the requester speaking, non-government
voices, background from earlier years, a government asking others) are kept with their reason.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from stance.articles.attribution import (
    NONGOV_RE,
    REPORTING_CUE,
    SPEECH_VERBS,
    TITLE_RE,
    Attributor,
    Speaker,
    mask_quotes,
    quoted_words,
)
from stance.articles.gazetteer import Gazetteer
from stance.articles.requests import Request
from stance.articles.text import YEAR_RE, Sentence


# A cue that asks others to act, and whom: "NATO called on Hungary to ratify" is a request, not a response.
_URGING = re.compile(r"(?:urged|urges|called on|calls on|called for|calls for|pressed|appealed to|appealed for)$")
_ASKED_OF = re.compile(r"\b(?:allies|partners|members|countries|governments|nations|states|capitals)\b")
# What marks a statement as told earlier than the article's present ("last week", "had said").
_EARLIER = re.compile(
    r"\b(?:earlier (?:this|that|in the|on) (?:week|month|day|year|morning)|earlier on|days earlier|a week earlier|"
    r"weeks earlier|last (?:week|month|year|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)|initially|"
    r"at first|previously|had (?:said|told|signalled|signaled|indicated|suggested|announced|insisted|stated|ruled|"
    r"promised|pledged|rejected|declined|agreed|refused|argued|hinted|warned))\b",
    re.IGNORECASE,
)


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
    status: str = "response"  # response, requester, non-government, background, unattributed (later: bloc, target)


def _is_background(sentence: str, year: int | None) -> bool:
    if year is None or quoted_words(sentence) >= 3:
        return False
    years = [int(y) for y in YEAR_RE.findall(sentence)]
    return bool(years) and max(years) < year


def _split_clauses(masked: str) -> list[tuple[int, int]]:
    """Clause spans of a sentence that reports two speakers ("Canada said no, while Australia said ...")."""
    cuts = [m for m in re.finditer(r";\s|,\s+(?:while|whereas|but|and)\s", masked)]
    bounds, start = [], 0
    for cut in cuts:
        bounds.append((start, cut.start()))
        start = cut.start() + 1
    bounds.append((start, len(masked)))
    if len(bounds) > 1 and all(REPORTING_CUE.search(masked[a:b]) for a, b in bounds):
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
    attributor = Attributor(gazetteer, requesters)
    statements: list[Statement] = []
    for sentence in sentences:
        attributor.paragraph = sentence.paragraph
        attributor.learn_people(sentence.text, sentence.people)
        masked = mask_quotes(sentence.text)
        found = _attribute_sentence(attributor, sentence, masked, year, requesters)
        statements.extend(found)
        if not found:
            attributor.context.last_statement_index = None
            attributor.note_subject(masked, sentence.paragraph)
    return statements


def _attribute_sentence(attributor: Attributor, sentence: Sentence, masked: str, year: int | None,
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


def _attribute_clause(attributor: Attributor, text: str, masked: str, sentence: Sentence, year: int | None,
                      requesters: Sequence[str]) -> list[Statement]:
    quoted = quoted_words(text) >= 3
    earlier = bool(_EARLIER.search(masked))
    speaker: Speaker | None = None
    kind = "reported"
    urging = False
    for cue in REPORTING_CUE.finditer(masked):
        speaker = attributor.speaker(text, masked, cue)
        if speaker is not None:
            if speaker.actors:  # "Britain and Italy abstained, as did Japan"
                also = attributor.as_did(masked, cue.end())
                speaker.actors = tuple(dict.fromkeys([*speaker.actors, *also]))
            kind = "quote" if quoted else ("decision" if not re.match(rf"(?:according to|{SPEECH_VERBS})$", cue.group(0))
                                           else "reported")
            # "Stoltenberg called on Hungary to ...": asking another government is a request, not a
            # response (urging one's own Olympic association is a response).
            target = re.split(r"\bto\b|[,.;]", masked[cue.end():], maxsplit=1)[0]
            urging = bool(_URGING.search(cue.group(0))) and not NONGOV_RE.search(target) and bool(
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
        if REPORTING_CUE.search(masked) and (TITLE_RE.search(masked) or quoted):
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
        joined = {**first.to_dict(), "position": last["position"], "sentences": len(part),
                  **{column: " ".join(str(row[column]) for row in part) for column in ("text", "focus")
                     if column in first.index}}
        if "p_answer" in first.index:
            joined["p_answer"] = round(sum(float(row["p_answer"]) for row in part) / len(part), 4)
        statements.append(joined)
        end -= len(part)
    return statements[::-1]


def classify_statements(frame: pd.DataFrame, classifier, mode: str = "text", request: str = "") -> pd.DataFrame:
    """``frame`` with ``label``, ``confidence`` and ``p_<label>`` from a trained classifier.

    In ``request_text`` mode the model reads the article's request phrase with each statement. Where
    ``frame`` has a ``focus`` column (:func:`~stance.articles.focus.focus_texts`: a government's own
    clause of a sentence that answers for several), the model reads that instead of ``text``.
    """
    from stance.io import probability_column
    from stance.models import TextInputs

    out = frame.copy()
    if out.empty:
        out["label"] = pd.Series(dtype=str)
        out["confidence"] = pd.Series(dtype=float)
        return out
    texts = out["focus" if "focus" in out.columns else "text"].astype(str).tolist()
    inputs = TextInputs(texts, [request] * len(texts) if mode == "request_text" else None)
    proba = classifier.predict_proba(inputs)
    out["label"] = [classifier.labels[i] for i in proba.argmax(axis=1)]
    out["confidence"] = proba.max(axis=1).round(4)
    for i, label in enumerate(classifier.labels):
        out[probability_column(label)] = proba[:, i].round(4)
    return out


def _combined(rows: pd.DataFrame) -> pd.Series:
    """Each statement's confidence as an answer with its stance: relevance (``p_answer``, 1 without
    an answer step) times the stance classifier's confidence."""
    relevance = rows["p_answer"].astype(float) if "p_answer" in rows.columns else pd.Series(1.0, index=rows.index)
    return relevance * rows["confidence"].astype(float)


def _aggregate_latest(ordered: pd.DataFrame) -> tuple[str, pd.DataFrame, float]:
    latest = ordered.iloc[[-1]]
    return str(latest["label"].iloc[0]), latest, float(_combined(latest).iloc[0])


def _aggregate_confident(ordered: pd.DataFrame) -> tuple[str, pd.DataFrame, float]:
    combined = _combined(ordered).to_numpy()
    best = len(combined) - 1 - int(combined[::-1].argmax())  # ties go to the later statement
    chosen = ordered.iloc[[best]]
    return str(chosen["label"].iloc[0]), chosen, float(combined[best])


def _aggregate_vote(ordered: pd.DataFrame) -> tuple[str, pd.DataFrame, float]:
    weights = _combined(ordered).groupby(ordered["label"].to_numpy()).sum()
    top = weights[weights == weights.max()].index
    # A tie goes to the label of the latest statement among the tied ones.
    label = next(lab for lab in reversed(ordered["label"].tolist()) if lab in top)
    total = float(weights.sum())
    return str(label), ordered[ordered["label"] == label], float(weights[label] / total) if total else 0.0


#: How a government's answering statements become its overall stance: ``latest`` (the guidelines'
#: rule, the default), ``confident`` (the statement most confidently an answer with its stance),
#: ``vote`` (the label with the most confidence summed over statements).
AGGREGATIONS = {"latest": _aggregate_latest, "confident": _aggregate_confident, "vote": _aggregate_vote}


def overall_stances(statements: pd.DataFrame, aggregate: str = "latest") -> pd.DataFrame:
    """One row per government: its overall stance from its answering statements, with the evidence.

    "Latest" follows the guidelines: the statement the article tells last, except that one the
    article marks as earlier ("last week", "had said", "initially") comes before every statement
    without such a mark. ``aggregate`` picks the rule (:data:`AGGREGATIONS`). ``labels`` lists every
    label in article order; ``evidence`` the statements the stance rests on (`` | ``-joined);
    ``confidence`` combines relevance (``p_answer``) and stance probability; ``relevance`` is the
    mean answer probability of the evidence.
    """
    from stance.errors import StanceError

    if aggregate not in AGGREGATIONS:
        raise StanceError(f"unknown aggregation {aggregate!r}", hint=f"use one of: {', '.join(AGGREGATIONS)}")
    columns = ["article", "actor", "stance", "confidence", "statements", "labels", "evidence", "relevance"]
    if statements.empty:
        return pd.DataFrame(columns=columns)
    has_labels = "label" in statements.columns
    rows = []
    for (article, actor), group in statements.groupby(["article", "actor"], sort=False):
        ordered = group.assign(_late=~group["earlier"].astype(bool)).sort_values(["_late", "position"], kind="stable")
        if has_labels:
            stance, used, confidence = AGGREGATIONS[aggregate](ordered)
        else:
            stance, used, confidence = None, ordered.iloc[[-1]], float("nan")
        relevance = float(used["p_answer"].astype(float).mean()) if "p_answer" in used.columns else 1.0
        rows.append({
            "article": article,
            "actor": actor,
            "stance": stance,
            "confidence": round(confidence, 4) if has_labels else confidence,
            "statements": len(group),
            "labels": " → ".join(ordered["label"]) if has_labels else "",
            "evidence": " | ".join(used["text"].astype(str)),
            "relevance": round(relevance, 4),
        })
    return pd.DataFrame(rows, columns=columns)
