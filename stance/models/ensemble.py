"""A seed ensemble: the same classifier trained once per seed, its class probabilities averaged.

``model.type: seed_ensemble`` with ``model.params.seeds: [42, 1, 2, 3]`` trains one member per
seed, each exactly as a run of ``model.params.member`` (default ``transformer``) with that
``train.seed`` would train it (every member's ``fit`` seeds itself), and predicts the mean of the
members' probabilities (temperature-scaled as a whole when calibrated, ``softmax(log mean / T)``
with one ``T`` in the ensemble's card; the members keep ``T = 1``). Averaging removes most of the seed-to-seed spread of a fine-tuned encoder
on a corpus this small; it costs one training and one forward pass per member.

``model.params.member_params`` are the member's own ``model.params`` (e.g. ``pooling``). Members
are saved under ``model/members/seed-<n>/`` as ordinary saved classifiers, so each can also be
opened on its own with :func:`stance.models.load_classifier`. Members do not checkpoint, so an
interrupted ensemble run starts again from its first member.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from stance.errors import ModelError
from stance.models.base import MODELS, Classifier, TextInputs, load_classifier, read_card, register_model
from stance.models.calibration import card_temperature, temper


class SeedEnsembleParams(BaseModel):
    """``model.params`` of ``seed_ensemble``."""

    model_config = ConfigDict(extra="forbid")

    seeds: list[int] = Field(..., min_length=2, description="One member per seed (train.seed is not used).")
    member: str = Field("transformer", description="Registered model type of every member.")
    member_params: dict[str, Any] = Field(default_factory=dict, description="The members' own model.params.")

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError("seeds must be distinct: two members with one seed are the same model")
        return seeds

    @field_validator("member")
    @classmethod
    def _known(cls, member: str) -> str:
        if member == "seed_ensemble":
            raise ValueError("an ensemble's members cannot be ensembles")
        if member not in MODELS:
            raise ValueError(f"unknown member type {member!r}; known: {', '.join(sorted(MODELS))}")
        return member

    @model_validator(mode="after")
    def _member_params(self) -> SeedEnsembleParams:
        MODELS[self.member].params.model_validate(self.member_params)  # its errors name the bad key
        return self


class SeedEnsemble(Classifier):
    """Members trained with different seeds; probabilities are their mean."""

    kind = "seed_ensemble"
    #: The average is scaled, not each member: averaging already softens the members' confidence,
    #: so members scaled one by one and then averaged come out under-confident. One T fitted on the
    #: ensemble's own dev probabilities corrects what the ensemble actually predicts.
    calibratable = True

    def __init__(self, labels: Sequence[str], seeds: Sequence[int],
                 build_member: Callable[[], Classifier] | None = None) -> None:
        super().__init__(labels)
        self.seeds = list(seeds)
        self.build_member = build_member
        self.members: list[Classifier] = []
        self.progress = False

    def fit(self, train_x: TextInputs, train_y: Sequence[str], dev_x: TextInputs | None = None,
            dev_y: Sequence[str] | None = None, *, seed: int = 0) -> list[dict[str, Any]]:
        if self.build_member is None:
            raise ModelError("this ensemble was loaded, not built: it cannot be trained again")
        self.members, history = [], []
        self.temperature = 1.0
        for number, member_seed in enumerate(self.seeds, start=1):
            if self.progress:
                from rich.console import Console

                Console().print(f"member {number} of {len(self.seeds)}: seed {member_seed}")
            member = self.build_member()
            member.show_progress(self.progress)
            rows = member.fit(train_x, train_y, dev_x, dev_y, seed=member_seed)
            history += [{"member_seed": member_seed, **row} for row in rows]
            self.members.append(member)
        return history

    def _check_fitted(self) -> None:
        if not self.members:
            raise ModelError("the ensemble has not been trained or loaded")

    def predict_proba(self, x: TextInputs) -> np.ndarray:
        self._check_fitted()
        return temper(np.mean([member.predict_proba(x) for member in self.members], axis=0), self.temperature)

    def prepare_inference(self, precision: str = "fp32", **options: Any) -> str:
        """Set every member's precision and device (see ``TransformerClassifier.prepare_inference``)."""
        self._check_fitted()
        used = precision
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for member in self.members:
                used = member.prepare_inference(precision, **options)
        for message in {(type(w.message), str(w.message)): w for w in caught}.values():  # once, not per member
            warnings.warn(message.message, message.category, stacklevel=2)
        return used

    def show_progress(self, on: bool = True) -> None:
        self.progress = on

    @property
    def precision(self) -> str:
        """The precision the members predict in (what :meth:`prepare_inference` set)."""
        return self.members[0].precision if self.members else "fp32"

    @property
    def max_length(self) -> int | None:
        """The members' input length in tokens."""
        return self.members[0].max_length if self.members else None

    def inference_device(self) -> str:
        """Where the members run."""
        return self.members[0].inference_device() if self.members else "cpu"

    def count_truncated(self, x: TextInputs) -> int | None:
        self._check_fitted()
        return self.members[0].count_truncated(x)

    def save(self, path: Path) -> None:
        self._check_fitted()
        path = Path(path)
        names = []
        for member_seed, member in zip(self.seeds, self.members, strict=True):
            name = f"seed-{member_seed}"
            member.save(path / "members" / name)
            names.append(name)
        self.write_card(path, seeds=self.seeds, members=names, temperature=self.temperature)

    @classmethod
    def load(cls, path: Path) -> SeedEnsemble:
        card = read_card(Path(path))
        names = card.get("members")
        if not isinstance(names, list) or not names:
            raise ModelError(f"{path}: the ensemble's card lists no members")
        ensemble = cls(card["labels"], card.get("seeds", []))
        ensemble.temperature = card_temperature(card, Path(path))
        for name in names:
            if not isinstance(name, str) or "/" in name or name.startswith("."):
                raise ModelError(f"{path}: bad member name {name!r} in the card")
            member = load_classifier(Path(path) / "members" / name)
            if member.labels != ensemble.labels:
                raise ModelError(f"{path}: member {name} has labels {member.labels}, the ensemble {ensemble.labels}")
            ensemble.members.append(member)
        return ensemble


@register_model(
    "seed_ensemble",
    loader=SeedEnsemble.load,
    params=SeedEnsembleParams,
    description="One member per model.params.seeds (default member: transformer), probabilities averaged.",
    uses_train_seed=False,
)
def build_seed_ensemble(config) -> SeedEnsemble:
    params = SeedEnsembleParams.model_validate(config.model.params)
    member_config = config.model_copy(
        update={"model": config.model.model_copy(update={"type": params.member, "params": params.member_params})}
    )
    builder = MODELS[params.member].builder
    return SeedEnsemble(config.data.labels, params.seeds, lambda: builder(member_config))
