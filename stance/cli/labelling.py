"""Labelling commands: ``stance annotate``, ``stance agreement`` and ``stance adjudicate``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from stance.cli._app import app, console, handles_errors


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
    from stance.labelling import StreamKeys, TerminalKeys, run_annotation

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
    output: Annotated[Optional[Path], typer.Option(help="Also write every table as CSV, and a one-page report.md, into this folder.")] = None,
    rows: Annotated[int, typer.Option(help="Disagreements shown in the terminal (all are written with --output).")] = 20,
) -> None:
    """Agreement between annotators: Cohen's kappa (two), Fleiss' kappa (more), Krippendorff's alpha.

    Also per-label specific agreement and kappa, each pair's confusion matrix, and the disagreements.
    """
    from stance.labelling import agreement_report, load_annotations, read_statements_context
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
    from stance.labelling import adjudicate_files
    from stance.report import show

    result = adjudicate_files(files, out, adjudicator=adjudicator, corpus=corpus, force=force)
    show(result.method_counts(), title="how each label was decided", console=console)
    if not result.unresolved.empty:
        columns = [c for c in ("id", "text", "votes") if c in result.unresolved.columns]
        show(result.unresolved[columns], title=f"unresolved ties ({len(result.unresolved)})", console=console)
    console.print(f"wrote {len(result.corpus)} statements to [bold]{result.out}[/] "
                  f"(fields from {result.source}); votes: {result.gold_path}; "
                  f"unresolved: {len(result.unresolved)} in {result.unresolved_path}", highlight=False, soft_wrap=True)
