"""Fine-tuned transformer classifier: any Hugging Face encoder behind the toolkit's interface.

Training goes through the transformers ``Trainer`` (dynamic padding, seeded, optional
length-grouped batches, model selection on dev macro-F1); prediction is a plain length-sorted,
dynamically padded loop under ``torch.inference_mode``. The saved folder is an ordinary Hugging
Face model folder (safetensors, tokenizer, ``id2label``), so ``transformers.pipeline`` can read it
too, plus the stance model card.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stance.errors import ModelError
from stance.labels import label_maps
from stance.models.base import Classifier, TextInputs, read_card
from stance.models.pretrained import resolve_pretrained
from stance.seed import set_seed


class TransformerClassifier(Classifier):
    """A sequence-classification head on a pretrained encoder, fine-tuned end to end."""

    kind = "transformer"

    def __init__(
        self,
        labels: Sequence[str],
        model_name: str = "default",
        *,
        max_length: int = 128,
        learning_rate: float = 5e-5,
        epochs: float = 3,
        batch_size: int = 16,
        eval_batch_size: int = 64,
        weight_decay: float = 0.01,
        warmup_ratio: float = 0.1,
        class_weights: bool = False,
        group_by_length: bool = True,
        logging_steps: int = 10,
        max_steps: int = -1,
        checkpoint_dir: Path | None = None,
        resume_from: Path | None = None,
        progress: bool = False,
    ) -> None:
        super().__init__(labels)
        self.model_name = model_name
        self.max_length = max_length
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.class_weights = class_weights
        self.group_by_length = group_by_length
        self.logging_steps = logging_steps
        self.max_steps = max_steps
        self.checkpoint_dir = checkpoint_dir
        self.resume_from = resume_from
        self.progress = progress
        self.model: Any = None
        self.tokenizer: Any = None

    # ------------------------------------------------------------------------------------------
    # Training

    def _load_pretrained(self) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        source = resolve_pretrained(self.model_name)
        id2label, label2id = label_maps(self.labels)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source)
            self.model = AutoModelForSequenceClassification.from_pretrained(
                source,
                num_labels=len(self.labels),
                id2label=id2label,
                label2id=label2id,
                use_safetensors=True,
            )
        except OSError as err:
            raise ModelError(
                f"cannot load model {self.model_name!r}: {str(err).splitlines()[0]}",
                hint="use 'default', a local Hugging Face model folder with safetensors weights, or a cached hub id",
            ) from None

    def _encode(self, x: TextInputs, y: Sequence[str] | None = None):
        import datasets

        datasets.disable_progress_bars()  # a bar per tokenisation pass is noise in a CLI report
        columns: dict[str, list] = {"text": x.texts}
        if x.requests is not None:
            columns["request"] = x.requests
        if y is not None:
            _, label2id = label_maps(self.labels)
            columns["labels"] = [label2id[label] for label in y]
        pair = x.requests is not None

        def tokenize(batch: dict[str, list]) -> dict[str, list]:
            if pair:
                return self.tokenizer(batch["request"], batch["text"], truncation=True, max_length=self.max_length)
            return self.tokenizer(batch["text"], truncation=True, max_length=self.max_length)

        dataset = datasets.Dataset.from_dict(columns)
        keep = [c for c in dataset.column_names if c == "labels"]
        dataset = dataset.map(tokenize, batched=True, remove_columns=[c for c in dataset.column_names if c not in keep])
        return dataset.map(lambda row: {"length": len(row["input_ids"])})

    def fit(self, train_x, train_y, dev_x=None, dev_y=None, *, seed: int = 0) -> list[dict[str, Any]]:
        import torch
        from transformers import DataCollatorWithPadding, PrinterCallback, Trainer, TrainingArguments

        from stance.evaluate import classification_metrics

        set_seed(seed)
        self._load_pretrained()
        train_ds = self._encode(train_x, train_y)
        dev_ds = self._encode(dev_x, dev_y) if dev_x is not None and dev_y is not None else None
        work = self.checkpoint_dir or Path(tempfile.mkdtemp(prefix="stance-ckpt-"))
        has_dev = dev_ds is not None
        args = TrainingArguments(
            output_dir=str(work),
            num_train_epochs=self.epochs,
            max_steps=self.max_steps,
            learning_rate=self.learning_rate,
            per_device_train_batch_size=self.batch_size,
            per_device_eval_batch_size=self.eval_batch_size,
            weight_decay=self.weight_decay,
            warmup_steps=self.warmup_ratio,
            lr_scheduler_type="linear",
            eval_strategy="epoch" if has_dev else "no",
            save_strategy="epoch" if has_dev else "no",
            load_best_model_at_end=has_dev,
            metric_for_best_model="macro_f1" if has_dev else None,
            greater_is_better=True if has_dev else None,
            save_total_limit=2 if has_dev else None,
            logging_steps=self.logging_steps,
            seed=seed,
            data_seed=seed,
            train_sampling_strategy="group_by_length" if self.group_by_length else "random",
            length_column_name="length",
            report_to="none",
            disable_tqdm=True,
            dataloader_num_workers=0,
            dataloader_pin_memory=False,
            use_cpu=not torch.cuda.is_available(),
        )
        labels = self.labels

        def compute_metrics(prediction) -> dict[str, float]:
            logits, gold = prediction.predictions, prediction.label_ids
            predicted = logits.argmax(axis=-1)
            metrics = classification_metrics([labels[i] for i in gold], [labels[i] for i in predicted], labels)
            return {"macro_f1": metrics["macro_f1"], "accuracy": metrics["accuracy"]}

        loss_func = self._weighted_loss(train_y) if self.class_weights else None
        callbacks = [_RichProgress()] if self.progress else []
        trainer = Trainer(
            model=self.model,
            args=args,
            train_dataset=train_ds,
            eval_dataset=dev_ds,
            processing_class=self.tokenizer,
            data_collator=DataCollatorWithPadding(self.tokenizer),
            compute_metrics=compute_metrics if has_dev else None,
            compute_loss_func=loss_func,
            callbacks=callbacks,
        )
        # The Trainer prints every log dict when tqdm is off; the history is kept in history.csv.
        trainer.remove_callback(PrinterCallback)
        trainer.train(resume_from_checkpoint=str(self.resume_from) if self.resume_from else None)
        self.model = trainer.model.eval()
        history = list(trainer.state.log_history)
        if self.checkpoint_dir is None:
            shutil.rmtree(work, ignore_errors=True)
        return history

    def _weighted_loss(self, train_y: Sequence[str]):
        import torch

        counts = np.array([max(1, list(train_y).count(label)) for label in self.labels], dtype=np.float64)
        weights = torch.tensor(counts.sum() / (len(counts) * counts), dtype=torch.float32)

        def loss(outputs, labels, num_items_in_batch=None):
            return torch.nn.functional.cross_entropy(outputs.logits, labels, weight=weights.to(outputs.logits.device))

        return loss

    # ------------------------------------------------------------------------------------------
    # Prediction

    def predict_proba(self, x: TextInputs, batch_size: int | None = None) -> np.ndarray:
        import torch

        if self.model is None:
            raise ModelError("the transformer has not been trained or loaded")
        batch_size = batch_size or self.eval_batch_size
        device = next(self.model.parameters()).device
        # Sorting by length keeps padding, and so wasted arithmetic, to a minimum.
        lengths = [len(t) + (len(x.requests[i]) if x.requests else 0) for i, t in enumerate(x.texts)]
        order = np.argsort(lengths, kind="stable")
        out = np.zeros((len(x), len(self.labels)), dtype=np.float64)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                index = order[start : start + batch_size]
                texts = [x.texts[i] for i in index]
                if x.requests is not None:
                    enc = self.tokenizer([x.requests[i] for i in index], texts, truncation=True,
                                         max_length=self.max_length, padding=True, return_tensors="pt")
                else:
                    enc = self.tokenizer(texts, truncation=True, max_length=self.max_length, padding=True,
                                         return_tensors="pt")
                logits = self.model(**{k: v.to(device) for k, v in enc.items()}).logits
                out[index] = torch.softmax(logits.double(), dim=-1).cpu().numpy()
        return out

    # ------------------------------------------------------------------------------------------
    # Saving

    def save(self, path: Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        self.write_card(path, base_model=self.model_name, max_length=self.max_length)

    @classmethod
    def load(cls, path: Path) -> TransformerClassifier:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = Path(path)
        card = read_card(path)
        if not (path / "model.safetensors").is_file():
            raise ModelError(f"{path} holds no model.safetensors", hint="only safetensors weights are loaded")
        model = cls(card["labels"], card.get("base_model", "default"), max_length=card.get("max_length", 128))
        model.tokenizer = AutoTokenizer.from_pretrained(path)
        model.model = AutoModelForSequenceClassification.from_pretrained(path, use_safetensors=True).eval()
        return model


class _RichProgress:
    """A rich progress bar for the Trainer's steps (the Trainer's own tqdm is switched off)."""

    def __new__(cls):
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


def _register() -> None:
    from stance.models.base import register_model

    @register_model(
        "transformer",
        loader=TransformerClassifier.load,
        description="Fine-tuned Hugging Face encoder (model.name: default = packaged all-MiniLM-L6-v2).",
    )
    def build_transformer(config) -> TransformerClassifier:
        train = config.train
        return TransformerClassifier(
            config.data.labels,
            config.model.name,
            max_length=config.input.max_length,
            learning_rate=train.learning_rate,
            epochs=train.epochs,
            batch_size=train.batch_size,
            eval_batch_size=train.eval_batch_size,
            weight_decay=train.weight_decay,
            warmup_ratio=train.warmup_ratio,
            class_weights=train.class_weights,
            group_by_length=train.group_by_length,
            logging_steps=train.logging_steps,
            max_steps=train.max_steps,
        )


_register()
