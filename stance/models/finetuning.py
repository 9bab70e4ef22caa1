"""How :class:`~stance.models.transformer.TransformerClassifier` fine-tunes: the Trainer's settings.

:class:`FineTuning` is a config's ``train`` section as plain values; :func:`training_arguments` turns
it into the transformers ``TrainingArguments`` (checkpoint every epoch, model selection on dev
macro-F1, optional length-grouped batches and bf16 autocast); :func:`head_learning_rate_optimizer`,
:func:`weighted_loss` and :func:`rich_progress` are the optimizer, loss and progress callback the
Trainer is handed when a config asks for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from stance.models.inference import TrainPrecision

#: How the classification layer starts fine-tuning (``train.head_init`` in a config): ``random``, the
#: architecture's own initialisation; ``linear_probe``, fitted first on the frozen encoder's features (LP-FT).
HeadInit = Literal["random", "linear_probe"]
HEAD_INITS: tuple[str, ...] = get_args(HeadInit)


@dataclass(frozen=True)
class FineTuning:
    """How :meth:`TransformerClassifier.fit` trains: the config's ``train`` section as plain values.

    No field has a default: the builder fills each from the validated config
    (:class:`stance.config.TrainConfig` documents them), the one place defaults are written.
    """

    learning_rate: float
    head_learning_rate: float | None
    head_init: HeadInit
    epochs: float
    batch_size: int
    eval_batch_size: int
    weight_decay: float
    warmup_ratio: float
    class_weights: bool
    group_by_length: bool
    logging_steps: int
    max_steps: int
    precision: TrainPrecision


def training_arguments(settings: FineTuning, work: Path, *, seed: int, has_dev: bool) -> Any:
    """The ``TrainingArguments`` for one fit, its checkpoints in ``work``."""
    import torch
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(work),
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps,
        learning_rate=settings.learning_rate,
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=settings.eval_batch_size,
        weight_decay=settings.weight_decay,
        warmup_steps=settings.warmup_ratio,
        lr_scheduler_type="linear",
        eval_strategy="epoch" if has_dev else "no",
        # A checkpoint every epoch, dev set or not, so that `stance train --resume` can continue
        # a killed run; with dev, the best one is kept beside the latest.
        save_strategy="epoch",
        load_best_model_at_end=has_dev,
        metric_for_best_model="macro_f1" if has_dev else None,
        greater_is_better=True if has_dev else None,
        save_total_limit=2 if has_dev else 1,
        logging_steps=settings.logging_steps,
        seed=seed,
        data_seed=seed,
        train_sampling_strategy="group_by_length" if settings.group_by_length else "random",
        length_column_name="length",
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        dataloader_pin_memory=False,
        # Under torchrun (DDP) every parameter gets a gradient: no search for unused ones each step.
        ddp_find_unused_parameters=False,
        use_cpu=not torch.cuda.is_available(),
        # Mixed precision: the Trainer runs forward and backward under bf16 autocast, weights stay fp32.
        bf16=settings.precision == "bf16",
    )


def head_learning_rate_optimizer(model: Any, args: Any, settings: FineTuning) -> tuple[type, dict[str, Any]]:
    """AdamW as the Trainer builds it (no weight decay on biases and norms), but the head's
    parameters, everything outside the pretrained ``base_model``, at ``settings.head_learning_rate``."""
    import torch
    from transformers import Trainer

    decay = set(Trainer.get_decay_parameter_names(None, model))
    encoder = {id(p) for p in model.base_model.parameters()}
    groups: dict[tuple[bool, bool], list] = {}
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            groups.setdefault((id(parameter) not in encoder, name in decay), []).append(parameter)
    param_groups = [
        {"params": params, "weight_decay": args.weight_decay if decays else 0.0,
         **({"lr": settings.head_learning_rate} if head else {})}
        for (head, decays), params in sorted(groups.items())
    ]
    return torch.optim.AdamW, {"params": param_groups, "lr": settings.learning_rate,
                               "betas": (args.adam_beta1, args.adam_beta2), "eps": args.adam_epsilon}


def weighted_loss(labels: Sequence[str], train_y: Sequence[str]):
    """Cross-entropy with each label weighted by the inverse of its share of ``train_y``."""
    import torch

    counts = np.array([max(1, list(train_y).count(label)) for label in labels], dtype=np.float64)
    weights = torch.tensor(counts.sum() / (len(counts) * counts), dtype=torch.float32)

    def loss(outputs, labels, num_items_in_batch=None):
        return torch.nn.functional.cross_entropy(outputs.logits, labels, weight=weights.to(outputs.logits.device))

    return loss


def rich_progress() -> Any:
    """A rich progress bar for the Trainer's steps (the Trainer's own tqdm is switched off)."""
    from transformers import TrainerCallback

    class Callback(TrainerCallback):
        def __init__(self) -> None:
            self.progress = None
            self.task = None

        def on_train_begin(self, args, state, control, **kwargs):
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.fields[info]}"), TimeRemainingColumn(), transient=True)
            self.progress.start()
            self.task = self.progress.add_task("train", total=state.max_steps, info="")

        def on_step_end(self, args, state, control, **kwargs):
            self.progress.update(self.task, completed=state.global_step)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                self.progress.update(self.task, info=f"loss {logs['loss']:.3f}")
            if logs and "eval_macro_f1" in logs:
                self.progress.console.print(
                    f"epoch {logs.get('epoch', 0):.0f}: dev macro-F1 {logs['eval_macro_f1']:.3f}"
                )

        def on_train_end(self, args, state, control, **kwargs):
            if self.progress is not None:
                self.progress.stop()

    return Callback()
