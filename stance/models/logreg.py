"""The logistic-regression baselines, behind the same interface as the transformer.

``tfidf_logreg``
    TF-IDF word n-grams + logistic regression, C chosen on dev. The classic strong baseline.
``embedding_logreg``
    Frozen sentence embeddings (mean-pooled, L2-normalised: the all-MiniLM-L6-v2 recipe) +
    logistic regression, C chosen on dev. Separates what the encoder already knows from what
    fine-tuning adds.

Saved models contain no pickle: JSON for settings and vocabularies, ``.npz`` arrays that load with
``allow_pickle=False``. The other baselines (majority, keyword rules) are in
:mod:`stance.models.baselines`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, model_validator

from stance.errors import ModelError
from stance.io import write_json, write_npz
from stance.models.base import Classifier, TextInputs, register_model
from stance.models.baselines import label_counts, read_own_card
from stance.models.pretrained import load_error, resolve_pretrained

# scikit-learn and torch are imported where they are used: the baselines register whenever a
# config is validated, and that should not cost seconds of imports.
if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression

#: Inverse regularisation strengths tried on dev by the logistic-regression baselines.
DEFAULT_C_GRID: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)


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

    label_counts(train_y, labels)  # rejects labels outside the label set
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
    write_json(path / "logreg.json", {
        "C": logreg.C, "class_weight": logreg.class_weight, "classes": logreg.classes_.tolist(),
    })
    write_npz(path / "logreg.npz", coef=logreg.coef_, intercept=logreg.intercept_)


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
        write_json(path / "vocabulary.json", {term: int(i) for term, i in columns})
        write_npz(path / "tfidf.npz", idf=vectorizer.idf_)
        save_logreg(logreg, path)

    @classmethod
    def load(cls, path: Path) -> TfidfLogReg:
        from sklearn.pipeline import Pipeline

        path = Path(path)
        card = read_own_card(cls, path)
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
        card = read_own_card(cls, path)
        model = cls(card["labels"], pretrained=card["pretrained"], max_length=card["max_length"],
                    batch_size=card["batch_size"], C_grid=card["C_grid"],
                    class_weight=card["class_weight"])
        model.logreg = load_logreg(path)
        return model


# ---------------------------------------------------------------------------------------------
# Params and builders: the only code that reads the experiment config


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
