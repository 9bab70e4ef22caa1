"""A transformer classifier exported to ONNX and run by ONNX Runtime, in fp32 or static int8.

:func:`export_onnx` writes a loaded :class:`~stance.models.transformer.TransformerClassifier`
(encoder and classification head, one graph from token ids to logits) with the TorchScript-based
``torch.onnx`` exporter, then fuses it for ONNX Runtime's CPU kernels (attention, layer norm, GELU).
:func:`quantize_static_int8` turns such an export into static int8: weights per channel, activation
scales calibrated on statements the caller passes (the run's training statements,
:mod:`stance.serving`). :class:`OnnxClassifier` predicts from either folder as the torch model does:
one tokenizer call, length-sorted batches padded to their longest, softmax in float64.

An export folder holds ``model.onnx``, the tokenizer and a ``stance_model.json`` card of kind
``onnx`` (labels, max_length, the input mode, the quantisation), so it is read without the run.
onnx and onnxruntime are the optional extra ``onnx`` (``pip install 'stance[onnx]'``).
"""

from __future__ import annotations

import logging
import shutil
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from stance.errors import ModelError
from stance.models.base import Classifier, TextInputs, read_card
from stance.models.inference import CompileWarning, PrecisionWarning, token_batches

#: The graph's file inside an export folder.
ONNX_FILE = "model.onnx"
#: The card's ``kind`` for an export folder.
KIND = "onnx"
#: Quantisations an export can carry (``None``: fp32).
QUANTIZATIONS: tuple[str, ...] = ("int8",)
#: ONNX opset the exporter writes (ONNX Runtime 1.17 and later run it).
OPSET = 17
#: Statements per ONNX Runtime call unless the caller sets one: on a 2-core EPYC (AVX2) batches of 16
#: ran 5-10% faster than 64 (their activations stay in the per-core L2 cache), and sorted by length
#: they carry almost no padding either way (benchmarks/README.md, (f)).
BATCH_SIZE = 16


def require_onnxruntime() -> Any:
    """The onnxruntime module, or a ModelError saying how to install it."""
    try:
        import onnxruntime
    except ImportError:
        raise ModelError("ONNX export and the onnxruntime engine need onnx and onnxruntime",
                         hint="pip install 'stance[onnx]'") from None
    onnxruntime.set_default_logger_severity(3)  # errors only: its notes on pruned initializers are not ours to show
    return onnxruntime


class _Logits:
    """Wraps a Hugging Face sequence classifier so that the exported graph maps named id tensors to logits."""

    def __new__(cls, model: Any, names: Sequence[str]):
        import torch

        class Logits(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, *tensors):
                return self.model(**dict(zip(names, tensors, strict=True))).logits

        return Logits().eval()


def export_onnx(classifier: Any, folder: Path, *, input_mode: str, extra: dict[str, Any] | None = None) -> Path:
    """Write ``classifier`` (a loaded transformer, fp32) to ``folder`` as ``model.onnx``, tokenizer and card.

    The graph takes ``input_ids``, ``attention_mask`` and (where the tokenizer makes them)
    ``token_type_ids`` with dynamic batch and sequence axes, and returns the logits. ``extra``
    goes into the card (provenance: the source run, versions).
    """
    require_onnxruntime()
    import torch

    if classifier.model is None or classifier.tokenizer is None:
        raise ModelError("only a trained transformer can be exported to ONNX")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer, model = classifier.tokenizer, classifier.model
    sample = tokenizer(["an example statement to trace", "a second one"], ["the request", "it answers"],
                       padding=True, return_tensors="pt")
    names = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in sample]
    was_training = model.training
    model.eval()
    raw = folder / "model.raw.onnx"
    # Traced with the eager attention, whose graph ONNX Runtime's fuser recognises (one Attention op
    # per layer); the SDPA path's mask arithmetic hides it. Put back afterwards.
    attention = getattr(model.config, "_attn_implementation", None)
    _set_attention(model, "eager")
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # the tracer's notes about Python values in the graph
            torch.onnx.export(
                _Logits(model, names), tuple(sample[name] for name in names), str(raw),
                input_names=names, output_names=["logits"], opset_version=OPSET, dynamo=False,
                dynamic_axes={**{name: {0: "batch", 1: "sequence"} for name in names}, "logits": {0: "batch"}},
            )
        _optimize(raw, folder / ONNX_FILE, model.config)
    finally:
        model.train(was_training)
        if attention:
            _set_attention(model, attention)
        raw.unlink(missing_ok=True)
    tokenizer.save_pretrained(folder)
    classifier.write_card(folder, kind=KIND, onnx=ONNX_FILE, inputs=names, max_length=classifier.max_length,
                          input_mode=input_mode, eval_batch_size=BATCH_SIZE, quantization=None,
                          opset=OPSET, **(extra or {}))
    return folder


def _set_attention(model: Any, implementation: str) -> None:
    try:
        model.set_attn_implementation(implementation)
    except (AttributeError, ValueError, ImportError):
        pass  # an architecture with one attention path: export it as it is


def _optimize(source: Path, target: Path, config: Any) -> None:
    """Fuse the exported BERT-style graph for ONNX Runtime (attention, skip layer norm, GELU), once,
    offline, so that every session loads the fused graph; a graph the fuser does not know is kept as it is."""
    import onnx

    encoder = getattr(config, "encoder", config)  # the mean-pooling model nests its encoder's config
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            optimized = optimize_model(str(source), model_type="bert", num_heads=encoder.num_attention_heads,
                                       hidden_size=encoder.hidden_size, opt_level=1)
        optimized.save_model_to_file(str(target))
    except (ImportError, AttributeError, ValueError, RuntimeError):
        onnx.save(onnx.load(str(source)), str(target))


class FastTokenizer:
    """An export's ``tokenizer.json`` run by the ``tokenizers`` library, as ``AutoTokenizer`` would run it
    (special tokens, pair template, longest-first truncation), without importing transformers and, with
    it, torch: seconds off every ``stance predict --engine onnxruntime`` process. Only what
    :func:`_batches` calls: ``tokenizer(requests, texts, truncation=True, max_length=N)`` and the pad ids."""

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        folder = Path(folder)
        self.backend = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.backend.no_padding()
        config = _read_json(folder / "tokenizer_config.json")
        pad = config.get("pad_token")
        pad = pad.get("content") if isinstance(pad, dict) else pad
        self.pad_token_id = self.backend.token_to_id(pad) if pad else None
        self.pad_token_type_id = 0
        self.truncation_side = config.get("truncation_side", "right")

    def __call__(self, first: Sequence[str], second: Sequence[str] | None = None, *, truncation: bool = True,
                 max_length: int | None = None) -> dict[str, list[list[int]]]:
        if truncation and max_length:
            self.backend.enable_truncation(max_length, strategy="longest_first", direction=self.truncation_side)
        else:
            self.backend.no_truncation()
        inputs = list(zip(first, second, strict=True)) if second is not None else list(first)
        encodings = self.backend.encode_batch(inputs, add_special_tokens=True)
        return {"input_ids": [e.ids for e in encodings], "attention_mask": [e.attention_mask for e in encodings],
                "token_type_ids": [e.type_ids for e in encodings]}


def load_tokenizer(folder: Path) -> Any:
    """The export's tokenizer: :class:`FastTokenizer` where it has a ``tokenizer.json``, else ``AutoTokenizer``."""
    if (Path(folder) / "tokenizer.json").is_file():
        return FastTokenizer(folder)
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder, trust_remote_code=False)


def _read_json(path: Path) -> dict[str, Any]:
    import json

    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


# ----------------------------------------------------------------------------------------------
# Static int8


class _CalibrationReader:
    """An onnxruntime ``CalibrationDataReader`` over statements: padded batches of their tokens."""

    def __new__(cls, tokenizer: Any, inputs: TextInputs, names: Sequence[str], max_length: int, batch_size: int = 16):
        from onnxruntime.quantization import CalibrationDataReader

        class Reader(CalibrationDataReader):
            def __init__(self) -> None:
                self.batches = _batches(tokenizer, inputs, names, max_length, batch_size, None)

            def get_next(self) -> dict[str, np.ndarray] | None:
                return next(self.batches, (None, None))[1]

        return Reader()


#: Node-name parts kept fp32 by default: the feed-forward down-projections, whose inputs (after GELU) carry
#: the outliers that a per-tensor uint8 scale flattens (as the torch int8 path keeps them, inference.py).
KEEP_FP32: tuple[str, ...] = ("/output/dense/",)


def quantize_static_int8(source: Path, target: Path, calibration: TextInputs, *, extra: dict[str, Any] | None = None,
                         exclude: Sequence[str] | None = None) -> list[str]:
    """Write ``source``'s fp32 export to ``target`` as static int8; returns the quantised nodes' names.

    The products with weight matrices are quantised: weights int8 per channel, their input activations
    uint8 with scales fitted on ``calibration`` (min-max over its batches). Nodes whose name contains one
    of ``exclude`` (default :data:`KEEP_FP32`, but never an attention output projection) stay fp32, and so
    do softmax, layer norm, GELU and the fused Attention ops (ONNX Runtime has no static int8 kernel for them).
    """
    require_onnxruntime()
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    card = read_card(source)
    if card.get("kind") != KIND or card.get("quantization"):
        raise ModelError(f"{source} is not an fp32 ONNX export", hint="export it with `stance export RUN --format onnx`")
    if len(calibration) == 0:
        raise ModelError("static int8 needs calibration statements", hint="the run's train split is empty")
    exclude = KEEP_FP32 if exclude is None else tuple(exclude)
    tokenizer = load_tokenizer(source)
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    # ONNX's own shape inference stops at the fused (com.microsoft) ops, and the quantiser then finds no type
    # for the MatMuls' inputs and quantises their weights only (a dequantise per call: slower than fp32). The
    # symbolic shape inference knows those ops; the graph is already optimised, so that step is skipped.
    typed = target / "model.typed.onnx"
    with warnings.catch_warnings(), _quiet_root_logger():
        warnings.simplefilter("ignore")
        quant_pre_process(str(Path(source) / ONNX_FILE), str(typed), skip_optimization=True)
    graph = onnx.load(str(typed)).graph
    weights = {tensor.name for tensor in graph.initializer}
    nodes = [n.name for n in graph.node if n.op_type == "MatMul" and n.input[1] in weights
             and ("/attention/" in n.name or not any(part in n.name for part in exclude))]
    reader = _CalibrationReader(tokenizer, calibration, card["inputs"], card["max_length"])
    try:
        with warnings.catch_warnings(), _quiet_root_logger():
            warnings.simplefilter("ignore")
            quantize_static(str(typed), str(target / ONNX_FILE), reader,
                            quant_format=QuantFormat.QDQ, op_types_to_quantize=["MatMul"], nodes_to_quantize=nodes,
                            per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.MinMax, extra_options={"WeightSymmetric": True})
    finally:
        typed.unlink(missing_ok=True)
    quantized = sum(n.op_type == "QuantizeLinear" for n in onnx.load(str(target / ONNX_FILE)).graph.node)
    if nodes and not quantized:
        raise ModelError(f"{source}: the quantiser left every activation fp32 (weights-only int8 is slower than fp32)",
                         hint="report it with the onnx and onnxruntime versions; use the fp32 export meanwhile")
    for path in Path(source).iterdir():
        if path.name not in (ONNX_FILE, "stance_model.json") and path.is_file():
            shutil.copy2(path, target / path.name)
    from stance.io import write_json

    write_json(target / "stance_model.json", {**card, "quantization": "int8", **(extra or {}),
                                              "quantized_nodes": len(nodes), "kept_fp32": list(exclude)})
    return nodes


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """onnxruntime.quantization logs its advice (pre-process first; a tensor whose type it skips) on the root
    logger at WARNING: not the researcher's business on the terminal."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


# ----------------------------------------------------------------------------------------------
# Prediction


def _batches(tokenizer: Any, x: TextInputs, names: Sequence[str], max_length: int, batch_size: int,
             max_tokens: int | None) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """``(row indices, named int64 arrays)`` for length-sorted batches of ``x``, each padded to its longest."""
    pairs = (x.requests, x.texts) if x.requests is not None else (x.texts,)
    encoded = tokenizer(*pairs, truncation=True, max_length=max_length)
    lengths = np.array([len(ids) for ids in encoded["input_ids"]])
    pad = {"input_ids": tokenizer.pad_token_id or 0, "token_type_ids": getattr(tokenizer, "pad_token_type_id", 0)}
    for index in token_batches(lengths, batch_size, max_tokens):
        width = int(lengths[index].max())
        batch = {}
        for name in names:
            array = np.full((len(index), width), pad.get(name, 0), dtype=np.int64)
            for row, i in enumerate(index):
                values = encoded[name][i] if name in encoded else [0] * lengths[i]
                array[row, : len(values)] = values
            batch[name] = array
        yield index, batch


class OnnxClassifier(Classifier):
    """Predicts with an export folder's ``model.onnx`` on ONNX Runtime's CPU provider."""

    kind = KIND

    def __init__(self, labels: Sequence[str], session: Any, tokenizer: Any, *, inputs: Sequence[str], max_length: int,
                 batch_size: int, quantization: str | None = None, folder: Path | None = None) -> None:
        super().__init__(labels)
        self.session = session
        self.tokenizer = tokenizer
        self.inputs = list(inputs)
        self.max_length = max_length
        self.eval_batch_size = batch_size
        self.max_tokens: int | None = None
        self.quantization = quantization
        self.precision = quantization or "fp32"
        self.folder = folder

    def fit(self, train_x, train_y, dev_x=None, dev_y=None, *, seed: int = 0) -> list[dict[str, Any]]:
        raise ModelError("an ONNX export only predicts", hint="train the run with `stance train`, then export it")

    def prepare_inference(self, precision: str = "fp32", *, device: str = "auto", batch_size: int | None = None,
                          max_tokens: int | None = None, compile: bool = False) -> str:
        """Batching as the torch path does it; the precision is the export's own (another one warns)."""
        if precision != self.precision:
            fix = f"export the run with --quantize {precision}" if precision in QUANTIZATIONS else "using it"
            warnings.warn(f"this ONNX export runs {self.precision}, not {precision}: {fix}", PrecisionWarning,
                          stacklevel=3)
        if device not in ("auto", "cpu"):
            warnings.warn(f"the onnxruntime engine runs on the CPU, not {device}", PrecisionWarning, stacklevel=3)
        if compile:
            warnings.warn("compile applies to the torch engine; onnxruntime ignores it", CompileWarning, stacklevel=3)
        if batch_size is not None:
            self.eval_batch_size = batch_size
        self.max_tokens = max_tokens
        return self.precision

    def predict_proba(self, x: TextInputs, batch_size: int | None = None) -> np.ndarray:
        out = np.zeros((len(x), len(self.labels)), dtype=np.float64)
        if len(x) == 0:
            return out
        batches = _batches(self.tokenizer, x, self.inputs, self.max_length, batch_size or self.eval_batch_size,
                           self.max_tokens)
        for index, batch in batches:
            logits = self.session.run(["logits"], batch)[0].astype(np.float64)
            logits -= logits.max(axis=1, keepdims=True)
            exp = np.exp(logits)
            out[index] = exp / exp.sum(axis=1, keepdims=True)
        return out

    def save(self, path: Path) -> None:
        if self.folder is None:
            raise ModelError("this ONNX model was not loaded from a folder")
        shutil.copytree(self.folder, path, dirs_exist_ok=True)

    @classmethod
    def load(cls, path: Path, threads: int | None = None) -> OnnxClassifier:
        """Open an export folder; ``threads``: ONNX Runtime's intra-op threads (None: one per core)."""
        ort = require_onnxruntime()
        path = Path(path)
        card = read_card(path)
        if card.get("kind") != KIND:
            raise ModelError(f"{path} is not an ONNX export (kind {card.get('kind')!r})",
                             hint="make one with `stance export RUN --format onnx`")
        if not (path / ONNX_FILE).is_file():
            raise ModelError(f"{path} holds no {ONNX_FILE}", hint="export the run again")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        try:
            session = ort.InferenceSession(str(path / ONNX_FILE), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own Fail/InvalidGraph types, not OSError
            raise ModelError(f"{path / ONNX_FILE}: ONNX Runtime cannot load it ({str(err).splitlines()[0]})",
                             hint="export the run again") from None
        return cls(card["labels"], session, load_tokenizer(path), inputs=card["inputs"], max_length=card["max_length"],
                   batch_size=card.get("eval_batch_size", BATCH_SIZE), quantization=card.get("quantization"), folder=path)
