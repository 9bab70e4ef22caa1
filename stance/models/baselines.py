"""Baselines behind the same interface as the transformer, so every run is compared like for like.

``majority``
    Always the training majority; probabilities are the training class frequencies. The floor
    any model must beat. With ``group_by: request`` (input mode ``request_text``), the majority of
    each request's training statements (a benchmark's per-target majority); an unseen request gets
    the global one.
``keyword``
    A transparent lexicon of cue phrases (rules below). Shows how far surface wording goes.
``tfidf_logreg``, ``embedding_logreg``
    Logistic regressions on TF-IDF n-grams and on frozen sentence embeddings, in
    :mod:`stance.models.logreg`.

Keyword rules
-------------
The rules read the statement only, never the request, whose wording ("asked to send ...") would
trigger cues of its own. Cue phrases (:data:`DEFAULT_LEXICON`) are matched case-insensitively
at the start of a word and may run on into an inflection ("reject" matches "rejected").

====================  ==============================================  ==========================
rule                  what it does                                    why
====================  ==============================================  ==========================
decline cues          will not, rule out, no plans to, reject,        refusals come in a small
                      withdraw, not at this time, instead             set of set phrases
consider cues         considering, under review, studying, consult,   the codebook's "no
                      no decision, if the, will look at               decision either way"
comply cues           will send, agreed, approved, deploy,            commitments name the act
                      will contribute, announced, pledged             of giving
longest cue wins      overlapping cues: only the longest counts, so   a phrase outranks the
                      "will not rule out" is consider, not decline    words inside it
negation              a comply or consider cue at most two words      "will not deploy" and
                      after not / no / never / cannot / n't counts    "not considering" are
                      for decline                                     refusals
most cues decide      the class with the most cue matches wins        simple and inspectable
ties                  consider, then decline, then comply (then any   equal yes and no cues are
                      other label, in label order)                    a hedge (codebook: leaning
                                                                      but open is consider);
                                                                      "not X but Y" is decline
no cue                the training majority (on ties and before       without evidence the prior
                      fit: the first in the tie order)                is the best guess
====================  ==============================================  ==========================

Probabilities are smoothed cue counts, ``counts + smoothing``, with one more ``smoothing`` for
the decided class so that the most probable class is always the rule's decision, then
normalised. The lexicon is saved with the model, so a run folder shows exactly what was used.

Saved models contain no pickle: JSON for settings and lexicons.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat

from stance.errors import ModelError
from stance.io import write_json
from stance.models.base import Classifier, TextInputs, read_card, register_model

#: Cue phrases per class, in the order they are documented. See the module docstring.
DEFAULT_LEXICON: dict[str, list[str]] = {
    "decline": [
        "will not", "won't", "would not", "cannot", "can't", "no plans to", "no intention",
        "not intend", "not planning", "rule out", "ruled out", "rules out", "reject", "decline",
        "declining", "refuse", "refusing", "refusal", "withdraw", "withdrew", "pull out",
        "pulling out", "stay out", "staying out", "not take part", "not participate", "not join",
        "not at this time", "no new commitment", "already doing", "instead",
    ],
    "consider": [
        "consider", "review", "under review", "study", "studied", "studying", "examining",
        "assess", "evaluating", "consult", "discuss", "weighing", "no decision",
        "not yet decided", "not decided", "undecided", "if the", "provided that", "depends on",
        "will look at", "looking at", "options", "in due course", "not rule out",
        "not ruling out", "not excluded", "open to",
    ],
    "comply": [
        "will send", "sending", "agreed", "approved", "authorised", "authorized", "deploy",
        "will contribute", "contributes", "contributed", "announced", "pledge", "dispatch",
        "will provide", "will supply", "will join", "joined", "will extend", "extended",
        "accepted",
    ],
}

#: Tie-breaking order of the keyword rules (labels not listed follow in label order).
TIE_ORDER: tuple[str, ...] = ("consider", "decline", "comply")

#: The class negated cues count for.
NEGATED_CLASS = "decline"

# "not", "no", "never", "cannot" or "n't" followed by at most two more words, right before a cue.
_NEGATION_BEFORE = re.compile(r"(?:\b(?:not|no|never|cannot)|n't)\W+(?:\w+\W+){0,2}$", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# Majority class


class MajorityClass(Classifier):
    """Predicts the most frequent training label; probabilities are the training frequencies.

    With ``group_by="request"``, the frequencies of each request's training statements.
    """

    kind = "majority"

    def __init__(self, labels: Sequence[str], group_by: str | None = None) -> None:
        super().__init__(labels)
        self.frequencies = np.full(len(self.labels), 1.0 / len(self.labels))
        self.group_by = group_by
        self.group_frequencies: dict[str, np.ndarray] = {}

    def _groups(self, x: TextInputs) -> list[str]:
        if x.requests is None:
            raise ModelError("the majority baseline with group_by: request needs the requests",
                             hint="set input.mode: request_text")
        return list(x.requests)

    def fit(self, train_x, train_y, dev_x=None, dev_y=None, *, seed: int = 0) -> list[dict[str, Any]]:
        counts = label_counts(train_y, self.labels)
        self.frequencies = counts / counts.sum()
        if self.group_by:
            groups = self._groups(train_x)
            self.group_frequencies = {}
            for group in dict.fromkeys(groups):
                counts = label_counts([y for g, y in zip(groups, train_y, strict=True) if g == group], self.labels)
                self.group_frequencies[group] = counts / counts.sum()
        return []

    def predict_proba(self, x: TextInputs) -> np.ndarray:
        if not self.group_by:
            return np.tile(self.frequencies, (len(x), 1))
        return np.array([self.group_frequencies.get(g, self.frequencies) for g in self._groups(x)]).reshape(
            len(x), len(self.labels))

    def save(self, path: Path) -> None:
        extra = {"group_by": self.group_by,
                 "group_frequencies": {g: f.tolist() for g, f in self.group_frequencies.items()}} if self.group_by else {}
        self.write_card(Path(path), frequencies=self.frequencies.tolist(), **extra)

    @classmethod
    def load(cls, path: Path) -> MajorityClass:
        card = read_own_card(cls, path)
        model = cls(card["labels"], card.get("group_by"))
        model.frequencies = np.array(card["frequencies"], dtype=float)
        model.group_frequencies = {g: np.array(f, dtype=float) for g, f in card.get("group_frequencies", {}).items()}
        return model


# ---------------------------------------------------------------------------------------------
# Keyword rules


class KeywordRules(Classifier):
    """The cue-phrase rules of the module docstring; ``fit`` only records the fallback label."""

    kind = "keyword"

    def __init__(
        self,
        labels: Sequence[str],
        *,
        lexicon: Mapping[str, Sequence[str]] | None = None,
        smoothing: float = 1.0,
        fallback: str | None = None,
    ) -> None:
        super().__init__(labels)
        self.lexicon = {label: list(cues) for label, cues in (lexicon or DEFAULT_LEXICON).items()}
        unknown = sorted(set(self.lexicon) - set(self.labels))
        if unknown:
            raise ModelError(
                f"the keyword lexicon has cues for {unknown}, which are not in the labels "
                f"{self.labels}",
                hint="set model.params.lexicon to cues for your label set",
            )
        if smoothing <= 0:
            raise ModelError("keyword smoothing must be positive: it breaks ties in proba")
        self.smoothing = smoothing
        self.tie_order = [label for label in TIE_ORDER if label in self.labels] + [
            label for label in self.labels if label not in TIE_ORDER
        ]
        self.fallback = fallback or self.tie_order[0]
        if self.fallback not in self.labels:
            raise ModelError(f"keyword fallback {self.fallback!r} is not one of the labels {self.labels}")
        cue_class = {cue.lower(): label for label, cues in self.lexicon.items() for cue in cues}
        if len(cue_class) < sum(len(cues) for cues in self.lexicon.values()):
            raise ModelError("a keyword cue is listed twice (possibly under two labels)",
                             hint="give each cue phrase once, under one label")
        self._cues = [(re.compile(r"\b" + re.escape(cue), re.IGNORECASE), label)
                      for cue, label in cue_class.items()]

    def fit(self, train_x, train_y, dev_x=None, dev_y=None, *, seed: int = 0) -> list[dict[str, Any]]:
        counts = dict(zip(self.labels, label_counts(train_y, self.labels), strict=True))
        self.fallback = max(self.tie_order, key=counts.get)  # max keeps the first of ties
        return []

    def matches(self, text: str) -> list[tuple[str, str]]:
        """The cues that count in ``text``, as ``(matched text, class)`` in text order.

        Longest cue first, overlapping shorter ones dropped; a negated non-decline cue counts for
        decline.
        """
        found = [(m.start(), m.end(), label) for pattern, label in self._cues for m in pattern.finditer(text)]
        kept: list[tuple[int, int, str]] = []
        for start, end, label in sorted(found, key=lambda f: (f[0] - f[1], f[0])):
            if all(end <= s or start >= e for s, e, _ in kept):
                kept.append((start, end, label))
        counted = []
        for start, end, label in sorted(kept):
            negated = label != NEGATED_CLASS and _NEGATION_BEFORE.search(text[:start]) is not None
            counted.append((text[start:end], NEGATED_CLASS if negated and NEGATED_CLASS in self.labels else label))
        return counted

    def decide(self, text: str) -> tuple[str, np.ndarray]:
        """The rule's label for ``text`` and its cue counts per label (in ``labels`` order)."""
        found = Counter(label for _, label in self.matches(text))
        counts = np.array([found[label] for label in self.labels], dtype=float)
        if not found:
            return self.fallback, counts
        best = max(found.values())
        return next(label for label in self.tie_order if found[label] == best), counts

    def predict_proba(self, x: TextInputs) -> np.ndarray:
        rows = []
        for text in x.texts:
            label, counts = self.decide(text)
            scores = counts + self.smoothing
            scores[self.labels.index(label)] += self.smoothing
            rows.append(scores / scores.sum())
        return np.array(rows).reshape(len(x), len(self.labels))

    def save(self, path: Path) -> None:
        path = Path(path)
        self.write_card(path, smoothing=self.smoothing, fallback=self.fallback,
                        tie_order=self.tie_order, lexicon_file="lexicon.json")
        write_json(path / "lexicon.json", self.lexicon)

    @classmethod
    def load(cls, path: Path) -> KeywordRules:
        card = read_own_card(cls, path)
        lexicon = json.loads((Path(path) / "lexicon.json").read_text(encoding="utf-8"))
        return cls(card["labels"], lexicon=lexicon, smoothing=card["smoothing"],
                   fallback=card["fallback"])


# ---------------------------------------------------------------------------------------------
# Small shared pieces


def label_counts(y: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Count of each label in ``y``, in ``labels`` order; a label outside the set is an error."""
    counts = Counter(y)
    unknown = sorted(set(counts) - set(labels))
    if unknown:
        raise ModelError(f"training labels {unknown} are not in the label set {list(labels)}",
                         hint="fix the data or data.labels in the config")
    return np.array([counts[label] for label in labels], dtype=float)


def read_own_card(cls: type[Classifier], path: Path) -> dict[str, Any]:
    """The card of the saved model at ``path``, checked to be of ``cls``'s kind."""
    card = read_card(Path(path))
    if card.get("kind") != cls.kind:
        raise ModelError(f"{path} holds a {card.get('kind')!r} model, not {cls.kind!r}",
                         hint="open it with stance.models.load_classifier")
    return card


# ---------------------------------------------------------------------------------------------
# Params and builders: the only code that reads the experiment config


class KeywordParams(BaseModel):
    """``model.params`` of the ``keyword`` baseline."""

    model_config = ConfigDict(extra="forbid")

    smoothing: PositiveFloat = Field(
        1.0, description="Pseudo-count added to every class's cue count before normalising.")
    lexicon: dict[str, list[str]] | None = Field(
        None, description="Cue phrases per label; null uses the documented built-in lexicon.")


class MajorityParams(BaseModel):
    """``model.params`` of the ``majority`` baseline."""

    model_config = ConfigDict(extra="forbid")

    group_by: Literal["request"] | None = Field(
        None, description="request: the majority per request (a benchmark's per-target majority; needs input.mode: "
        "request_text); null: one global majority.")


@register_model("majority", loader=MajorityClass.load, params=MajorityParams,
                description="Always the training majority class (the floor to beat).")
def build_majority(config) -> MajorityClass:
    params = MajorityParams.model_validate(config.model.params)
    return MajorityClass(config.data.labels, params.group_by)


def keyword_label_problem(labels: Sequence[str], params: Mapping[str, Any]) -> str | None:
    """Why the keyword rules cannot serve ``labels``: a lexicon with cues for labels the set lacks."""
    lexicon = KeywordParams.model_validate(dict(params)).lexicon or DEFAULT_LEXICON
    unknown = sorted(set(lexicon) - set(labels))
    if not unknown:
        return None
    which = "its built-in lexicon" if not params.get("lexicon") else "model.params.lexicon"
    return f"keyword: {which} has cues for {', '.join(unknown)}, which the label set {', '.join(labels)} lacks"


@register_model("keyword", loader=KeywordRules.load, params=KeywordParams, label_problem=keyword_label_problem,
                description="Documented cue-phrase rules (decline / consider / comply lexicon).")
def build_keyword(config) -> KeywordRules:
    params = KeywordParams.model_validate(config.model.params)
    return KeywordRules(config.data.labels, lexicon=params.lexicon, smoothing=params.smoothing)
