"""Fine-tuned transformer classifier: any Hugging Face encoder behind the toolkit's interface.

Training goes through the transformers ``Trainer`` (dynamic padding, seeded, optional
length-grouped batches, model selection on dev macro-F1); prediction is a plain loop under
``torch.inference_mode`` over batches of statements sorted by token count and padded only to the
longest in their batch, optionally in a lower precision (:meth:`TransformerClassifier.prepare_inference`:
the model cast to bf16 where the hardware has bf16 matmul, to fp16 on GPUs, or dynamically quantised
to int8 on CPUs).
The saved folder is an ordinary Hugging Face model folder (safetensors, tokenizer, ``id2label``), so
``transformers.pipeline`` can read it too, plus the stance model card.
"""

from __future__ import annotations

import pickle  # only for pickle.UnpicklingError: nothing here unpickles
import re
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from stance.config import HeadInit
from stance.errors import ModelError
from stance.labels import label_maps
from stance.models.base import Classifier, TextInputs, read_card
from stance.models.pretrained import load_error, resolve_pretrained
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
        head_learning_rate: float | None = None,
        head_init: str = "random",
        epochs: float = 3,
        batch_size: int = 16,
        eval_batch_size: int = 64,
        weight_decay: float = 0.01,
        warmup_ratio: float = 0.1,
        class_weights: bool = False,
        group_by_length: bool = True,
        pooling: str = "cls",
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
        self.head_learning_rate = head_learning_rate
        if head_init not in HEAD_INITS:
            raise ModelError(f"unknown head_init {head_init!r}", hint=f"use one of {', '.join(HEAD_INITS)}")
        self.head_init = head_init
        self.epochs = epochs
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.class_weights = class_weights
        self.group_by_length = group_by_length
        if pooling not in POOLINGS:
            raise ModelError(f"unknown pooling {pooling!r}", hint=f"use one of {', '.join(POOLINGS)}")
        self.pooling = pooling
        self.logging_steps = logging_steps
        self.max_steps = max_steps
        self.checkpoint_dir = checkpoint_dir
        self.resume_from = resume_from
        self.progress = progress
        self.model: Any = None
        self.tokenizer: Any = None
        # Inference settings; prepare_inference changes them (training and evaluation keep fp32).
        self.precision = "fp32"
        self.max_tokens: int | None = None
        self._compiled: Any = None  # the model under torch.compile, once prepare_inference(compile=True) made it

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

    def fit(self, train_x, train_y, dev_x=None, dev_y=None, *, seed: int = 0) -> list[dict[str, Any]]:
        import torch
        from transformers import DataCollatorWithPadding, PrinterCallback, Trainer, TrainingArguments

        from stance.evaluate import classification_metrics

        set_seed(seed)
        self._load_pretrained()
        if self.head_init == "linear_probe":
            self._linear_probe(train_x, train_y)
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
            # A checkpoint every epoch, dev set or not, so that `stance train --resume` can continue
            # a killed run; with dev, the best one is kept beside the latest.
            save_strategy="epoch",
            load_best_model_at_end=has_dev,
            metric_for_best_model="macro_f1" if has_dev else None,
            greater_is_better=True if has_dev else None,
            save_total_limit=2 if has_dev else 1,
            logging_steps=self.logging_steps,
            seed=seed,
            data_seed=seed,
            train_sampling_strategy="group_by_length" if self.group_by_length else "random",
            length_column_name="length",
            report_to="none",
            disable_tqdm=True,
            dataloader_num_workers=0,
            dataloader_pin_memory=False,
            # Under torchrun (DDP) every parameter gets a gradient: no search for unused ones each step.
            ddp_find_unused_parameters=False,
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
            optimizer_cls_and_kwargs=self._optimizer(args) if self.head_learning_rate else None,
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
        self.model = trainer.model.eval()
        self._compiled = None  # a compiled graph of the old weights would be stale
        history = list(trainer.state.log_history)
        if self.checkpoint_dir is None:
            shutil.rmtree(work, ignore_errors=True)
        return history

    def _optimizer(self, args) -> tuple[type, dict[str, Any]]:
        """AdamW as the Trainer builds it (no weight decay on biases and norms), but the head's
        parameters, everything outside the pretrained ``base_model``, at ``head_learning_rate``."""
        import torch
        from transformers import Trainer

        decay = set(Trainer.get_decay_parameter_names(None, self.model))
        encoder = {id(p) for p in self.model.base_model.parameters()}
        groups: dict[tuple[bool, bool], list] = {}
        for name, parameter in self.model.named_parameters():
            if parameter.requires_grad:
                groups.setdefault((id(parameter) not in encoder, name in decay), []).append(parameter)
        param_groups = [
            {"params": params, "weight_decay": args.weight_decay if decays else 0.0,
             **({"lr": self.head_learning_rate} if head else {})}
            for (head, decays), params in sorted(groups.items())
        ]
        return torch.optim.AdamW, {"params": param_groups, "lr": self.learning_rate,
                                   "betas": (args.adam_beta1, args.adam_beta2), "eps": args.adam_epsilon}

    def _weighted_loss(self, train_y: Sequence[str]):
        import torch

        counts = np.array([max(1, list(train_y).count(label)) for label in self.labels], dtype=np.float64)
        weights = torch.tensor(counts.sum() / (len(counts) * counts), dtype=torch.float32)

        def loss(outputs, labels, num_items_in_batch=None):
            return torch.nn.functional.cross_entropy(outputs.logits, labels, weight=weights.to(outputs.logits.device))

        return loss

    # ------------------------------------------------------------------------------------------
    # Prediction

    def prepare_inference(self, precision: str = "fp32", *, device: str = "auto", batch_size: int | None = None,
                          max_tokens: int | None = None, compile: bool = False) -> str:
        """Set how :meth:`predict_proba` runs from now on; returns the precision in effect.

        ``device``: ``auto`` (the GPU when torch sees one, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``.
        ``precision``: ``fp32`` (exact); ``bf16`` (weights and activations cast to bfloat16: on a CPU
        only with AMX or AVX-512 BF16, where it is faster; on GPUs that support it); ``fp16`` (cast to
        float16, GPUs only); ``int8`` (dynamic quantisation of the encoder's linear layers, CPUs only, see
        :func:`quantize_int8`). A precision the device does not run well falls back to fp32 with a
        :class:`PrecisionWarning`. ``batch_size`` caps the statements per forward pass, ``max_tokens``
        the padded tokens (statements × longest) of a batch. bf16, fp16 and int8 rewrite the model in
        place: load it again for another precision. ``compile`` runs the model under
        :func:`compile_model` (where it cannot, a :class:`CompileWarning` and eager execution).
        """
        import torch

        if self.model is None:
            raise ModelError("the transformer has not been trained or loaded")
        if precision not in PRECISIONS:
            raise ModelError(f"unknown precision {precision!r}", hint=f"use one of {', '.join(PRECISIONS)}")
        converted = getattr(self, "_converted", None)
        if converted is not None and precision != converted:
            raise ModelError(f"this model was converted to {converted}", hint="load it again for another precision")
        target = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device)
        if target.type == "cuda" and not torch.cuda.is_available():
            raise ModelError(f"device {device!r} asked for, but torch sees no GPU", hint="use --device auto or cpu")
        reason = unsupported_precision(precision, target)
        if reason:
            warnings.warn(f"{reason}; predicting in fp32", PrecisionWarning, stacklevel=2)
            precision = "fp32"
        self.model.to(target)
        if precision != "fp32" and converted is None:
            if precision == "int8":
                quantize_int8(self.model)
            else:
                # The whole model in the low precision, not autocast: autocast keeps fp32 weights and
                # recasts them at every matmul, and runs layer norms, GELU and softmax in fp32. Cast once,
                # MiniLM predicts 1.4x faster than under autocast on an AMX CPU, with 99.7% of the test
                # labels of fp32 (benchmarks/README.md).
                self.model.to(torch.bfloat16 if precision == "bf16" else torch.float16)
            self._converted = precision
        self.precision = precision
        if compile and self._compiled is None:
            reason = unsupported_compile(precision, target)
            if reason:
                warnings.warn(f"{reason}; predicting without torch.compile", CompileWarning, stacklevel=2)
            else:
                self._compiled = compile_model(self.model)  # self.model stays the plain module, to save or train
        if batch_size is not None:
            self.eval_batch_size = batch_size
        self.max_tokens = max_tokens
        return precision

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
            out[index] = torch.softmax(logits.double(), dim=-1).cpu().numpy()
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
        if self.model is None:
            raise ModelError("the transformer has not been trained or loaded")
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
        self.write_card(path, base_model=self.model_name, max_length=self.max_length, pooling=self.pooling)

    @classmethod
    def load(cls, path: Path) -> TransformerClassifier:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        import stance.models.pooling  # noqa: F401  (registers the mean-pooling model type with the Auto classes)

        path = Path(path)
        card = read_card(path)
        if not (path / "model.safetensors").is_file():
            raise ModelError(f"{path} holds no model.safetensors", hint="only safetensors weights are loaded")
        model = cls(card["labels"], card.get("base_model", "default"), max_length=card.get("max_length", 128),
                    pooling=card.get("pooling", "cls"))
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


# ----------------------------------------------------------------------------------------------
# Fast prediction: batches, padding, precision

#: How the classification head reads the encoder (``model.params.pooling``): ``cls``, the
#: architecture's own sequence-classification head on the first token; ``mean``, a linear layer on
#: the mean of the token vectors (:mod:`stance.models.pooling`), what sentence-embedding encoders learnt.
Pooling = Literal["cls", "mean"]
POOLINGS: tuple[str, ...] = get_args(Pooling)

#: How the classification layer starts fine-tuning (``train.head_init``, whose type the config owns):
#: ``random``, the architecture's own initialisation; ``linear_probe``, fitted first on the frozen
#: encoder's features (LP-FT).
HEAD_INITS: tuple[str, ...] = get_args(HeadInit)

#: Precisions prediction can run in (``predict.precision`` in a config, ``stance predict --precision``).
PRECISIONS = ("fp32", "bf16", "fp16", "int8")


class FallbackWarning(UserWarning):
    """A fast path was asked for that this machine cannot take; prediction goes on without it."""


class PrecisionWarning(FallbackWarning):
    """A precision was asked for that this device does not run well; fp32 is used instead."""


class CompileWarning(FallbackWarning):
    """``compile`` was asked for where torch.compile cannot run; the model runs eagerly."""


def token_batches(lengths: Sequence[int], batch_size: int, max_tokens: int | None = None) -> list[np.ndarray]:
    """Indices of ``lengths`` in batches of similar length, shortest first.

    A batch holds at most ``batch_size`` inputs and, with ``max_tokens``, at most that many padded
    tokens (inputs × the longest among them); an input longer than ``max_tokens`` gets a batch of
    its own. Ties keep input order, so the batches are the same on every run.
    """
    order = np.argsort(np.asarray(lengths), kind="stable")
    batches, current, longest = [], [], 0
    for i in order:
        longest_if_added = max(longest, int(lengths[i]))
        full = len(current) >= batch_size or (
            max_tokens is not None and (len(current) + 1) * longest_if_added > max_tokens
        )
        if current and full:
            batches.append(np.array(current))
            current, longest_if_added = [], int(lengths[i])
        current.append(i)
        longest = longest_if_added
    if current:
        batches.append(np.array(current))
    return batches


def pad_batch(encoded: Any, index: Sequence[int], tokenizer: Any) -> dict[str, Any]:
    """The rows ``index`` of an unpadded tokenizer output, padded to their longest, as tensors."""
    import torch

    rows = {key: [encoded[key][i] for i in index] for key in encoded.keys()}
    width = max(len(ids) for ids in rows["input_ids"])
    fill = {"input_ids": tokenizer.pad_token_id or 0, "token_type_ids": getattr(tokenizer, "pad_token_type_id", 0)}
    left = getattr(tokenizer, "padding_side", "right") == "left"
    batch = {}
    for key, values in rows.items():
        array = np.full((len(values), width), fill.get(key, 0), dtype=np.int64)
        for row, ids in enumerate(values):
            if left:
                array[row, width - len(ids):] = ids
            else:
                array[row, : len(ids)] = ids
        batch[key] = torch.from_numpy(array)
    return batch


def cpu_flags() -> set[str] | None:
    """The CPU feature flags of /proc/cpuinfo (Linux), or None where there is no such file."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        return None
    return None


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AMX or AVX-512 BF16).

    Elsewhere torch emulates bf16 matmul, several times slower than fp32 (about 5x on an AVX2 CPU).
    """
    flags = cpu_flags()
    if flags is not None:
        return bool(flags & {"amx_bf16", "avx512_bf16"})
    import torch

    checks = [getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")]
    return any(check() for check in checks if check is not None)


def unsupported_precision(precision: str, device: Any) -> str | None:
    """Why ``precision`` should not run on ``device`` (a torch.device), or None when it can."""
    import torch

    if device.type == "cuda":
        if precision == "int8":
            return "int8 is dynamic quantisation for CPUs"
        if precision == "bf16" and not torch.cuda.is_bf16_supported():
            return "this GPU has no bf16"
        return None
    if precision == "fp16":
        return "fp16 runs on GPUs only"
    if precision == "bf16" and not cpu_has_fast_bf16():
        return "this CPU has no native bf16 matmul (AMX or AVX-512 BF16), where bf16 is slower than fp32"
    if precision == "int8" and "x86" not in torch.backends.quantized.supported_engines and \
            "qnnpack" not in torch.backends.quantized.supported_engines:
        return "this torch has no quantised CPU kernels"
    return None


def unsupported_compile(precision: str, device: Any) -> str | None:
    """Why :func:`compile_model` should not run for ``precision`` on ``device``, or None when it can."""
    if precision == "int8":
        return "int8's quantised layers split the compiled graph, which gained 1.07x when measured"
    if device.type == "cuda":
        from torch.utils._triton import has_triton

        return None if has_triton() else "torch.compile needs triton on GPUs, and this torch has none"
    from torch._inductor import cpp_builder, exc

    try:
        cpp_builder.get_cpp_compiler()
    except exc.InvalidCxxCompiler:
        return "torch.compile needs a C++ compiler on CPUs (g++ or clang++, or $CXX), and none was found"
    return None


def compile_model(model: Any) -> Any:
    """``model`` under ``torch.compile`` (inductor) for inference: shapes dynamic, so batches of any
    size and length share one compiled graph, and weights frozen as constants, so inductor folds and
    prepacks them. The first batches pay for compiling (about half a minute for MiniLM on two cores);
    after that, on an AMX CPU, fp32 runs about 1.1x and bf16 1.7x faster than eagerly
    (benchmarks/README.md, (e)). Only for inference: frozen weights do not train."""
    import torch

    return torch.compile(model, dynamic=True, options={"freezing": True})


#: A linear layer inside a numbered encoder layer (BERT ``encoder.layer.3.``, others ``layers.3.``).
_ENCODER_LAYER = re.compile(r"(^|\.)layers?\.\d+\.")


def quantize_int8(model: Any) -> list[str]:
    """Quantise the encoder's linear layers to int8 in place; returns their names.

    Dynamic quantisation (``torch.ao.quantization.quantize_dynamic``): weights to int8 per output
    channel once, activations per batch at run time. The feed-forward down-projections (input
    width ``intermediate_size``) stay fp32: their inputs, after GELU, have the widest range, and
    quantising them cost most of the label agreement with fp32 when we checked (a fine-tuned
    MiniLM on 600 corpus statements: 98.2% agreement with them, 99.3% without). The pooler and the
    classification head stay fp32 too; they run once per statement, not once per token.

    On a CPU with AMX the layers are packed for oneDNN's kernels (:func:`int8_engine`); the
    process-wide ``torch.backends.quantized.engine`` is left as it was.

    torch marks ``torch.ao.quantization`` deprecated in favour of torchao, but torchao's int8 path
    runs slowly on CPUs in eager mode; torch 2.13 still ships the eager API, whose deprecation
    warnings are silenced here. Should a later torch drop it, int8 becomes a :class:`ModelError`.
    """
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        try:
            from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
        except ImportError:
            raise ModelError(
                f"int8 prediction needs torch.ao.quantization.quantize_dynamic, which torch {torch.__version__} lacks",
                hint="use --precision fp32, or bf16 on a CPU with AMX",
            ) from None
        config = getattr(model, "config", None)
        config = getattr(config, "encoder", None) or config  # the mean-pooling model nests its encoder's
        wide = getattr(config, "intermediate_size", None) or getattr(config, "hidden_dim", None)
        names = [name for name, module in model.named_modules()
                 if isinstance(module, torch.nn.Linear) and _ENCODER_LAYER.search(name) and module.in_features != wide]
        engine = int8_engine()
        previous, torch.backends.quantized.engine = torch.backends.quantized.engine, engine
        try:
            # Each layer packs its weights for the engine set now and keeps using that engine's
            # kernels after the process-wide setting is restored.
            quantize_dynamic(model, {name: per_channel_dynamic_qconfig for name in names}, dtype=torch.qint8,
                             inplace=True)
        finally:
            torch.backends.quantized.engine = previous
    return names


def int8_engine() -> str:
    """The quantised-kernel engine :func:`quantize_int8` packs for: ``onednn`` on CPUs with AMX,
    whose int8 tiles oneDNN uses (MiniLM's int8 prediction 1.12x faster than under torch's default
    ``x86`` engine, 1.31x with every layer quantised; ``benchmarks/int8_layers.py --engines``),
    elsewhere torch's default."""
    import torch

    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
    if amx is not None and amx() and "onednn" in torch.backends.quantized.supported_engines:
        return "onednn"
    return torch.backends.quantized.engine


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
            learning_rate=train.learning_rate,
            head_learning_rate=train.head_learning_rate,
            head_init=train.head_init,
            epochs=train.epochs,
            batch_size=train.batch_size,
            eval_batch_size=train.eval_batch_size,
            weight_decay=train.weight_decay,
            warmup_ratio=train.warmup_ratio,
            class_weights=train.class_weights,
            group_by_length=train.group_by_length,
            logging_steps=train.logging_steps,
            max_steps=train.max_steps,
            pooling=params.pooling,
        )


_register()
