"""Baselines behind the same interface as the transformer, so every run is compared like for like.

``majority``
    Always the training majority; probabilities are the training class frequencies. The floor
    any model must beat.
``keyword``
    A transparent lexicon of cue phrases (rules below). Shows how far surface wording goes.
``tfidf_logreg``
    TF-IDF word n-grams + logistic regression, C chosen on dev. The classic strong baseline.
``embedding_logreg``
    Frozen sentence embeddings (mean-pooled, L2-normalised: the all-MiniLM-L6-v2 recipe) +
    logistic regression, C chosen on dev. Separates what the encoder already knows from what
    fine-tuning adds.

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

Saved models contain no pickle: JSON for settings, vocabularies and lexicons, ``.npz`` arrays
that load with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, model_validator

from stance.errors import ModelError
from stance.models.base import Classifier, NoParams, TextInputs, read_card, register_model
from stance.models.pretrained import load_error, resolve_pretrained

# scikit-learn and torch are imported where they are used: the baselines register whenever a
# config is validated, and that should not cost seconds of imports.
if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression

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

#: Inverse regularisation strengths tried on dev by the logistic-regression baselines.
DEFAULT_C_GRID: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)

# "not", "no", "never", "cannot" or "n't" followed by at most two more words, right before a cue.
_NEGATION_BEFORE = re.compile(r"(?:\b(?:not|no|never|cannot)|n't)\W+(?:\w+\W+){0,2}$", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# Majority class


class MajorityClass(Classifier):
    """Predicts the most frequent training label; probabilities are the training frequencies."""

    kind = "majority"

    def __init__(self, labels: Sequence[str]) -> None:
        super().__init__(labels)
        self.frequencies = np.full(len(self.labels), 1.0 / len(self.labels))

    def fit(self, train_x, train_y, dev_x=None, dev_y=None, *, seed: int = 0) -> list[dict[str, Any]]:
        counts = _label_counts(train_y, self.labels)
        self.frequencies = counts / counts.sum()
        return []

    def predict_proba(self, x: TextInputs) -> np.ndarray:
        return np.tile(self.frequencies, (len(x), 1))

    def save(self, path: Path) -> None:
        self.write_card(Path(path), frequencies=self.frequencies.tolist())

    @classmethod
    def load(cls, path: Path) -> MajorityClass:
        card = _read_own_card(cls, path)
        model = cls(card["labels"])
        model.frequencies = np.array(card["frequencies"], dtype=float)
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
        counts = dict(zip(self.labels, _label_counts(train_y, self.labels), strict=True))
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
        _write_json(path / "lexicon.json", self.lexicon)

    @classmethod
    def load(cls, path: Path) -> KeywordRules:
        card = _read_own_card(cls, path)
        lexicon = json.loads((Path(path) / "lexicon.json").read_text(encoding="utf-8"))
        return cls(card["labels"], lexicon=lexicon, smoothing=card["smoothing"],
                   fallback=card["fallback"])


# ---------------------------------------------------------------------------------------------
# Logistic regression on features (shared by the TF-IDF and embedding baselines)


def fit_logreg_on_dev(
    train_features: Any,
    train_y: Sequence[str],
    dev_features: Any | None,
    dev_y: Sequence[str] | None,
    *,
    labels: Sequence[str],
    C_grid: Sequence[float],
    class_weight: str | None,
    seed: int,
) -> tuple[LogisticRegression, list[dict[str, Any]]]:
    """Fit one logistic regression per C on train; keep the best dev macro-F1.

    Ties go to the smaller C (stronger regularisation generalises better when dev cannot tell
    them apart). Without dev data, the middle of the sorted grid is used (1.0 for the default
    grid, scikit-learn's own default). History: one ``{"C", "dev_macro_f1", "selected"}`` per C.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    _label_counts(train_y, labels)  # rejects labels outside the label set
    if len(set(train_y)) < 2:
        raise ModelError("logistic regression needs at least two classes in the training labels")
    tune = dev_features is not None and dev_y is not None
    grid = sorted(C_grid) if tune else [sorted(C_grid)[(len(C_grid) - 1) // 2]]
    fitted, history = [], []
    for C in grid:
        logreg = LogisticRegression(C=C, class_weight=class_weight, max_iter=2000, random_state=seed)
        fitted.append(logreg.fit(train_features, list(train_y)))
        entry: dict[str, Any] = {"C": C}
        if tune:
            entry["dev_macro_f1"] = float(f1_score(
                list(dev_y), logreg.predict(dev_features), labels=list(labels), average="macro",
                zero_division=0,
            ))
        history.append(entry)
    # argmax keeps the first of equal scores: the smallest C, as the grid is sorted.
    best = int(np.argmax([entry.get("dev_macro_f1", 0.0) for entry in history]))
    for i, entry in enumerate(history):
        entry["selected"] = i == best
    return fitted[best], history


def proba_in_label_order(estimator: Any, features: Any, labels: Sequence[str]) -> np.ndarray:
    """``estimator.predict_proba`` with columns moved from its sorted ``classes_`` to ``labels``
    order; a label never seen in training gets probability 0."""
    proba = estimator.predict_proba(features)
    out = np.zeros((proba.shape[0], len(labels)))
    out[:, [list(labels).index(c) for c in estimator.classes_]] = proba
    return out


def save_logreg(logreg: LogisticRegression, path: Path) -> None:
    """Write a fitted logistic regression as ``logreg.json`` (settings, classes) + ``logreg.npz``."""
    _write_json(path / "logreg.json", {
        "C": logreg.C, "class_weight": logreg.class_weight, "classes": logreg.classes_.tolist(),
    })
    np.savez(path / "logreg.npz", coef=logreg.coef_, intercept=logreg.intercept_)


def load_logreg(path: Path) -> LogisticRegression:
    """Rebuild the logistic regression written by :func:`save_logreg`, ready to predict."""
    from sklearn.linear_model import LogisticRegression

    settings = json.loads((path / "logreg.json").read_text(encoding="utf-8"))
    with np.load(path / "logreg.npz", allow_pickle=False) as arrays:
        logreg = LogisticRegression(C=settings["C"], class_weight=settings["class_weight"])
        logreg.coef_, logreg.intercept_ = arrays["coef"], arrays["intercept"]
    logreg.classes_ = np.array(settings["classes"])
    logreg.n_features_in_ = logreg.coef_.shape[1]
    return logreg


# ---------------------------------------------------------------------------------------------
# TF-IDF + logistic regression


class TfidfLogReg(Classifier):
    """TF-IDF word n-grams and a logistic regression whose C is chosen on dev."""

    kind = "tfidf_logreg"

    def __init__(
        self,
        labels: Sequence[str],
        *,
        C_grid: Sequence[float] = DEFAULT_C_GRID,
        ngram_range: tuple[int, int] = (1, 2),
        min_df: int = 2,
        sublinear_tf: bool = True,
        class_weight: Literal["balanced"] | None = "balanced",
    ) -> None:
        super().__init__(labels)
        self.C_grid = list(C_grid)
        self.ngram_range = tuple(ngram_range)
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf
        self.class_weight = class_weight
        self.pipeline: Any = None

    def _vectorizer(self, vocabulary: dict[str, int] | None = None):
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(ngram_range=self.ngram_range, min_df=self.min_df,
                               sublinear_tf=self.sublinear_tf, vocabulary=vocabulary)

    def fit(self, train_x, train_y, dev_x=None, dev_y=None, *, seed: int = 0) -> list[dict[str, Any]]:
        from sklearn.pipeline import Pipeline

        vectorizer = self._vectorizer()
        train_features = vectorizer.fit_transform(train_x.joined())
        # The vocabulary does not depend on C, so it is fitted once and only the regression is
        # tuned; the pipeline is assembled from the fitted parts.
        dev_features = None if dev_x is None else vectorizer.transform(dev_x.joined())
        logreg, history = fit_logreg_on_dev(
            train_features, train_y, dev_features, dev_y, labels=self.labels,
            C_grid=self.C_grid, class_weight=self.class_weight, seed=seed,
        )
        self.pipeline = Pipeline([("tfidf", vectorizer), ("logreg", logreg)])
        return history

    def predict_proba(self, x: TextInputs) -> np.ndarray:
        if self.pipeline is None:
            raise ModelError("the TF-IDF model has not been trained or loaded")
        return proba_in_label_order(self.pipeline, x.joined(), self.labels)

    def save(self, path: Path) -> None:
        if self.pipeline is None:
            raise ModelError("cannot save a TF-IDF model that has not been trained")
        path = Path(path)
        vectorizer, logreg = self.pipeline["tfidf"], self.pipeline["logreg"]
        self.write_card(path, C_grid=self.C_grid, ngram_range=list(self.ngram_range),
                        min_df=self.min_df, sublinear_tf=self.sublinear_tf,
                        class_weight=self.class_weight, selected_C=logreg.C)
        # Terms in column order, so the file reads like the coefficient matrix.
        columns = sorted(vectorizer.vocabulary_.items(), key=lambda item: item[1])
        _write_json(path / "vocabulary.json", {term: int(i) for term, i in columns})
        np.savez(path / "tfidf.npz", idf=vectorizer.idf_)
        save_logreg(logreg, path)

    @classmethod
    def load(cls, path: Path) -> TfidfLogReg:
        from sklearn.pipeline import Pipeline

        path = Path(path)
        card = _read_own_card(cls, path)
        model = cls(card["labels"], C_grid=card["C_grid"], ngram_range=tuple(card["ngram_range"]),
                    min_df=card["min_df"], sublinear_tf=card["sublinear_tf"],
                    class_weight=card["class_weight"])
        vocabulary = json.loads((path / "vocabulary.json").read_text(encoding="utf-8"))
        vectorizer = model._vectorizer(vocabulary)
        with np.load(path / "tfidf.npz", allow_pickle=False) as arrays:
            vectorizer.idf_ = arrays["idf"]
        model.pipeline = Pipeline([("tfidf", vectorizer), ("logreg", load_logreg(path))])
        return model


# ---------------------------------------------------------------------------------------------
# Frozen sentence embeddings + logistic regression


class EmbeddingLogReg(Classifier):
    """Mean-pooled, L2-normalised embeddings from a frozen encoder + logistic regression."""

    kind = "embedding_logreg"

    def __init__(
        self,
        labels: Sequence[str],
        *,
        pretrained: str = "default",
        max_length: int = 256,
        batch_size: int = 64,
        C_grid: Sequence[float] = DEFAULT_C_GRID,
        class_weight: Literal["balanced"] | None = "balanced",
    ) -> None:
        super().__init__(labels)
        self.pretrained = pretrained
        self.pretrained_path = resolve_pretrained(pretrained)
        self.max_length = max_length
        self.batch_size = batch_size
        self.C_grid = list(C_grid)
        self.class_weight = class_weight
        self.logreg: LogisticRegression | None = None
        self._encoder: tuple[Any, Any] | None = None  # (tokenizer, model), loaded on first use

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length embedding per text, shape ``(len(texts), hidden size)``."""
        import torch

        tokenizer, encoder = self._load_encoder()
        device = next(encoder.parameters()).device
        # Length-sorted batches keep padding, and so wasted arithmetic, to a minimum.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), encoder.config.hidden_size))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                index = order[start:start + self.batch_size]
                batch = tokenizer([texts[i] for i in index], padding=True, truncation=True,
                                  max_length=self.max_length, return_tensors="pt").to(device)
                hidden = encoder(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                out[index] = torch.nn.functional.normalize(mean, dim=-1).float().cpu().numpy()
        return out

    def _load_encoder(self) -> tuple[Any, Any]:
        if self._encoder is None:
            import torch
            from transformers import AutoModel, AutoTokenizer

            try:
                # trust_remote_code=False, said explicitly: left unset, transformers would ask on
                # the terminal whether to run a model folder's own Python code.
                tokenizer = AutoTokenizer.from_pretrained(self.pretrained_path, trust_remote_code=False)
                encoder = AutoModel.from_pretrained(self.pretrained_path, use_safetensors=True,
                                                    trust_remote_code=False)
            except (OSError, ValueError) as err:  # ValueError: e.g. a folder that needs trust_remote_code
                raise load_error(self.pretrained, err) from None
            device = "cuda" if torch.cuda.is_available() else "cpu"
            self._encoder = (tokenizer, encoder.to(device).eval())
        return self._encoder

    def fit(self, train_x, train_y, dev_x=None, dev_y=None, *, seed: int = 0) -> list[dict[str, Any]]:
        dev_features = None if dev_x is None else self.embed(dev_x.joined())
        self.logreg, history = fit_logreg_on_dev(
            self.embed(train_x.joined()), train_y, dev_features, dev_y, labels=self.labels,
            C_grid=self.C_grid, class_weight=self.class_weight, seed=seed,
        )
        return history

    def count_truncated(self, x: TextInputs) -> int:
        """How many inputs the encoder cuts at ``max_length`` tokens."""
        from stance.models.transformer import truncated_mask

        tokenizer, _ = self._load_encoder()
        return int(truncated_mask(tokenizer, TextInputs(x.joined()), self.max_length).sum())

    def predict_proba(self, x: TextInputs) -> np.ndarray:
        if self.logreg is None:
            raise ModelError("the embedding model has not been trained or loaded")
        return proba_in_label_order(self.logreg, self.embed(x.joined()), self.labels)

    def save(self, path: Path) -> None:
        if self.logreg is None:
            raise ModelError("cannot save an embedding model that has not been trained")
        path = Path(path)
        # The encoder is frozen, so the name is enough to rebuild it; the resolved path records
        # which weights this run actually used.
        self.write_card(path, pretrained=self.pretrained, pretrained_path=self.pretrained_path,
                        max_length=self.max_length, batch_size=self.batch_size,
                        C_grid=self.C_grid, class_weight=self.class_weight,
                        selected_C=self.logreg.C)
        save_logreg(self.logreg, path)

    @classmethod
    def load(cls, path: Path) -> EmbeddingLogReg:
        path = Path(path)
        card = _read_own_card(cls, path)
        model = cls(card["labels"], pretrained=card["pretrained"], max_length=card["max_length"],
                    batch_size=card["batch_size"], C_grid=card["C_grid"],
                    class_weight=card["class_weight"])
        model.logreg = load_logreg(path)
        return model


# ---------------------------------------------------------------------------------------------
# Small shared pieces


def _label_counts(y: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Count of each label in ``y``, in ``labels`` order; a label outside the set is an error."""
    counts = Counter(y)
    unknown = sorted(set(counts) - set(labels))
    if unknown:
        raise ModelError(f"training labels {unknown} are not in the label set {list(labels)}",
                         hint="fix the data or data.labels in the config")
    return np.array([counts[label] for label in labels], dtype=float)


def _read_own_card(cls: type[Classifier], path: Path) -> dict[str, Any]:
    card = read_card(Path(path))
    if card.get("kind") != cls.kind:
        raise ModelError(f"{path} holds a {card.get('kind')!r} model, not {cls.kind!r}",
                         hint="open it with stance.models.load_classifier")
    return card


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Params and builders: the only code that reads the experiment config


class KeywordParams(BaseModel):
    """``model.params`` of the ``keyword`` baseline."""

    model_config = ConfigDict(extra="forbid")

    smoothing: PositiveFloat = Field(
        1.0, description="Pseudo-count added to every class's cue count before normalising.")
    lexicon: dict[str, list[str]] | None = Field(
        None, description="Cue phrases per label; null uses the documented built-in lexicon.")


class LogRegParams(BaseModel):
    """``model.params`` shared by the logistic-regression baselines."""

    model_config = ConfigDict(extra="forbid")

    C_grid: list[PositiveFloat] = Field(
        list(DEFAULT_C_GRID), min_length=1,
        description="Inverse regularisation strengths tried; the best dev macro-F1 is kept "
                    "(without dev, the middle value).")
    class_weight: Literal["balanced"] | None = Field(
        "balanced", description="`balanced` weights classes by inverse frequency; null: equal.")


class TfidfParams(LogRegParams):
    """``model.params`` of the ``tfidf_logreg`` baseline."""

    ngram_range: tuple[PositiveInt, PositiveInt] = Field(
        (1, 2), description="Smallest and largest word n-gram, e.g. [1, 2] for words and bigrams.")
    min_df: PositiveInt = Field(2, description="Drop n-grams seen in fewer training statements.")
    sublinear_tf: bool = Field(True, description="Use 1 + log(tf) instead of raw counts.")

    @model_validator(mode="after")
    def _ngram_order(self) -> TfidfParams:
        if self.ngram_range[0] > self.ngram_range[1]:
            raise ValueError("ngram_range must be [smallest, largest]")
        return self


class EmbeddingParams(LogRegParams):
    """``model.params`` of the ``embedding_logreg`` baseline (the encoder is ``model.name``)."""

    batch_size: PositiveInt = Field(64, description="Statements encoded per forward pass.")


@register_model("majority", loader=MajorityClass.load,
                description="Always the training majority class (the floor to beat).")
def build_majority(config) -> MajorityClass:
    NoParams.model_validate(config.model.params)
    return MajorityClass(config.data.labels)


@register_model("keyword", loader=KeywordRules.load, params=KeywordParams,
                description="Documented cue-phrase rules (decline / consider / comply lexicon).")
def build_keyword(config) -> KeywordRules:
    params = KeywordParams.model_validate(config.model.params)
    return KeywordRules(config.data.labels, lexicon=params.lexicon, smoothing=params.smoothing)


@register_model("tfidf_logreg", loader=TfidfLogReg.load, params=TfidfParams,
                description="TF-IDF n-grams + logistic regression, C tuned on dev.")
def build_tfidf_logreg(config) -> TfidfLogReg:
    params = TfidfParams.model_validate(config.model.params)
    return TfidfLogReg(config.data.labels, C_grid=params.C_grid, ngram_range=params.ngram_range,
                       min_df=params.min_df, sublinear_tf=params.sublinear_tf,
                       class_weight=params.class_weight)


@register_model("embedding_logreg", loader=EmbeddingLogReg.load, params=EmbeddingParams,
                description="Frozen mean-pooled sentence embeddings (model.name) + logistic "
                            "regression, C tuned on dev.")
def build_embedding_logreg(config) -> EmbeddingLogReg:
    params = EmbeddingParams.model_validate(config.model.params)
    return EmbeddingLogReg(config.data.labels, pretrained=config.model.name,
                           max_length=config.input.max_length, batch_size=params.batch_size,
                           C_grid=params.C_grid, class_weight=params.class_weight)
