"""A run's model exported for serving: ``stance export RUN --format onnx [--quantize int8]``.

The export lands in the run folder (``RUN/export/onnx`` for fp32, ``RUN/export/onnx-int8`` for
static int8), or where ``--output`` says; ``stance predict RUN --engine onnxruntime`` finds it there
(``--precision int8`` the int8 one), or reads an export folder given in place of the run. Static
int8 is calibrated on statements of the run's own train split (the data and split its config
names), drawn with the run's seed. The model itself is :mod:`stance.models.onnx`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stance.errors import ModelError, StanceError
from stance.models import TextInputs, load_classifier
from stance.models.base import MODEL_CARD, read_card
from stance.runs import Run, environment, open_run

__all__ = ["EXPORT_FORMATS", "ExportSummary", "default_export_dir", "export_run", "find_export"]

#: How many training statements calibrate static int8 by default (all of them when the split is smaller).
CALIBRATION_STATEMENTS = 300


@dataclass
class ExportSummary:
    """What :func:`export_run` wrote."""

    folder: Path
    format: str
    quantization: str | None
    calibration_statements: int = 0


def default_export_dir(run: Run, fmt: str = "onnx", quantize: str | None = None) -> Path:
    """Where ``stance export`` writes and ``stance predict --engine`` looks: ``RUN/export/<format>[-<quantize>]``."""
    return run.path / "export" / (f"{fmt}-{quantize}" if quantize else fmt)


def export_run(run_path: str | Path, *, fmt: str = "onnx", output: str | Path | None = None,
               quantize: str | None = None, calibration: int = CALIBRATION_STATEMENTS,
               force: bool = False) -> ExportSummary:
    """Export the run's transformer in ``fmt`` to ``output`` (default :func:`default_export_dir`).

    With ``quantize="int8"``, the fp32 graph is exported to a scratch folder and quantised
    statically, calibrated on ``calibration`` statements of the run's train split.
    """
    if fmt not in EXPORT_FORMATS:
        raise StanceError(f"unknown export format {fmt!r}", hint=f"use {', '.join(EXPORT_FORMATS)}")
    return EXPORT_FORMATS[fmt](open_run(run_path), output, quantize, calibration, force)


def _export_onnx(run: Run, output: str | Path | None, quantize: str | None, calibration: int,
                 force: bool) -> ExportSummary:
    from stance.models.onnx import QUANTIZATIONS, export_onnx, quantize_static_int8

    if quantize is not None and quantize not in QUANTIZATIONS:
        raise StanceError(f"unknown quantisation {quantize!r}", hint=f"use {', '.join(QUANTIZATIONS)}")
    target = Path(output) if output is not None else default_export_dir(run, "onnx", quantize)
    if target.exists() and any(target.iterdir()) and not force:
        raise StanceError(f"{target} already exists", hint="pass --force to overwrite it")
    config = run.config()
    classifier = load_classifier(run.model_dir)
    if not hasattr(classifier, "tokenizer") or getattr(classifier, "model", None) is None:
        raise ModelError(f"{run.path}: only transformer runs export to ONNX (this one is {classifier.kind})")
    provenance = {"source_run": run.id, "exported_with": _versions()}
    # Built beside the target and renamed into place, so that a killed export leaves no half folder.
    building = target.with_name(target.name + ".tmp")
    shutil.rmtree(building, ignore_errors=True)
    statements = 0
    try:
        if quantize is None:
            export_onnx(classifier, building, input_mode=config.input.mode, extra=provenance)
        else:
            fp32 = target.with_name(target.name + ".fp32.tmp")
            shutil.rmtree(fp32, ignore_errors=True)
            try:
                export_onnx(classifier, fp32, input_mode=config.input.mode, extra=provenance)
                inputs = calibration_inputs(run, calibration)
                statements = len(inputs)
                quantize_static_int8(fp32, building, inputs, extra={
                    "calibration": {"statements": statements, "split": "train", "seed": config.train.seed}})
            finally:
                shutil.rmtree(fp32, ignore_errors=True)
        if target.exists():
            shutil.rmtree(target)
        building.rename(target)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return ExportSummary(target, "onnx", quantize, statements)


def calibration_inputs(run: Run, count: int) -> TextInputs:
    """Up to ``count`` statements of the run's train split, drawn with its seed, as the model reads them."""
    from stance.data import load_statements
    from stance.splits import load_split, make_split, split_frames

    config = run.config()
    frame = load_statements(config.data.path, config.data.labels)
    split = (load_split(config.data.splits) if config.data.splits is not None else
             make_split(frame, seed=config.split.seed, dev_fraction=config.split.dev_fraction,
                        test_fraction=config.split.test_fraction))
    train = split_frames(frame, split)["train"]
    if len(train) > count:
        train = train.sample(n=count, random_state=config.train.seed)
    return TextInputs.from_frame(train, config.input.mode)


def _versions() -> dict[str, str]:
    packages = environment().get("packages", {})
    from importlib.metadata import PackageNotFoundError, version

    for name in ("onnx", "onnxruntime"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            pass
    return {k: v for k, v in packages.items() if k in ("stance", "torch", "transformers", "onnx", "onnxruntime")}


def find_export(path: str | Path, precision: str | None = None) -> tuple[Path, dict[str, Any]]:
    """The export folder to predict with and its card: ``path`` itself when it is one, else the run's
    export for ``precision`` (``int8``: the static int8 export; anything else: fp32)."""
    path = Path(path)
    if (path / MODEL_CARD).is_file() and not (path / "manifest.json").is_file():
        card = read_card(path)
        if card.get("kind") != "onnx":
            raise ModelError(f"{path} is not an ONNX export", hint="make one with `stance export RUN --format onnx`")
        return path, card
    run = open_run(path)
    quantize = "int8" if precision == "int8" else None
    folder = default_export_dir(run, "onnx", quantize)
    if not (folder / MODEL_CARD).is_file():
        flag = " --quantize int8" if quantize else ""
        raise ModelError(f"{run.path} has no {'int8 ' if quantize else ''}ONNX export",
                         hint=f"run `stance export {run.path} --format onnx{flag}` first")
    return folder, read_card(folder)


#: Export formats: a name (``stance export --format``) maps to its writer.
EXPORT_FORMATS: dict[str, Callable[..., ExportSummary]] = {"onnx": _export_onnx}
