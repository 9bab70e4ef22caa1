"""What every classifier in the toolkit is: the interface and the registry behind ``model.type``.

A classifier reads :class:`TextInputs` (statements, optionally paired with the request they
answer), learns from string labels, returns class probabilities in the order of its ``labels``,
and saves itself to a folder that :func:`load_classifier` can reopen without executing code from
it (no pickle: safetensors, JSON and ``.npz`` without object arrays).
"""

from __future__ import annotations

import json
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from stance.errors import ModelError
from stance.io import write_json

#: File that marks a folder as a saved stance classifier and names its kind.
MODEL_CARD = "stance_model.json"

#: Separator used when a model that reads one string gets a request + statement pair.
PAIR_SEPARATOR = " || "


@dataclass(frozen=True)
class TextInputs:
    """What a classifier reads: the statements and, in ``request_text`` mode, the requests."""

    texts: list[str]
    requests: list[str] | None = None

    def __post_init__(self) -> None:
        if self.requests is not None and len(self.requests) != len(self.texts):
            raise ValueError("texts and requests must have the same length")

    def __len__(self) -> int:
        return len(self.texts)

    def joined(self) -> list[str]:
        """One string per example, for models that cannot take a text pair."""
        if self.requests is None:
            return list(self.texts)
        return [f"{r}{PAIR_SEPARATOR}{t}" for r, t in zip(self.requests, self.texts, strict=True)]

    def subset(self, index: Sequence[int]) -> TextInputs:
        """The inputs at ``index`` (used by cross-validation and batching)."""
        texts = [self.texts[i] for i in index]
        requests = None if self.requests is None else [self.requests[i] for i in index]
        return TextInputs(texts, requests)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, mode: str = "text") -> TextInputs:
        """Build inputs from a statements frame: ``mode`` is ``text`` or ``request_text``."""
        texts = frame["text"].astype(str).tolist()
        if mode == "text":
            return cls(texts)
        if mode == "request_text":
            if "request" not in frame.columns:
                raise ModelError(
                    "input mode 'request_text' needs a 'request' column",
                    hint="add the column or set input.mode: text",
                )
            return cls(texts, frame["request"].fillna("").astype(str).tolist())
        if mode == "context_text":  # the answer step: context features (stance.articles.answers) + sentence
            if "context" not in frame.columns:
                raise ModelError("input mode 'context_text' needs a 'context' column",
                                 hint="build the data with `stance articles sentences`, or set input.mode: text")
            return cls(texts, frame["context"].fillna("").astype(str).tolist())
        raise ModelError(f"unknown input mode {mode!r}", hint="use 'text', 'request_text' or 'context_text'")


class Classifier(ABC):
    """A stance classifier: fit on labelled inputs, predict probabilities, save and reload."""

    #: Registry name, written into the saved model card.
    kind: ClassVar[str]
    #: Tokens of an input the model reads (``None``: it reads every text whole).
    max_length: int | None = None
    #: The precision prediction runs in (what :meth:`prepare_inference` set).
    precision: str = "fp32"
    #: Whether :meth:`predict_proba` divides the model's logits by :attr:`temperature`
    #: (temperature scaling, :mod:`stance.models.calibration`); baselines say no.
    calibratable: ClassVar[bool] = False
    #: The fitted temperature (1.0: probabilities as the model gives them), saved in the model card.
    temperature: float = 1.0
    #: Whether :meth:`fit` takes ``teacher=`` (:class:`~stance.models.distillation.TeacherTargets`)
    #: and can be trained as a distillation student.
    distillable: ClassVar[bool] = False

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = list(labels)

    @abstractmethod
    def fit(
        self,
        train_x: TextInputs,
        train_y: Sequence[str],
        dev_x: TextInputs | None = None,
        dev_y: Sequence[str] | None = None,
        *,
        seed: int = 0,
    ) -> list[dict[str, Any]]:
        """Learn from ``train``; choose settings on ``dev`` when given.

        Returns the training history, one dict per logged step or epoch (e.g. ``{"step": 10,
        "loss": 0.9}`` or ``{"epoch": 1, "dev_macro_f1": 0.7}``); empty when there is none.
        """

    @abstractmethod
    def predict_proba(self, x: TextInputs) -> np.ndarray:
        """Probabilities, shape ``(len(x), len(self.labels))``, columns in ``self.labels`` order."""

    def count_truncated(self, x: TextInputs) -> int | None:
        """How many inputs are cut to fit the model (``None``: this model reads every text whole)."""
        return None

    # Optional abilities. A model that has one overrides its method; these defaults say the model
    # has nothing to do, so callers never need to ask what kind of model they hold.

    def show_progress(self, on: bool = True) -> None:
        """Report training progress on the terminal (default: nothing to report)."""

    def keep_checkpoints(self, folder: Path | None, resume_from: Path | None = None) -> None:
        """Checkpoint training into ``folder`` and resume from the checkpoint ``resume_from``
        (default: the model trains in one go and has nothing to checkpoint)."""

    def prepare_inference(self, precision: str = "fp32", *, device: str = "auto", batch_size: int | None = None,
                          max_tokens: int | None = None, compile: bool = False) -> str:
        """Set how :meth:`predict_proba` runs; returns the precision in effect.

        The default runs as the model always does, on the CPU in full precision: asking it for
        another precision or for ``compile`` gets a :class:`~stance.models.inference.FallbackWarning`.
        """
        from stance.models.inference import CompileWarning, PrecisionWarning

        if precision != "fp32":
            warnings.warn(f"precision applies to transformer models; this {self.kind} model ignores it",
                          PrecisionWarning, stacklevel=3)
        if compile:
            warnings.warn(f"compile applies to transformer models; this {self.kind} model ignores it",
                          CompileWarning, stacklevel=3)
        return "fp32"

    def inference_device(self) -> str:
        """Where :meth:`predict_proba` runs (default: ``cpu``)."""
        return "cpu"

    def predict(self, x: TextInputs) -> list[str]:
        """The most probable label for each input."""
        proba = self.predict_proba(x)
        return [self.labels[i] for i in proba.argmax(axis=1)]

    @abstractmethod
    def save(self, path: Path) -> None:
        """Write the fitted model into the folder ``path`` (created if missing), with its card."""

    @classmethod
    @abstractmethod
    def load(cls, path: Path) -> Classifier:
        """Reopen a model written by :meth:`save`, without executing code from the folder."""

    def write_card(self, path: Path, **extra: Any) -> None:
        """Write the model card that :func:`load_classifier` dispatches on."""
        write_json(path / MODEL_CARD, {"kind": self.kind, "labels": self.labels, **extra})


def read_card(path: Path) -> dict[str, Any]:
    """Read a saved model's card, with a clear error when the folder holds no stance model."""
    card_path = Path(path) / MODEL_CARD
    if not card_path.is_file():
        raise ModelError(
            f"{path} is not a saved stance model: {MODEL_CARD} is missing",
            hint="pass a run directory made by `stance train` or its model/ folder",
        )
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelError(f"{card_path} is not valid JSON: {err}") from None
    if not isinstance(card, dict) or not isinstance(card.get("labels"), list):
        raise ModelError(f"{card_path} is not a stance model card: it needs 'kind' and a list of 'labels'")
    return card


class NoParams(BaseModel):
    """Parameters of a model that takes none."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class ModelEntry:
    """One registered model: how to build it from a config, how to reload it, its params schema."""

    name: str
    builder: Callable[..., Classifier]
    loader: Callable[[Path], Classifier]
    params: type[BaseModel] = NoParams
    description: str = ""
    #: Whether ``train.seed`` changes what the builder trains; a model that takes its seeds from its
    #: own params (the seed ensemble) says False, and a ``seeds:`` sweep over it is refused.
    uses_train_seed: bool = True
    #: Why the model cannot serve a label set, from ``(labels, params)``; None where it can. A
    #: model tied to particular labels (the keyword lexicon) says so before any training starts.
    label_problem: Callable[[Sequence[str], dict], str | None] | None = None


MODELS: dict[str, ModelEntry] = {}


def register_model(
    name: str,
    *,
    loader: Callable[[Path], Classifier],
    params: type[BaseModel] = NoParams,
    description: str = "",
    uses_train_seed: bool = True,
    label_problem: Callable[[Sequence[str], dict], str | None] | None = None,
) -> Callable[[Callable[..., Classifier]], Callable[..., Classifier]]:
    """Register ``builder`` under ``name``: ``model.type: name`` in a config selects it.

    The builder receives the validated experiment config and returns an unfitted classifier; it
    is the only place that reads the config, so the classifier's constructor takes plain values.
    """

    def decorator(builder: Callable[..., Classifier]) -> Callable[..., Classifier]:
        MODELS[name] = ModelEntry(name, builder, loader, params, description, uses_train_seed=uses_train_seed,
                                  label_problem=label_problem)
        return builder

    return decorator


def build_classifier(config) -> Classifier:
    """An unfitted classifier of ``config.model.type``, built from the validated config."""
    return MODELS[config.model.type].builder(config)


def load_classifier(path: str | Path) -> Classifier:
    """Reopen a saved classifier of any registered kind (no code is executed from the folder)."""
    card = read_card(Path(path))
    entry = MODELS.get(str(card.get("kind", "")))
    if entry is None:
        raise ModelError(f"{path}: unknown model kind {card.get('kind')!r}", hint=f"known: {', '.join(MODELS)}")
    try:
        return entry.loader(Path(path))
    except ModelError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as err:
        # A missing or damaged file, or an .npz holding pickled objects (refused by allow_pickle=False).
        first_line = (str(err).splitlines() or [type(err).__name__])[0]
        raise ModelError(
            f"{path}: cannot load the saved {entry.name} model ({type(err).__name__}: {first_line})",
            hint="the folder is damaged or was not written by stance; retrain the run",
        ) from None
