"""Knowledge distillation (Hinton et al., 2015): a student fitted to a teacher's class probabilities.

The loss is the KL divergence from the teacher's probabilities, both sides softened by a
temperature ``τ`` (the teacher's as ``softmax(log p / τ)``, the student's as ``softmax(z / τ)``),
times ``τ²`` so its gradients keep their size as ``τ`` changes; optionally mixed with the ordinary
cross-entropy on the gold labels (``hard_weight``). KL and soft cross-entropy differ by the
teacher's entropy, a constant, so they train the same model; KL reads 0 at a perfect fit.

The Trainer hands a custom loss the batch's ``labels`` tensor only, so each example's targets
travel there packed as one row: the softened teacher probabilities, then the gold label's index
(``-1`` where there is none: statements the teacher labelled but nobody else did).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from stance.models.calibration import temper

#: The packed label row's gold index where the statement has no gold label.
NO_LABEL = -1


@dataclass(frozen=True)
class TeacherTargets:
    """What a student fits: the teacher's probabilities, one row per training input, and how."""

    proba: np.ndarray  # (n, labels), the teacher's probabilities in the student's label order
    temperature: float  # τ: softens teacher and student alike
    hard_weight: float  # share of the loss on the gold labels (0: the teacher's probabilities alone)

    def packed(self, gold: Sequence[int | None]) -> list[list[float]]:
        """One ``labels`` row per input: softened teacher probabilities, then the gold index (or -1)."""
        soft = temper(self.proba, self.temperature)
        return [[*row, float(NO_LABEL if g is None else g)] for row, g in zip(soft.tolist(), gold, strict=True)]


def one_hot_packed(gold: Sequence[int], n_labels: int) -> list[list[float]]:
    """Packed ``labels`` rows for labelled inputs with no teacher (dev): the gold label as certain."""
    return [[*np.eye(n_labels)[g].tolist(), float(g)] for g in gold]


def gold_of(label_ids: np.ndarray) -> np.ndarray:
    """The gold class indices in a batch's ``labels``: packed rows carry them last."""
    return label_ids[:, -1].astype(int) if label_ids.ndim == 2 else label_ids


def distillation_loss(temperature: float, hard_weight: float):
    """The Trainer's ``compute_loss_func`` for packed labels (see the module docstring)."""
    import torch
    import torch.nn.functional as F

    def loss(outputs, labels, num_items_in_batch=None):
        logits = outputs.logits.float()
        soft, gold = labels[:, :-1].float(), labels[:, -1].long()
        log_student = F.log_softmax(logits / temperature, dim=-1)
        kl = (torch.special.xlogy(soft, soft) - soft * log_student).sum(dim=-1).mean() * temperature ** 2
        if hard_weight == 0:
            return kl
        known = gold != NO_LABEL
        hard = F.cross_entropy(logits[known], gold[known]) if bool(known.any()) else logits.sum() * 0.0
        return (1 - hard_weight) * kl + hard_weight * hard

    return loss
