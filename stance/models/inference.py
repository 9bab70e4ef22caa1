"""Running a trained encoder fast: precision, quantisation, compilation, batching and the CPU probes
that decide what this machine runs well.

The choices a user makes here (``predict.precision``, ``predict.device``, ``stance predict
--precision/--device``) are defined once in this module, :data:`Precision` and
:data:`DEVICE_PATTERN`, and imported by the config and the CLI. :func:`prepare_model` applies them
to a loaded model; a choice the hardware cannot take falls back with a :class:`FallbackWarning`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import Any, Literal, get_args

import numpy as np

from stance.errors import ModelError

#: Precisions prediction can run in (``predict.precision`` in a config, ``stance predict --precision``):
#: fp32 (exact); bf16 (CPUs with AMX or AVX-512 BF16, GPUs); fp16 (GPUs); int8 (dynamic
#: quantisation of the encoder's linear layers, CPUs).
Precision = Literal["fp32", "bf16", "fp16", "int8"]
PRECISIONS: tuple[str, ...] = get_args(Precision)

#: Precisions training can run in (``train.precision``): fp32, or bf16 mixed precision (the Trainer's
#: autocast: fp32 master weights, bf16 matmuls) where the hardware multiplies bf16 natively.
TrainPrecision = Literal["fp32", "bf16"]
TRAIN_PRECISIONS: tuple[str, ...] = get_args(TrainPrecision)

#: Devices prediction can run on (``predict.device``, ``stance predict --device``): ``auto`` (the GPU
#: when torch sees one, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``. A pattern, not a Literal,
#: because of the GPU number.
DEVICE_PATTERN = r"^(auto|cpu|cuda(:\d+)?)$"


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


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> set[str] | None:
    """The CPU feature flags of /proc/cpuinfo (Linux), or None where there is no such file."""
    try:
        with open(cpuinfo, encoding="utf-8") as handle:
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


def training_precision_problem(precision: str) -> str | None:
    """Why training cannot take ``precision`` here (None when it can): the device training uses is the
    GPU when torch sees one, else the CPU, which needs native bf16 (AMX or AVX-512 BF16)."""
    if precision == "fp32":
        return None
    import torch

    if torch.cuda.is_available():
        return None if torch.cuda.is_bf16_supported() else "this GPU has no bf16"
    if not cpu_has_fast_bf16():
        return ("this CPU has no native bf16 matmul (AMX or AVX-512 BF16), where bf16 is emulated and several "
                "times slower than fp32")
    return None


def check_training_precision(precision: str) -> None:
    """Raise a :class:`ModelError` when training cannot take ``precision`` on this machine.

    An error rather than a warning and fp32: a run's config records its precision, so quietly training
    in another one would leave a config that does not say how the model was made.
    """
    problem = training_precision_problem(precision)
    if problem is not None:
        raise ModelError(f"train.precision {precision}: {problem}",
                         hint="set train.precision=fp32, or train on a CPU with AMX or AVX-512 BF16 or a GPU with bf16")


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


def is_device(text: str) -> bool:
    """Whether ``text`` names a device prediction can run on (see :data:`DEVICE_PATTERN`)."""
    return re.fullmatch(DEVICE_PATTERN, text) is not None


def resolve_device(device: str) -> Any:
    """The torch device ``device`` names (``auto``: the GPU when torch sees one, else the CPU)."""
    import torch

    target = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device)
    if target.type == "cuda" and not torch.cuda.is_available():
        raise ModelError(f"device {device!r} asked for, but torch sees no GPU", hint="use --device auto or cpu")
    return target


def convert_model(model: Any, precision: str, target: Any, converted: str | None) -> str:
    """Move ``model`` to ``target`` and convert it to ``precision`` in place; returns the precision in effect.

    A precision ``target`` does not run well falls back to fp32 with a :class:`PrecisionWarning`.
    ``converted`` is the precision the model was already converted to (``None``: still fp32): bf16,
    fp16 and int8 rewrite the model, so it cannot change to another one.
    """
    import torch

    if precision not in PRECISIONS:
        raise ModelError(f"unknown precision {precision!r}", hint=f"use one of {', '.join(PRECISIONS)}")
    if converted is not None and precision != converted:
        raise ModelError(f"this model was converted to {converted}", hint="load it again for another precision")
    reason = unsupported_precision(precision, target)
    if reason:
        warnings.warn(f"{reason}; predicting in fp32", PrecisionWarning, stacklevel=3)
        precision = "fp32"
    model.to(target)
    if precision != "fp32" and converted is None:
        if precision == "int8":
            quantize_int8(model)
        else:
            # The whole model in the low precision, not autocast: autocast keeps fp32 weights and
            # recasts them at every matmul, and runs layer norms, GELU and softmax in fp32. Cast once,
            # MiniLM predicts 1.4x faster than under autocast on an AMX CPU, with 99.7% of the test
            # labels of fp32 (benchmarks/README.md).
            model.to(torch.bfloat16 if precision == "bf16" else torch.float16)
    return precision


def compiled_or_none(model: Any, precision: str, target: Any) -> Any:
    """``model`` under :func:`compile_model`, or ``None`` (with a :class:`CompileWarning`) where
    torch.compile cannot run."""
    reason = unsupported_compile(precision, target)
    if reason:
        warnings.warn(f"{reason}; predicting without torch.compile", CompileWarning, stacklevel=3)
        return None
    return compile_model(model)
