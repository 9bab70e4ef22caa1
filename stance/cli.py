"""The ``stance`` command line: thin Typer commands over the library.

Each command parses its arguments, loads what it needs and calls one library function. A
:class:`~stance.errors.StanceError` is printed as one line and exits with status 1 (``--debug``
shows the traceback); usage errors exit with 2.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer
from rich.console import Console
from rich.markup import escape

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
            # One line, whatever the message quotes; escaped, because user data (labels, paths)
            # must not be read as rich markup.
            message = " ".join(str(err).splitlines())
            err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
            raise typer.Exit(err.exit_code) from None
        except KeyboardInterrupt:
            if _state["debug"]:
                raise
            err_console.print("interrupted (an unfinished run stays <id>.incomplete; `stance train --resume RUN` "
                              "continues it)", highlight=False, soft_wrap=True)
            raise typer.Exit(130) from None

    return wrapper


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")] = False,
) -> None:
    _state["debug"] = debug
    # The CLI owns the terminal: keep the libraries' load reports and per-file progress bars out of
    # it (our own rich progress shows training and prediction). --debug lets them through.
    if not debug:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


def _command_line() -> str:
    return " ".join(["stance", *sys.argv[1:]])


# ----------------------------------------------------------------------------------------------
# Experiments


@app.command()
@handles_errors
def train(
    config: Annotated[Optional[Path], typer.Argument(help="Experiment config (YAML).", show_default=False)] = None,
    set_: SetOpt = None,
    resume: Annotated[Optional[Path], typer.Option(
        help="Continue this interrupted run (<id>.incomplete) from its last checkpoint, with its own config.",
        show_default=False)] = None,
) -> None:
    """Fine-tune a model from CONFIG into a new run directory and report dev metrics.

    `stance train --resume RUN` continues a run that was killed or interrupted, in its own folder,
    and ends with the same model and metrics as an uninterrupted run.
    """
    from stance.config import load_config
    from stance.experiment import resume_run
    from stance.experiment import train as train_run
    from stance.runs import open_run

    if resume is not None:
        if config is not None or set_:
            raise typer.BadParameter("--resume takes no CONFIG or --set: RUN keeps its own config")
        run, evaluations = resume_run(open_run(resume, require_complete=False), command=_command_line(), progress=True)
    elif config is None:
        raise typer.BadParameter("give a CONFIG, or --resume RUN to continue an interrupted run")
    else:
        run, evaluations = train_run(load_config(config, set_ or []), command=_command_line(), progress=True)
    for name, evaluation in evaluations.items():
        _print_evaluation(evaluation, f"{name} ({run.id})")
    console.print(f"run: [bold]{run.path}[/]")


@app.command("run")
@handles_errors
def run_command(config: ConfigArg, set_: SetOpt = None) -> None:
    """Train, evaluate on the held-out split beside the baselines and write every report.

    A config with `seeds:` or `sweep:` runs once per point and seed and writes an aggregated report.
    With `evaluate.cross_validation: K` it cross-validates by episode over the whole data file instead.
    """
    from stance.config import load_config
    from stance.experiment import cross_validate, run_experiment, run_many
    from stance.report import show

    cfg = load_config(config, set_ or [])
    if cfg.seeds or cfg.sweep:
        folder, runs = run_many(cfg, command=_command_line(), progress=True)
        show(runs, title="runs", console=console)
        from stance.report import read_csv_table

        show(read_csv_table(folder / "aggregate.csv"), title="mean ± std per point", console=console)
        console.print(f"sweep report: [bold]{folder}[/]")
        return
    if cfg.evaluate.cross_validation:
        result = cross_validate(cfg, command=_command_line())
        show(result.folds, title=f"{cfg.name}: {len(result.folds)}-fold cross-validation by episode", console=console)
        show(result.aggregate, title="mean ± std over folds", console=console)
        _print_evaluation(result.evaluation, f"pooled out-of-fold predictions ({result.run.id})", full=True)
        console.print(f"reports: [bold]{result.run.reports_dir(result.evaluation.name)}[/]")
        return
    run, evaluation = run_experiment(cfg, command=_command_line(), progress=True)
    if evaluation is None:  # a torchrun process other than rank 0: rank 0 reports
        return
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
    precision: Annotated[Optional[Literal["fp32", "bf16", "fp16", "int8"]], typer.Option(
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
) -> None:
    """Predict labels and per-class probabilities for TEXTs or a whole --input file.

    With --input and --output the file is streamed in chunks, so memory stays flat however many
    rows it has. Started by `torchrun --nproc_per_node N -m stance predict RUN --input F --output O`,
    each process predicts its own contiguous share of the rows and the output is joined in input order.
    """
    from stance import distributed
    from stance.predict import check_output, predict_file, predict_texts, stream_predictions, write_frame
    from stance.report import show

    if bool(texts) == bool(input):
        raise typer.BadParameter("give either TEXT arguments or --input FILE")
    if distributed.is_distributed() and not (input and output):
        raise StanceError("several processes share the work only on a file", hint="give --input FILE and --output FILE")
    if device is not None and not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device):
        raise typer.BadParameter(f"unknown device {device!r}: use auto, cpu, cuda or cuda:N", param_hint="--device")
    settings = {"precision": precision, "batch_size": batch_size, "threads": threads, "device": device,
                "compile": compile}
    with _precision_warnings():
        if input and output:
            summary = stream_predictions(run, input, output, force=force, chunk_size=chunk_size, **settings)
            if distributed.is_main_process():
                processes = f", {summary.processes} processes" if summary.processes > 1 else ""
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
    model: Annotated[str, typer.Option(help="Tokenizer that counts tokens (a config's model.name).")] = "default",
    max_length: Annotated[int, typer.Option(help="Tokens a model reads (input.max_length); 0 skips the count.")] = 128,
) -> None:
    """Counts per label, episode, actor, requester, decade, request kind, source type; text lengths.

    The overview counts the statements longer than --max-length tokens, which a model truncates.
    """
    import pandas as pd

    from stance.data import corpus_stats, length_table, load_statements
    from stance.report import markdown as to_markdown
    from stance.report import show

    frame = load_statements(file)
    tables = corpus_stats(frame)
    tables["length"] = length_table(frame)
    if max_length > 0:
        from stance.models.transformer import truncated_statements

        cut = truncated_statements(frame, model, max_length)
        row = pd.DataFrame({"statistic": [f"longer than {max_length} tokens (truncated)"], "value": [str(int(cut.sum()))]})
        tables["overview"] = pd.concat([tables["overview"], row], ignore_index=True)
        if cut.any():
            ids = ", ".join(frame.loc[cut, "id"].head(5))
            more = f" and {int(cut.sum()) - 5} more" if cut.sum() > 5 else ""
            _warn(f"{file}: {int(cut.sum())} statement(s) are longer than {max_length} tokens and will be truncated: "
                  f"id(s) {ids}{more} (shorten them or raise input.max_length)")
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


# ----------------------------------------------------------------------------------------------
# Reports across runs: compare, leaderboard (issue 4)

report_app = typer.Typer(help="Compare finished runs on the same statements, with intervals and paired tests.",
                         no_args_is_help=True)
app.add_typer(report_app, name="report")

ReportSplitOpt = Annotated[str, typer.Option("--split", help="Evaluated set to compare (reports/<split>/), e.g. "
                                             "test, dev or cross_validation.")]
OutputDirOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="Also write the table as CSV, Markdown "
                                                      "and HTML into this folder.")]
ByEpisodeOpt = Annotated[bool, typer.Option("--by-episode", help="Resample and swap whole episodes (clustered "
                                            "bootstrap and paired test).")]
ResamplesOpt = Annotated[int, typer.Option(min=100, help="Resamples of the paired approximate-randomisation test.")]


@report_app.command("compare")
@handles_errors
def report_compare(
    runs: Annotated[list[Path], typer.Argument(help="Run directories evaluated on the same statements.",
                                               show_default=False)],
    split: ReportSplitOpt = "test",
    output: OutputDirOpt = None,
    by_episode: ByEpisodeOpt = False,
    resamples: ResamplesOpt = 2000,
) -> None:
    """One row per RUN: macro-F1 with its 95% interval, accuracy, n, the difference to the best run
    and the p-value of a paired test against it, from each run's predictions matched by id."""
    from stance.compare import compare_runs
    from stance.runs import open_run

    table = compare_runs([open_run(run) for run in runs], split, resamples=resamples,
                         cluster_by="episode" if by_episode else None)
    _show_comparison(table, "comparison", f"{len(runs)} runs on {split}", output)


@report_app.command("leaderboard")
@handles_errors
def report_leaderboard(
    parent: Annotated[Path, typer.Argument(help="Folder of runs.")] = Path("experiments"),
    split: ReportSplitOpt = "test",
    output: OutputDirOpt = None,
    by_episode: ByEpisodeOpt = False,
    resamples: ResamplesOpt = 2000,
) -> None:
    """One row per config name (its latest complete run evaluated on --split), best macro-F1 first,
    with intervals, the difference to the best and the paired test's p-value."""
    from stance.compare import leaderboard

    table = leaderboard(parent, split, resamples=resamples, cluster_by="episode" if by_episode else None)
    _show_comparison(table, "leaderboard", f"leaderboard of {parent} on {split}", output)


def _show_comparison(table, name: str, title: str, output: Optional[Path]) -> None:
    from stance.compare import compact, write_comparison
    from stance.report import show

    show(compact(table), title=f"{title} (bootstrap intervals; p: paired approximate randomisation on macro-F1 "
         "against the best)", console=console, max_rows=200)
    if output is not None:
        write_comparison(table, output, name, title)
        console.print(f"wrote {name}.csv, {name}.md and {name}.html to [bold]{output}[/]")


# ----------------------------------------------------------------------------------------------
# Articles: analyze, evaluate-articles (issue 7)

ModelOpt = Annotated[
    Optional[Path],
    typer.Option("--model", "-m", help="Trained run that classifies the statements; without it they are only extracted."),
]
GazetteerOpt = Annotated[
    Optional[Path],
    typer.Option(help="YAML/JSON gazetteer merged on top of the packaged one (government: {names, demonyms, "
                      "capitals, institutions, titles, people})."),
]


@app.command()
@handles_errors
def analyze(
    articles: Annotated[Optional[list[str]], typer.Argument(
        help="Article files (.txt/.md), folders of them, or - for stdin (also read when none are given).",
        show_default=False)] = None,
    model: ModelOpt = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write one row per government here: "
                                                   ".csv, .jsonl, .parquet or .md.")] = None,
    statements: Annotated[Optional[Path], typer.Option(help="Write the evidence (one row per statement) here.")] = None,
    gazetteer: GazetteerOpt = None,
    evidence: Annotated[bool, typer.Option(help="Show each government's statements in the terminal.")] = True,
    force: Annotated[bool, typer.Option(help="Overwrite existing output files.")] = False,
) -> None:
    """Find who answered the request in news ARTICLES, what they said, and each government's stance.

    Each article's request (requester and a short phrase), its governments' statements (direct
    quotes, reported speech, announced decisions) and one row per government: the stance of its
    latest statement, with the statements behind it.
    """
    from stance.articles import analyze_articles, sentence_backend, write_table
    from stance.report import show

    sources = list(articles or [])
    if not sources:
        if sys.stdin.isatty():
            raise typer.BadParameter("give article files, a folder, or - for stdin")
        sources = ["-"]
    for path in (output, statements):
        if path is not None and path.exists() and not force:
            raise StanceError(f"{path} already exists", hint="pass --force to overwrite it")
    result = analyze_articles(sources, model, gazetteer=gazetteer)
    for analysis in result.analyses:
        request = analysis.request
        asked = f"{request.requester or 'unknown requester'} asked for: {request.phrase}" if request else "no request found"
        console.print(f"[bold]{analysis.article.name}[/]" + (f" — {analysis.article.title}" if analysis.article.title else ""))
        console.print(f"  {asked}", highlight=False)
        table = analysis.governments.drop(columns=["article", "requester", "request", "evidence"])
        if model is None:
            table = table.drop(columns=["stance", "confidence", "labels"])
        show(table, title="governments", console=console)
        if evidence and not analysis.statements.empty:
            cols = [c for c in ("actor", "label", "confidence", "text") if c in analysis.statements.columns]
            show(analysis.statements[cols], title="statements (in article order)", console=console, max_rows=100)
    if output is not None:
        write_table(result.governments, output, force=force)
        console.print(f"wrote {len(result.governments)} governments to [bold]{output}[/]")
    if statements is not None:
        write_table(result.statements, statements, force=force)
        console.print(f"wrote {len(result.statements)} statements to [bold]{statements}[/]")
    if model is None:
        console.print("[dim]no --model given: statements extracted, not classified[/]")
    console.print(f"[dim]sentences: {sentence_backend()}[/]")


@app.command("evaluate-articles")
@handles_errors
def evaluate_articles_command(
    model: ModelOpt = None,
    articles: Annotated[Path, typer.Option(help="Folder of example articles and their expected.csv.")] = Path("data/articles"),
    expected: Annotated[Optional[Path], typer.Option(help="Expected table (article, actor, stance); default: ARTICLES/expected.csv.")] = None,
    gazetteer: GazetteerOpt = None,
    report: Annotated[Optional[Path], typer.Option(help="Write the report tables (CSV + Markdown) into this folder.")] = None,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples (by article) for the intervals.")] = 1000,
) -> None:
    """Score `stance analyze` on the example articles: government-level extraction precision and
    recall, and the accuracy of each government's overall stance (needs --model)."""
    from stance.articles import evaluate_articles
    from stance.report import show, write_tables

    evaluation = evaluate_articles(articles, model, expected=expected, gazetteer=gazetteer, n_resamples=bootstrap)
    show(evaluation.tables["summary"], title="articles: extraction and overall stance (95% intervals, resampling articles)",
         console=console)
    show(evaluation.tables["per_article"], title="per article", console=console, max_rows=200)
    if model is None:
        console.print("[dim]no --model given: extraction only[/]")
    if report is not None:
        write_tables(evaluation.tables, report, title="stance evaluate-articles")
        console.print(f"report: [bold]{report}[/]")


# ----------------------------------------------------------------------------------------------
# Annotation: annotate, agreement, adjudicate (issue 9)

from typing import Literal  # noqa: E402  (kept in this section: the choices of annotate's options)


@app.command()
@handles_errors
def annotate(
    file: Annotated[Path, typer.Argument(help="Statements to label (CSV/JSONL/Parquet with id and text; a label column is never shown).", show_default=False)],
    annotator: Annotated[str, typer.Option("--annotator", "-a", help="Your name; one log per annotator.", show_default=False)],
    out: Annotated[Optional[Path], typer.Option(help="Annotation log (JSONL). Default: annotations/<annotator>.jsonl beside FILE.")] = None,
    order: Annotated[Literal["file", "random", "uncertainty"], typer.Option(
        help="file order; random (fixed by --seed); uncertainty: what --model is least sure of first.")] = "file",
    model: Annotated[Optional[Path], typer.Option(help="Trained run directory, for --order uncertainty and --suggest.")] = None,
    suggest: Annotated[bool, typer.Option(help="Show the model's guess and probabilities (needs --model).")] = False,
    seed: Annotated[int, typer.Option(help="Seed of --order random.")] = 0,
    uncertainty: Annotated[Literal["entropy", "margin"], typer.Option(
        help="How --order uncertainty scores a statement: entropy, or margin between the top two.")] = "entropy",
) -> None:
    """Label statements one at a time in the terminal; each key is saved at once, rerun to resume.

    Keys: 1 decline, 2 consider, 3 comply, s skip, u (or Backspace, ←) undo and go back, n note, ? label definitions, q quit.

    Each label, skip, undo and note is appended to the log and synced to disk at once: Ctrl-C loses nothing.

    Piped input (not a terminal) reads one key per character, and a note from the rest of its line.
    """
    from stance.annotate import StreamKeys, TerminalKeys, run_annotation

    stdin = sys.stdin
    keys = TerminalKeys(console, stdin) if stdin.isatty() else StreamKeys(stdin)
    summary = run_annotation(file, annotator, keys=keys, console=console, out=out, order=order, model=model,
                             suggest=suggest, seed=seed, uncertainty=uncertainty)
    console.print(summary.line(), highlight=False, soft_wrap=True)


@app.command()
@handles_errors
def agreement(
    files: Annotated[list[Path], typer.Argument(help="Annotation logs from `stance annotate`, or id,label files (one per annotator).", show_default=False)],
    statements: Annotated[Optional[Path], typer.Option(help="Statements file, to show each disagreement's text.")] = None,
    output: Annotated[Optional[Path], typer.Option(help="Also write every table as CSV and Markdown into this folder.")] = None,
    rows: Annotated[int, typer.Option(help="Disagreements shown in the terminal (all are written with --output).")] = 20,
) -> None:
    """Agreement between annotators: Cohen's kappa (two), Fleiss' kappa (more), Krippendorff's alpha.

    Also per-label specific agreement and kappa, each pair's confusion matrix, and the disagreements.
    """
    from stance.agreement import agreement_report, load_annotations, read_statements_context
    from stance.report import show, write_tables

    context = read_statements_context(statements) if statements is not None else None
    tables = agreement_report(load_annotations(files), statements=context)
    show(tables["summary"], title="agreement", console=console)
    show(tables["pairwise"], title="pairs of annotators", console=console)
    show(tables["per_label"], title="per label", console=console)
    show(tables["confusion"], title="confusion (rows: annotator_a's label, columns: annotator_b's)", console=console)
    found = tables["disagreements"]
    columns = [c for c in found.columns if c not in ("actor", "request") and not (c == "notes" and not found[c].any())]
    show(found[columns], title=f"disagreements ({len(found)})", console=console, max_rows=rows)
    if output is not None:
        write_tables(tables, output, title="Agreement between annotators")
        console.print(f"tables written to [bold]{output}[/]")


@app.command()
@handles_errors
def adjudicate(
    files: Annotated[list[Path], typer.Argument(help="Annotation logs or id,label files, one per annotator.", show_default=False)],
    out: Annotated[Path, typer.Option(help="Corpus file to write (CSV/JSONL/Parquet): the resolved statements with gold labels.", show_default=False)],
    adjudicator: Annotated[Optional[Path], typer.Option(help="An adjudicator's log or id,label file: their label wins.")] = None,
    corpus: Annotated[Optional[Path], typer.Option(help="Statements file to take the record fields from (default: the file the logs were made on).")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite --out and its reports.")] = False,
) -> None:
    """Merge annotations into gold labels: the adjudicator's label, else the majority; ties are flagged.

    Writes --out (a corpus `stance data validate` accepts), OUT.adjudication.csv (votes) and OUT.unresolved.csv (ties).

    To settle the ties: `stance annotate OUT.unresolved.csv --annotator NAME`, then rerun with --adjudicator LOG --force.
    """
    from stance.agreement import adjudicate_files
    from stance.report import show

    result = adjudicate_files(files, out, adjudicator=adjudicator, corpus=corpus, force=force)
    methods = result.gold["method"].value_counts().rename_axis("method").reset_index(name="statements")
    show(methods, title="how each label was decided", console=console)
    if not result.unresolved.empty:
        columns = [c for c in ("id", "text", "votes") if c in result.unresolved.columns]
        show(result.unresolved[columns], title=f"unresolved ties ({len(result.unresolved)})", console=console)
    console.print(f"wrote {len(result.corpus)} statements to [bold]{result.out}[/] "
                  f"(fields from {result.source}); votes: {result.gold_path}; "
                  f"unresolved: {len(result.unresolved)} in {result.unresolved_path}", highlight=False, soft_wrap=True)


# ----------------------------------------------------------------------------------------------
# Output helpers


def _warn(message: str) -> None:
    """One ``warning:`` line on stderr (the message quotes user data, so it is not read as markup)."""
    err_console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


def _print_evaluation(evaluation, title: str, full: bool = False) -> None:
    from stance.report import show

    if evaluation is None:
        return
    for warning in evaluation.warnings:
        _warn(warning)
    if "comparison" in evaluation.tables:
        show(evaluation.tables["comparison"], title="model beside the baselines (95% bootstrap intervals; "
             "p: paired approximate randomisation on macro-F1)", console=console)
    show(evaluation.tables["summary"], title=title, console=console)
    if full:
        show(evaluation.tables["per_class"], title="per class", console=console)
        show(evaluation.tables["confusion"], title="confusion (rows gold, columns predicted)", console=console)


@contextlib.contextmanager
def _precision_warnings():
    """Print a precision or compile fallback as one "warning:" line when it happens (once per process)."""
    from stance import distributed
    from stance.models.transformer import FallbackWarning

    original = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, FallbackWarning):
            if distributed.is_main_process():
                err_console.print(f"[yellow]warning:[/] {message}", highlight=False, soft_wrap=True)
        else:
            original(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = original


def main() -> None:
    """Console-script entry point."""
    app()
