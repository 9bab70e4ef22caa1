"""The ``stance`` command line: thin Typer commands over the library.

Each command parses its arguments, loads what it needs and calls one library function. A
:class:`~stance.errors.StanceError` is printed as one line and exits with status 1 (``--debug``
shows the traceback); usage errors exit with 2.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from stance.errors import StanceError

app = typer.Typer(
    help="Classify how governments answer an ally's request: decline, consider or comply.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Validate, describe, split and check statement files.", no_args_is_help=True)
config_app = typer.Typer(help="Inspect experiment configs.", no_args_is_help=True)
runs_app = typer.Typer(help="List run directories.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(config_app, name="config")
app.add_typer(runs_app, name="runs")

console = Console()
err_console = Console(stderr=True)
_state = {"debug": False}

ConfigArg = Annotated[Path, typer.Argument(help="Experiment config (YAML).", show_default=False)]
SetOpt = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Override a config key, e.g. --set train.learning_rate=3e-5 (repeatable)."),
]
RunArg = Annotated[Path, typer.Argument(help="Run directory (under experiments/).", show_default=False)]


def handles_errors(command):
    """Turn a StanceError into its one-line message and exit status 1 (traceback with --debug)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except StanceError as err:
            if _state["debug"]:
                raise
            err_console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
            raise typer.Exit(err.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")] = False,
) -> None:
    _state["debug"] = debug


def _command_line() -> str:
    return " ".join(["stance", *sys.argv[1:]])


# ----------------------------------------------------------------------------------------------
# Experiments


@app.command()
@handles_errors
def train(
    config: ConfigArg,
    set_: SetOpt = None,
    resume: Annotated[Optional[Path], typer.Option(help="Continue this incomplete run from its last checkpoint.")] = None,
) -> None:
    """Fine-tune a model from CONFIG into a new run directory and report dev metrics."""
    from stance.config import load_config
    from stance.experiment import train as train_run
    from stance.runs import open_run

    cfg = load_config(config, set_ or [])
    previous = open_run(resume, require_complete=False) if resume else None
    if previous is not None:
        cfg = previous.config()
    run, evaluations = train_run(cfg, command=_command_line(), progress=True, resume=previous)
    _print_evaluation(evaluations.get("dev"), f"dev ({run.id})")
    console.print(f"run: [bold]{run.path}[/]")


@app.command("run")
@handles_errors
def run_command(config: ConfigArg, set_: SetOpt = None) -> None:
    """Train, evaluate on the held-out split beside the baselines and write every report.

    A config with `seeds:` or `sweep:` runs once per point and seed and writes an aggregated report.
    """
    from stance.config import load_config
    from stance.experiment import run_experiment, run_many
    from stance.report import show

    cfg = load_config(config, set_ or [])
    if cfg.seeds or cfg.sweep:
        folder, runs = run_many(cfg, command=_command_line(), progress=True)
        show(runs, title="runs", console=console)
        from stance.report import read_csv_table

        show(read_csv_table(folder / "aggregate.csv"), title="mean ± std per point", console=console)
        console.print(f"sweep report: [bold]{folder}[/]")
        return
    run, evaluation = run_experiment(cfg, command=_command_line(), progress=True)
    _print_evaluation(evaluation, f"{cfg.name}: {evaluation.name} split ({run.id})", full=True)
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
    from stance.experiment import reproduce_run
    from stance.report import show
    from stance.runs import open_run

    result = reproduce_run(open_run(run), tolerance=tolerance, progress=True)
    for warning in result.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}")
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
) -> None:
    """Evaluate a trained RUN on a labelled file or one of its splits; reports go into the run."""
    from stance.experiment import evaluate_run
    from stance.runs import open_run

    opened = open_run(run)
    evaluation = evaluate_run(opened, data, split)
    _print_evaluation(evaluation, f"{evaluation.name} ({opened.id})", full=True)
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
) -> None:
    """Predict labels and per-class probabilities for TEXTs or a whole --input file."""
    from stance.predict import check_output, predict_file, predict_texts, write_frame
    from stance.report import show

    if bool(texts) == bool(input):
        raise typer.BadParameter("give either TEXT arguments or --input FILE")
    if texts:
        if output:
            check_output(output, force)
        result = predict_texts(run, texts, [request] * len(texts) if request else None)
        if output:
            write_frame(result, output)
    else:
        result = predict_file(run, input, output, force=force)
    if output:
        console.print(f"wrote {len(result)} predictions to [bold]{output}[/]")
    else:
        cols = [c for c in result.columns if c in ("id", "text", "label", "prediction") or c.startswith("p_")]
        show(result[cols], console=console)


# ----------------------------------------------------------------------------------------------
# Data


@data_app.command("validate")
@handles_errors
def data_validate(
    file: Annotated[Path, typer.Argument(help="Statements file (CSV/JSONL/Parquet).", show_default=False)],
    labels: Annotated[str, typer.Option(help="Comma-separated label set.")] = "decline,consider,comply",
) -> None:
    """Check FILE against the record schema: fields, labels, empty texts, duplicate ids."""
    from stance.data import load_statements

    frame = load_statements(file, labels=labels.split(","))
    console.print(f"[green]ok[/]: {file}: {len(frame)} statements, {frame['episode'].nunique()} episodes")


@data_app.command("stats")
@handles_errors
def data_stats(
    file: Annotated[Path, typer.Argument(help="Statements file.", show_default=False)],
    markdown: Annotated[bool, typer.Option(help="Print Markdown tables instead of terminal tables.")] = False,
    top: Annotated[int, typer.Option(help="Rows shown per table (Markdown shows all).")] = 15,
) -> None:
    """Counts per label, episode, actor, requester, decade, request kind, source type; text lengths."""
    from stance.data import corpus_stats, length_table, load_statements
    from stance.report import markdown as to_markdown
    from stance.report import show

    frame = load_statements(file)
    tables = corpus_stats(frame)
    tables["length"] = length_table(frame)
    for name, table in tables.items():
        if markdown:
            print(f"### {name}\n\n{to_markdown(table)}\n")
        else:
            show(table, title=name, console=console, max_rows=top)


@data_app.command("split")
@handles_errors
def data_split(
    file: Annotated[Path, typer.Argument(help="Labelled statements file.", show_default=False)],
    out: Annotated[Path, typer.Option(help="Split file to write.")] = Path("data/splits.json"),
    seed: Annotated[int, typer.Option(help="Seed of the episode assignment.")] = 13,
    dev_fraction: Annotated[float, typer.Option(help="Share of statements for dev.")] = 0.15,
    test_fraction: Annotated[float, typer.Option(help="Share of statements for test.")] = 0.2,
    force: Annotated[bool, typer.Option(help="Overwrite an existing split file.")] = False,
) -> None:
    """Split FILE into train/dev/test by episode, stratified by label, and record it."""
    from stance.data import load_statements
    from stance.predict import check_output
    from stance.report import show
    from stance.splits import make_split, save_split, split_summary

    if out.exists() and not force:
        raise StanceError(f"{out} already exists", hint="pass --force to replace the split every run uses")
    check_output(out.with_suffix(".jsonl"), force=True)  # validates the folder path early
    frame = load_statements(file)
    split = make_split(frame, seed=seed, dev_fraction=dev_fraction, test_fraction=test_fraction)
    save_split(split, out)
    show(split_summary(frame, split.assign(frame), ["decline", "consider", "comply"]), title=f"split written to {out}", console=console)


@data_app.command("check")
@handles_errors
def data_check(
    file: Annotated[Path, typer.Argument(help="Labelled statements file.", show_default=False)],
    splits: Annotated[Path, typer.Option(help="Split file.")] = Path("data/splits.json"),
    threshold: Annotated[float, typer.Option(help="TF-IDF cosine at or above which two texts are near duplicates.")] = 0.9,
) -> None:
    """Fail if an episode is in two splits or near-duplicate texts cross splits."""
    from stance.data import load_statements
    from stance.report import show
    from stance.splits import check_leakage, load_split, split_summary

    frame = load_statements(file)
    split = load_split(splits)
    assigned = split.assign(frame, str(file))
    report = check_leakage(frame, assigned, threshold=threshold)
    show(split_summary(frame, assigned, ["decline", "consider", "comply"]), title="splits", console=console)
    if not report.shared_episodes.empty:
        show(report.shared_episodes, title="episodes in more than one split", console=console)
    if not report.near_duplicates.empty:
        show(report.near_duplicates, title=f"texts across splits with cosine ≥ {threshold}", console=console)
    if not report.ok:
        raise StanceError(
            f"leakage: {len(report.shared_episodes)} shared episode(s), "
            f"{len(report.near_duplicates)} near-duplicate pair(s) across splits"
        )
    console.print(f"[green]ok[/]: no episode in two splits, no cross-split pair with cosine ≥ {threshold}")


@data_app.command("datasheet")
@handles_errors
def data_datasheet(
    file: Annotated[Path, typer.Argument(help="Labelled statements file.", show_default=False)] = Path("data/statements.jsonl"),
    sheet: Annotated[Path, typer.Option(help="Datasheet whose generated section is rewritten.")] = Path("data/DATASHEET.md"),
    splits: Annotated[Path, typer.Option(help="Split file.")] = Path("data/splits.json"),
    agreement: Annotated[Optional[Path], typer.Option(help="Folder with first_pass.jsonl, second_pass.jsonl and adjudication.csv.")] = Path("data/agreement"),
) -> None:
    """Regenerate the tables of the datasheet from the corpus (between its generated markers)."""
    from stance.datasheet import update_datasheet

    has_agreement = agreement is not None and (agreement / "second_pass.jsonl").exists()
    update_datasheet(file, sheet, splits, agreement if has_agreement else None)
    console.print(f"[green]updated[/] {sheet}")


# ----------------------------------------------------------------------------------------------
# Configs, runs, models


@config_app.command("show")
@handles_errors
def config_show(config: ConfigArg, set_: SetOpt = None) -> None:
    """Print the fully resolved CONFIG (bases merged, overrides applied, defaults filled)."""
    from stance.config import config_to_yaml, load_config

    print(config_to_yaml(load_config(config, set_ or [])), end="")


@runs_app.command("list")
@handles_errors
def runs_list(parent: Annotated[Path, typer.Argument(help="Folder of runs.")] = Path("experiments")) -> None:
    """One row per run: name, model, status, dev and test macro-F1."""
    from stance.report import show
    from stance.runs import list_runs

    table = list_runs(parent)
    if table.empty:
        console.print(f"no runs under {parent}")
        return
    show(table, console=console, max_rows=200)


@app.command("models")
def models_list() -> None:
    """List the registered model types a config can name."""
    import pandas as pd

    from stance.models import MODELS
    from stance.report import show

    show(pd.DataFrame([{"type": e.name, "description": e.description} for e in MODELS.values()]), console=console)


def _print_evaluation(evaluation, title: str, full: bool = False) -> None:
    from stance.report import show

    if evaluation is None:
        return
    if "comparison" in evaluation.tables:
        show(evaluation.tables["comparison"], title="model beside the baselines (95% bootstrap intervals; "
             "p: paired approximate randomisation on macro-F1)", console=console)
    show(evaluation.tables["summary"], title=title, console=console)
    if full:
        show(evaluation.tables["per_class"], title="per class", console=console)
        show(evaluation.tables["confusion"], title="confusion (rows gold, columns predicted)", console=console)


def main() -> None:
    """Console-script entry point."""
    app()
