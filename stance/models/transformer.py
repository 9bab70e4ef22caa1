"""Fine-tuned transformer classifier: any Hugging Face encoder behind the toolkit's interface.

Training goes through the transformers ``Trainer`` (dynamic padding, seeded, optional
length-grouped batches, model selection on dev macro-F1); prediction is a plain loop under
``torch.inference_mode`` over batches of statements sorted by token count and padded only to the
longest in their batch, optionally in a lower precision (:meth:`TransformerClassifier.prepare_inference`
and :mod:`stance.models.inference`: the model cast to bf16 where the hardware has bf16 matmul, to fp16
on GPUs, or dynamically quantised to int8 on CPUs).
The saved folder is an ordinary Hugging Face model folder (safetensors, tokenizer, ``id2label``), so
``transformers.pipeline`` can read it too, plus the stance model card.
"""

from __future__ import annotations

import pickle  # only for pickle.UnpicklingError: nothing here unpickles
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from stance.errors import ModelError
from stance.labels import label_maps
from stance.models.base import Classifier, TextInputs, read_card
from stance.models.calibration import card_temperature
from stance.models.distillation import TeacherTargets, distillation_loss, gold_of, one_hot_packed
from stance.models.finetuning import (
    HEAD_INITS,
    FineTuning,
    head_learning_rate_optimizer,
    rich_progress,
    training_arguments,
    weighted_loss,
)
from stance.models.inference import (
    Precision,
    check_training_precision,
    compiled_or_none,
    convert_model,
    pad_batch,
    resolve_device,
    token_batches,
)
from stance.models.pretrained import load_error, resolve_pretrained
from stance.seed import set_seed

#: How the classification head reads the encoder (``model.params.pooling``): ``cls``, the
#: architecture's own sequence-classification head on the first token; ``mean``, a linear layer on
#: the mean of the token vectors (:mod:`stance.models.pooling`), what sentence-embedding encoders learnt.
Pooling = Literal["cls", "mean"]
POOLINGS: tuple[str, ...] = get_args(Pooling)

class TransformerClassifier(Classifier):
    """A sequence-classification head on a pretrained encoder, fine-tuned end to end."""

    kind = "transformer"
    calibratable = True
    distillable = True

    def __init__(self, labels: Sequence[str], model_name: str, *, max_length: int, pooling: Pooling,
                 training: FineTuning | None = None, predict_batch_size: int | None = None) -> None:
        """``training`` is required to :meth:`fit` (a model loaded for prediction has none);
        ``predict_batch_size`` defaults to ``training.eval_batch_size``."""
        super().__init__(labels)
        self.model_name = model_name
        self.max_length = max_length
        if pooling not in POOLINGS:
            raise ModelError(f"unknown pooling {pooling!r}", hint=f"use one of {', '.join(POOLINGS)}")
        self.pooling = pooling
        if training is not None and training.head_init not in HEAD_INITS:
            raise ModelError(f"unknown head_init {training.head_init!r}", hint=f"use one of {', '.join(HEAD_INITS)}")
        if training is not None:
            check_training_precision(training.precision)  # when the run starts, not after loading the weights
        self.training = training
        if predict_batch_size is None and training is None:
            raise ModelError("a transformer needs its training settings or a prediction batch size")
        self.eval_batch_size = predict_batch_size or training.eval_batch_size
        self.checkpoint_dir: Path | None = None
        self.resume_from: Path | None = None
        self.progress = False
        self.model: Any = None
        self.tokenizer: Any = None
        # Inference settings; prepare_inference changes them (training and evaluation keep fp32).
        self.precision = "fp32"
        self.max_tokens: int | None = None
        self._converted: str | None = None  # the precision prepare_inference rewrote the model to
        self._compiled: Any = None  # the model under torch.compile, once prepare_inference(compile=True) made it

    def show_progress(self, on: bool = True) -> None:
        self.progress = on

    def keep_checkpoints(self, folder: Path | None, resume_from: Path | None = None) -> None:
        self.checkpoint_dir = folder
        self.resume_from = resume_from

    # ------------------------------------------------------------------------------------------
    # Training

    def _load_pretrained(self) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        source = resolve_pretrained(self.model_name)
        id2label, label2id = label_maps(self.labels)
        try:
            # trust_remote_code=False, said explicitly: left unset, transformers would ask on the
            # terminal whether to run a model folder's own Python code.
            self.tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
            if self.pooling == "mean":
                from stance.models.pooling import MeanPoolingForSequenceClassification

                self.model = MeanPoolingForSequenceClassification.from_encoder(
                    source, id2label=id2label, label2id=label2id)
                return
            self.model = AutoModelForSequenceClassification.from_pretrained(
                source,
                num_labels=len(self.labels),
                id2label=id2label,
                label2id=label2id,
                use_safetensors=True,
                trust_remote_code=False,
            )
        except (OSError, ValueError) as err:  # ValueError: e.g. a folder that needs trust_remote_code
            raise load_error(self.model_name, err) from None

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

    def fit(self, train_x, train_y, dev_x=None, dev_y=None, *, seed: int = 0,
            teacher: TeacherTargets | None = None) -> list[dict[str, Any]]:
        """Fine-tune on ``train`` (selecting the epoch on dev macro-F1); with ``teacher``, distil: fit
        the teacher's probabilities for each train input (:mod:`stance.models.distillation`), where
        ``train_y`` may hold ``None`` for inputs only the teacher labelled."""
        from transformers import DataCollatorWithPadding, PrinterCallback, Trainer

        from stance.evaluate import classification_metrics

        if self.training is None:
            raise ModelError("this transformer was loaded for prediction: build it from a config to train it")
        settings = self.training
        self.temperature = 1.0  # a temperature fitted to old weights would not fit the new ones
        set_seed(seed)
        self._load_pretrained()
        if settings.head_init == "linear_probe":
            self._linear_probe(train_x, train_y if teacher is None else [self.labels[i] for i in teacher.proba.argmax(1)])
        if teacher is None:
            train_ds = self._encode(train_x, train_y)
            dev_ds = self._encode(dev_x, dev_y) if dev_x is not None and dev_y is not None else None
        else:
            _, label2id = label_maps(self.labels)
            train_ds = self._encode(train_x).add_column(
                "labels", teacher.packed([None if y is None else label2id[y] for y in train_y]))
            dev_ds = None if dev_x is None or dev_y is None else self._encode(dev_x).add_column(
                "labels", one_hot_packed([label2id[y] for y in dev_y], len(self.labels)))
        work = self.checkpoint_dir or Path(tempfile.mkdtemp(prefix="stance-ckpt-"))
        has_dev = dev_ds is not None
        args = training_arguments(settings, work, seed=seed, has_dev=has_dev)
        labels = self.labels

        def compute_metrics(prediction) -> dict[str, float]:
            logits, gold = prediction.predictions, gold_of(prediction.label_ids)
            predicted = logits.argmax(axis=-1)
            metrics = classification_metrics([labels[i] for i in gold], [labels[i] for i in predicted], labels)
            return {"macro_f1": metrics["macro_f1"], "accuracy": metrics["accuracy"]}

        loss_func = weighted_loss(self.labels, train_y) if settings.class_weights else None
        if teacher is not None:
            loss_func = distillation_loss(teacher.temperature, teacher.hard_weight)
        callbacks = [rich_progress()] if self.progress else []
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
            optimizer_cls_and_kwargs=(head_learning_rate_optimizer(self.model, args, settings)
                                      if settings.head_learning_rate else None),
        )
        # The Trainer prints every log dict when tqdm is off; the history is kept in history.csv.
        trainer.remove_callback(PrinterCallback)
        try:
            trainer.train(resume_from_checkpoint=str(self.resume_from) if self.resume_from else None)
        except pickle.UnpicklingError as err:
            # The Trainer reads optimizer, scheduler and RNG states with torch's weights-only loader,
            # which refuses anything but tensors and plain containers: a planted pickle ends here.
            if self.resume_from is None:
                raise
            raise ModelError(
                f"{self.resume_from}: refused to load a checkpoint file that holds more than tensors "
                f"({(str(err).splitlines() or ['UnpicklingError'])[0]})",
                hint="delete that checkpoint folder to resume from an earlier one, or start a new run",
            ) from None
        # Under bf16 the Trainer (accelerate) wrapped the model's forward in autocast for good: unwrap
        # it, so that the run's evaluations and predictions after training run in fp32 as a reloaded model does.
        self.model = trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False).eval()
        self._compiled = None  # a compiled graph of the old weights would be stale
        history = list(trainer.state.log_history)
        if self.checkpoint_dir is None:
            shutil.rmtree(work, ignore_errors=True)
        return history

    # ------------------------------------------------------------------------------------------
    # Prediction

    def prepare_inference(self, precision: Precision = "fp32", *, device: str = "auto", batch_size: int | None = None,
                          max_tokens: int | None = None, compile: bool = False) -> Precision:
        """Set how :meth:`predict_proba` runs from now on; returns the precision in effect.

        ``device``: ``auto`` (the GPU when torch sees one, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``.
        ``precision``: ``fp32`` (exact); ``bf16`` (weights and activations cast to bfloat16: on a CPU
        only with AMX or AVX-512 BF16, where it is faster; on GPUs that support it); ``fp16`` (cast to
        float16, GPUs only); ``int8`` (dynamic quantisation of the encoder's linear layers, CPUs only, see
        :func:`~stance.models.inference.quantize_int8`). A precision the device does not run well falls back to
        fp32 with a :class:`~stance.models.inference.PrecisionWarning`. ``batch_size`` caps the statements per forward pass, ``max_tokens``
        the padded tokens (statements × longest) of a batch. bf16, fp16 and int8 rewrite the model in
        place: load it again for another precision. ``compile`` runs the model under
        :func:`~stance.models.inference.compile_model` (where it cannot, a
        :class:`~stance.models.inference.CompileWarning` and eager execution).
        """
        if self.model is None:
            raise ModelError("the transformer has not been trained or loaded")
        target = resolve_device(device)
        precision = convert_model(self.model, precision, target, self._converted)
        if precision != "fp32":
            self._converted = precision
        self.precision = precision
        if compile and self._compiled is None:
            # self.model stays the plain module, to save or train
            self._compiled = compiled_or_none(self.model, precision, target)
        if batch_size is not None:
            self.eval_batch_size = batch_size
        self.max_tokens = max_tokens
        return precision

    def inference_device(self) -> str:
        if self.model is None:
            return "cpu"
        return str(next(self.model.parameters()).device)

    @property
    def compiled(self) -> bool:
        """Whether prediction runs under torch.compile (``prepare_inference(compile=True)`` where it can)."""
        return self._compiled is not None

    def predict_proba(self, x: TextInputs, batch_size: int | None = None) -> np.ndarray:
        import torch

        if self.model is None:
            raise ModelError("the transformer has not been trained or loaded")
        batch_size = batch_size or self.eval_batch_size
        if len(x) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float64)
        out = np.zeros((len(x), len(self.labels)), dtype=np.float64)
        for index, logits in self._forward(x, batch_size):
            # Temperature scaling happens here, the one place every consumer's probabilities come from.
            out[index] = torch.softmax(logits.double() / self.temperature, dim=-1).cpu().numpy()
        return out

    def _forward(self, x: TextInputs, batch_size: int):
        """Yield ``(row indices, logits)`` batch by batch, for every input of ``x``."""
        import torch

        device = next(self.model.parameters()).device
        model = self.model if self._compiled is None else self._compiled
        pairs = (x.requests, x.texts) if x.requests is not None else (x.texts,)
        # One tokenizer call for everything (the fast tokenizer spreads it over threads); then
        # batches of similar token counts, each padded only to its longest, waste little arithmetic.
        encoded = self.tokenizer(*pairs, truncation=True, max_length=self.max_length)
        lengths = np.array([len(ids) for ids in encoded["input_ids"]])
        with torch.inference_mode():
            for index in token_batches(lengths, batch_size, self.max_tokens):
                batch = pad_batch(encoded, index, self.tokenizer)
                if "attention_mask" in batch and bool(batch["attention_mask"].all()):
                    # No padding (common once batches are sorted by length): without a mask the model
                    # skips building one and attention takes its unmasked kernel.
                    del batch["attention_mask"]
                yield index, model(**{k: v.to(device) for k, v in batch.items()}).logits

    def head_features(self, x: TextInputs) -> np.ndarray:
        """What the classification layer reads for each input (the pooled vector), in the current weights."""
        import torch

        if self.model is None:
            raise ModelError("the transformer has not been trained or loaded")
        if not isinstance(getattr(self.model, "classifier", None), torch.nn.Linear):
            # RoBERTa and MPNet put a dense layer before the output: no single layer reads the pooled vector.
            raise ModelError(f"{type(self.model).__name__}'s classification head is more than one linear layer, so "
                             "it has no features to fit a linear probe on",
                             hint="use model.params.pooling=mean (one linear layer on the mean of the tokens) or "
                                  "train.head_init=random")
        captured: list = []
        hook = self.model.classifier.register_forward_pre_hook(lambda module, args: captured.append(args[0]))
        was_training = self.model.training
        self.model.eval()  # no dropout: the features the layer would see at prediction time
        try:
            features = np.zeros((len(x), self.model.classifier.in_features), dtype=np.float32)
            for index, _ in self._forward(x, self.eval_batch_size):
                features[index] = captured.pop().float().cpu().numpy()
        finally:
            hook.remove()
            self.model.train(was_training)
        return features

    def _linear_probe(self, train_x: TextInputs, train_y: Sequence[str]) -> None:
        """LP-FT's first step (Kumar et al., 2022): fit the classification layer alone, as a logistic
        regression on the frozen pretrained encoder's pooled features, so that fine-tuning starts from
        a head that already fits instead of a random one whose early gradients reshape the encoder."""
        import torch
        from sklearn.linear_model import LogisticRegression

        _, label2id = label_maps(self.labels)
        targets = np.array([label2id[label] for label in train_y])
        probe = LogisticRegression(max_iter=5000).fit(self.head_features(train_x), targets)
        weight = np.zeros((len(self.labels), probe.coef_.shape[1]), dtype=np.float32)
        bias = np.zeros(len(self.labels), dtype=np.float32)
        # sklearn orders its rows by the classes it saw (all of them, on any real split).
        weight[probe.classes_] = probe.coef_
        bias[probe.classes_] = probe.intercept_
        with torch.no_grad():
            self.model.classifier.weight.copy_(torch.from_numpy(weight))
            self.model.classifier.bias.copy_(torch.from_numpy(bias))

    def count_truncated(self, x: TextInputs) -> int:
        """How many inputs have more than ``max_length`` tokens, and so are cut before the model."""
        if self.tokenizer is None:
            raise ModelError("the transformer has not been trained or loaded")
        return int(truncated_mask(self.tokenizer, x, self.max_length).sum())

    # ------------------------------------------------------------------------------------------
    # Saving

    def save(self, path: Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        self.write_card(path, base_model=self.model_name, max_length=self.max_length, pooling=self.pooling,
                        eval_batch_size=self.eval_batch_size, temperature=self.temperature)

    @classmethod
    def load(cls, path: Path) -> TransformerClassifier:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        import stance.models.pooling  # noqa: F401  (registers the mean-pooling model type with the Auto classes)

        path = Path(path)
        card = read_card(path)
        if not (path / "model.safetensors").is_file():
            raise ModelError(f"{path} holds no model.safetensors", hint="only safetensors weights are loaded")
        # Cards written before they recorded eval_batch_size and pooling: the values every run then used.
        model = cls(card["labels"], card.get("base_model", "default"), max_length=card.get("max_length", 128),
                    pooling=card.get("pooling", "cls"), predict_batch_size=card.get("eval_batch_size", 64))
        model.temperature = card_temperature(card, path)  # cards written before calibration: 1.0, none
        model.tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
        model.model = AutoModelForSequenceClassification.from_pretrained(
            path, use_safetensors=True, trust_remote_code=False).eval()
        return model


def truncated_mask(tokenizer: Any, x: TextInputs, max_length: int) -> np.ndarray:
    """Which inputs are longer than ``max_length`` tokens (special tokens included) and get truncated."""
    pairs = (x.requests, x.texts) if x.requests is not None else (x.texts,)
    encoded = tokenizer(*pairs, truncation=False, verbose=False)  # verbose: no warning per long text
    return np.array([len(ids) > max_length for ids in encoded["input_ids"]], dtype=bool)


def truncated_statements(frame, model_name: str = "default", max_length: int = 128, mode: str = "text") -> np.ndarray:
    """Which statements of ``frame`` the tokenizer of ``model_name`` cuts at ``max_length`` tokens.

    What ``stance data stats`` reports before any training: the same count the evaluation
    summary shows as ``truncated``.
    """
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(resolve_pretrained(model_name), trust_remote_code=False)
    except (OSError, ValueError) as err:
        raise load_error(model_name, err) from None
    return truncated_mask(tokenizer, TextInputs.from_frame(frame, mode), max_length)


class TransformerParams(BaseModel):
    """``model.params`` of the ``transformer`` model (the encoder is ``model.name``)."""

    model_config = ConfigDict(extra="forbid")

    pooling: Pooling = Field(
        "cls",
        description="cls: the architecture's own classification head on the first token ([CLS]); mean: a linear "
        "layer on the mean of the token vectors, the representation sentence-embedding encoders such as the "
        "packaged MiniLM were trained for (tried in configs/sweeps/pooling.yaml; the default keeps cls).",
    )


def _register() -> None:
    from stance.models.base import register_model

    @register_model(
        "transformer",
        loader=TransformerClassifier.load,
        params=TransformerParams,
        description="Fine-tuned Hugging Face encoder (model.name: default = packaged all-MiniLM-L6-v2; "
                    "model.params.pooling: cls or mean).",
    )
    def build_transformer(config) -> TransformerClassifier:
        params = TransformerParams.model_validate(config.model.params)
        train = config.train
        return TransformerClassifier(
            config.data.labels,
            config.model.name,
            max_length=config.input.max_length,
            pooling=params.pooling,
            training=FineTuning(**{f.name: getattr(train, f.name) for f in fields(FineTuning)}),
        )


_register()
