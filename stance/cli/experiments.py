"""Experiment commands: train, run, reproduce, evaluate, predict; the model types and configs they use."""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Annotated, Optional

import typer

from stance.cli._app import (
    ConfigArg,
    RunArg,
    SetOpt,
    TrackOpt,
    WideOpt,
    app,
    command_line,
    console,
    handles_errors,
    warn,
    with_tracking,
)
from stance.errors import StanceError

config_app = typer.Typer(help="Inspect experiment configs.", no_args_is_help=True)


@app.command()
@handles_errors
def train(
    config: Annotated[Optional[Path], typer.Argument(help="Experiment config (YAML).", show_default=False)] = None,
    set_: SetOpt = None,
    resume: Annotated[Optional[Path], typer.Option(
        help="Continue this interrupted run (<id>.incomplete) from its last checkpoint, with its own config.",
        show_default=False)] = None,
    wide: WideOpt = False,
    track: TrackOpt = None,
) -> None:
    """Fine-tune a model from CONFIG into a new run directory and report dev metrics.

    `stance train --resume RUN` continues a run that was killed or interrupted, in its own folder,
    and ends with the same model and metrics as an uninterrupted run.
    """
    from stance.config import load_config
    from stance.recipes import resume_run
    from stance.recipes import train as train_run
    from stance.runs import open_run

    if resume is not None:
        if config is not None or set_ or track:
            raise typer.BadParameter("--resume takes no CONFIG or --set: RUN keeps its own config")
        run, evaluations = resume_run(open_run(resume, require_complete=False), command=command_line(), progress=True)
    elif config is None:
        raise typer.BadParameter("give a CONFIG, or --resume RUN to continue an interrupted run")
    else:
        run, evaluations = train_run(load_config(config, with_tracking(set_, track)), command=command_line(),
                                     progress=True)
    for name, evaluation in evaluations.items():
        print_evaluation(evaluation, f"{name} ({run.id})", wide=wide)
    console.print(f"run: [bold]{run.path}[/]")


@app.command("run")
@handles_errors
def run_command(config: ConfigArg, set_: SetOpt = None, wide: WideOpt = False, track: TrackOpt = None) -> None:
    """Train, evaluate on the held-out split beside the baselines and write every report.

    A config with `seeds:` or `sweep:` runs once per point and seed and writes an aggregated report.
    With `evaluate.cross_validation: K` it cross-validates by episode over the whole data file instead
    (and with `evaluate.refit: true` also saves a model fitted on every episode).
    """
    from stance.config import load_config
    from stance.recipes import cross_validate, run_experiment, run_many, usable_baselines
    from stance.report import read_csv_table, show

    cfg = load_config(config, with_tracking(set_, track))
    for message in usable_baselines(cfg)[1]:
        warn(message)
    if cfg.seeds or cfg.sweep:
        folder, runs = run_many(cfg, command=command_line(), progress=True)
        show(runs, title="runs", console=console)
        show(read_csv_table(folder / "aggregate.csv"), title="mean ± std per point", console=console)
        console.print(f"sweep report: [bold]{folder}[/]")
        return
    if cfg.evaluate.cross_validation:
        result = cross_validate(cfg, command=command_line())
        show(result.folds, title=f"{cfg.name}: {len(result.folds)}-fold cross-validation by episode", console=console)
        show(result.aggregate, title="mean ± std over folds", console=console)
        print_evaluation(result.evaluation, f"pooled out-of-fold predictions ({result.run.id})", full=True,
                         wide=wide)
        console.print(f"reports: [bold]{result.run.reports_dir(result.evaluation.name)}[/]")
        if cfg.evaluate.refit:
            console.print(f"model fitted on every episode (evaluate.refit): [bold]{result.run.model_dir}[/]")
        return
    run, evaluation = run_experiment(cfg, command=command_line(), progress=True)
    if evaluation is None:  # a torchrun process other than rank 0: rank 0 reports
        return
    print_evaluation(evaluation, f"{cfg.name}: {evaluation.name} split ({run.id})", full=True, wide=wide)
    console.print(f"reports: [bold]{run.reports_dir(evaluation.name)}[/]")


@app.command()
@handles_errors
def reproduce(
    run: RunArg,
    tolerance: Annotated[float, typer.Option(help="Largest absolute metric difference accepted.")] = 0.0,
) -> None:
    """Rerun RUN from its saved config into a new run and compare every metric with the original.

    Exits with 1 if a metric differs by more than --tolerance or the predictions are not identical.
    """
    from stance.recipes import reproduce_run
    from stance.report import show
    from stance.runs import open_run

    result = reproduce_run(open_run(run), tolerance=tolerance, progress=True)
    for warning in result.warnings:
        warn(warning)
    show(result.metrics, title=f"{result.original.id} → {result.rerun.id}", console=console, max_rows=200)
    console.print(f"predictions identical: {result.predictions_identical}")
    if not result.ok:
        raise StanceError(f"run {result.original.id} did not reproduce within tolerance {tolerance}")
    console.print(f"[green]reproduced[/]: every metric within {tolerance}; new run {result.rerun.path}")


@app.command()
@handles_errors
def evaluate(
    run: RunArg,
    data: Annotated[Optional[Path], typer.Option(help="Labelled file (CSV/JSONL/Parquet); default: the run's data.")] = None,
    split: Annotated[Optional[str], typer.Option(help="Evaluate only this split (train, dev or test) of the file.")] = None,
    wide: WideOpt = False,
) -> None:
    """Evaluate a trained RUN on a labelled file or one of its splits; reports go into the run."""
    from stance.recipes import evaluate_run
    from stance.runs import open_run

    opened = open_run(run)
    evaluation = evaluate_run(opened, data, split)
    print_evaluation(evaluation, f"{evaluation.name} ({opened.id})", full=True, wide=wide)
    console.print(f"reports: [bold]{opened.reports_dir(evaluation.name)}[/]")


@app.command()
@handles_errors
def predict(
    run: RunArg,
    texts: Annotated[Optional[list[str]], typer.Argument(help="Statements to classify.", show_default=False)] = None,
    input: Annotated[Optional[Path], typer.Option("--input", "-i", help="CSV/JSONL/Parquet file with a 'text' column.")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write predictions here (format from the extension).")] = None,
    request: Annotated[Optional[str], typer.Option(help="The request the TEXTs answer (runs trained on request_text).")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing output file.")] = False,
    precision: Annotated[Optional[str], typer.Option(
        help="fp32 (exact); bf16 (CPUs with AMX or AVX-512 BF16, GPUs); fp16 (GPUs); int8 (CPUs). Default: the run "
        "config's predict.precision (fp32). Falls back to fp32 with a warning where the hardware does not run it well.",
        show_default=False)] = None,
    batch_size: Annotated[Optional[int], typer.Option(
        min=1, help="Statements per forward pass. Default: predict.batch_size, else 64.", show_default=False)] = None,
    chunk_size: Annotated[Optional[int], typer.Option(
        min=1, help="Rows read, predicted and written at a time with --input and --output. Default: "
        "predict.chunk_size (10000).", show_default=False)] = None,
    threads: Annotated[Optional[int], typer.Option(
        min=1, help="torch CPU threads. Default: predict.threads, else torch's choice.", show_default=False)] = None,
    device: Annotated[Optional[str], typer.Option(
        help="auto, cpu, cuda or cuda:N. Default: predict.device (auto: the GPU when there is one).",
        show_default=False)] = None,
    compile: Annotated[Optional[bool], typer.Option(
        "--compile/--no-compile", help="Run the model under torch.compile: half a minute of compiling first, and "
        "whole runs measured so far gained little or nothing (figures: benchmarks/README.md). "
        "Default: predict.compile (off).",
        show_default=False)] = None,
    engine: Annotated[str, typer.Option(
        help="torch: the run's model; onnxruntime: its ONNX export (`stance export RUN --format onnx`; with "
        "--precision int8 the --quantize int8 one). RUN may then be an export folder.")] = "torch",
    resume: Annotated[bool, typer.Option(
        help="Continue an interrupted --input/--output prediction from its last complete chunk (kept in "
        "OUTPUT.parts/); give the same options as the first time.")] = False,
) -> None:
    """Predict labels and per-class probabilities for TEXTs or a whole --input file.

    With --input and --output the file is streamed in chunks, so memory stays flat however many
    rows it has. Started by `torchrun --nproc_per_node N -m stance predict RUN --input F --output O`,
    each process predicts its own contiguous share of the rows and the output is joined in input order.
    """
    from stance import distributed
    from stance.io import check_output, write_frame
    from stance.models.inference import PRECISIONS, is_device
    from stance.predict import ENGINES, predict_file, predict_texts, stream_predictions
    from stance.report import show

    # The precision is checked here rather than by the option's type, so that `stance --help` does
    # not import the models to list the choices.
    if precision is not None and precision not in PRECISIONS:
        raise typer.BadParameter(f"unknown precision {precision!r}: use {', '.join(PRECISIONS)}",
                                 param_hint="--precision")
    if bool(texts) == bool(input):
        raise typer.BadParameter("give either TEXT arguments or --input FILE")
    if distributed.is_distributed() and not (input and output):
        raise StanceError("several processes share the work only on a file", hint="give --input FILE and --output FILE")
    if device is not None and not is_device(device):
        raise typer.BadParameter(f"unknown device {device!r}: use auto, cpu, cuda or cuda:N", param_hint="--device")
    if engine not in ENGINES:
        raise typer.BadParameter(f"unknown engine {engine!r}: use {', '.join(ENGINES)}", param_hint="--engine")
    if resume and not (input and output):
        raise typer.BadParameter("--resume continues a prediction from --input FILE into --output FILE")
    settings = {"precision": precision, "batch_size": batch_size, "threads": threads, "device": device,
                "compile": compile, "engine": engine}
    with precision_warnings():
        if input and output:
            summary = stream_predictions(run, input, output, force=force, chunk_size=chunk_size, resume=resume,
                                         **settings)
            if distributed.is_main_process():
                processes = f", {summary.processes} processes" if summary.processes > 1 else ""
                if summary.resumed_chunks:
                    processes += f"; resumed after {summary.resumed_chunks} chunk(s)"
                console.print(f"wrote {summary.rows} predictions to [bold]{output}[/] ({summary.precision} on "
                              f"{summary.device}{processes}; {summary.rate:.1f} statements/s)", highlight=False, soft_wrap=True)
            return
        if texts:
            if output:
                check_output(output, force)
            result = predict_texts(run, texts, [request] * len(texts) if request else None, **settings)
            if output:
                write_frame(result, output)
        else:
            result = predict_file(run, input, None, force=force, **settings)
    if output:
        console.print(f"wrote {len(result)} predictions to [bold]{output}[/]")
    else:
        cols = [c for c in result.columns if c in ("id", "text", "label", "prediction") or c.startswith("p_")]
        show(result[cols], console=console)


@app.command("export")
@handles_errors
def export(
    run: RunArg,
    format: Annotated[str, typer.Option("--format", help="onnx: encoder and head as one ONNX graph, for ONNX "
                                        "Runtime (needs the onnx extra: pip install 'stance[onnx]').")] = "onnx",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Export folder. Default: "
                                                   "RUN/export/onnx (RUN/export/onnx-int8 with --quantize int8), "
                                                   "where `stance predict --engine onnxruntime` looks.",
                                                   show_default=False)] = None,
    quantize: Annotated[Optional[str], typer.Option(help="int8: static int8 quantisation, calibrated on "
                                                    "statements of the run's train split.", show_default=False)] = None,
    calibration: Annotated[int, typer.Option(min=1, help="Training statements that calibrate --quantize int8.")] = 300,
    force: Annotated[bool, typer.Option(help="Overwrite an existing export folder.")] = False,
) -> None:
    """Export a trained RUN's model for serving (ONNX; optionally static int8)."""
    from stance.serving import EXPORT_FORMATS, export_run

    if format not in EXPORT_FORMATS:
        raise typer.BadParameter(f"unknown format {format!r}: use {', '.join(EXPORT_FORMATS)}", param_hint="--format")
    summary = export_run(run, fmt=format, output=output, quantize=quantize, calibration=calibration, force=force)
    calibrated = f", calibrated on {summary.calibration_statements} training statements" if summary.quantization else ""
    console.print(f"exported {summary.format}{' ' + summary.quantization if summary.quantization else ''} to "
                  f"[bold]{summary.folder}[/]{calibrated}", highlight=False, soft_wrap=True)


@config_app.command("show")
@handles_errors
def config_show(config: ConfigArg, set_: SetOpt = None) -> None:
    """Print the fully resolved CONFIG (bases merged, overrides applied, defaults filled)."""
    from stance.config import config_to_yaml, load_config

    print(config_to_yaml(load_config(config, set_ or [])), end="")


def print_evaluation(evaluation, title: str, full: bool = False, wide: bool = False) -> None:
    """An evaluation's warnings, its comparison with the baselines, summary and (``full``) per-class
    tables, each fitted to the terminal unless ``wide`` (:func:`stance.report.comparison_view`)."""
    from stance.report import comparison_view, show, summary_view

    if evaluation is None:
        return
    for warning in evaluation.warnings:
        warn(warning)
    confidence = evaluation.intervals[0].confidence if evaluation.intervals else 0.95
    if "comparison" in evaluation.tables:
        show(comparison_view(evaluation.tables["comparison"], wide=wide, confidence=confidence),
             title="model beside the baselines (bootstrap intervals; p: paired approximate randomisation on "
             "macro-F1)", console=console)
    show(summary_view(evaluation.tables["summary"], wide=wide, confidence=confidence), title=title, console=console)
    if full:
        show(evaluation.tables["per_class"], title="per class", console=console)
        show(evaluation.tables["confusion"], title="confusion (rows gold, columns predicted)", console=console)


@contextlib.contextmanager
def precision_warnings():
    """Print a precision or compile fallback as one "warning:" line when it happens (once per process)."""
    from stance import distributed
    from stance.models.inference import FallbackWarning

    original = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, FallbackWarning):
            if distributed.is_main_process():
                warn(str(message))
        else:
            original(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = original
