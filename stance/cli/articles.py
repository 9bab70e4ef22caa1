"""Article commands: ``stance analyze`` and ``stance evaluate-articles``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from stance.cli._app import app, console, handles_errors, refuse_existing

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
    refuse_existing(output, statements, force=force)
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
    report: Annotated[Optional[Path], typer.Option(help="Write the report tables (one CSV each, and a one-page report.md) into this folder.")] = None,
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
