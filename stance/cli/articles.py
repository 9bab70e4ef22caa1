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
AnswersOpt = Annotated[
    str,
    typer.Option("--answers", help="Answer run (configs/answers.yaml) that picks the sentences that answer the request; "
                                   "auto: the newest complete 'answers' run under experiments/; rules: the extraction "
                                   "rules alone (also used when auto finds no run)."),
]
AggregateOpt = Annotated[
    str,
    typer.Option("--aggregate", help="How a government's answers give its stance: latest (its latest answer), "
                                     "confident (the answer with the highest relevance x stance probability) or vote "
                                     "(the label with the most of it summed)."),
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
    answers: AnswersOpt = "auto",
    aggregate: AggregateOpt = "latest",
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
    result = analyze_articles(sources, model, gazetteer=gazetteer, answers=answers, aggregate=aggregate)
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
    _say_answer_step(result.answer_step, answers)
    console.print(f"[dim]sentences: {sentence_backend()}[/]")


def _say_answer_step(used: str, asked: str) -> None:
    if used != "rules":
        console.print(f"[dim]answers: chosen by the answer run {used}[/]")
    elif str(asked).lower() == "auto":
        console.print("[dim]answers: no answer run found under experiments/ (train one with "
                      "`stance run configs/answers.yaml`); the extraction rules chose them[/]")
    else:
        console.print("[dim]answers: chosen by the extraction rules[/]")


@app.command("evaluate-articles")
@handles_errors
def evaluate_articles_command(
    model: ModelOpt = None,
    articles: Annotated[Path, typer.Option(help="Folder of example articles and their expected.csv.")] = Path("data/articles"),
    expected: Annotated[Optional[Path], typer.Option(help="Expected table (article, actor, stance); default: ARTICLES/expected.csv.")] = None,
    gazetteer: GazetteerOpt = None,
    answers: AnswersOpt = "auto",
    aggregate: AggregateOpt = "latest",
    report: Annotated[Optional[Path], typer.Option(help="Write the report tables (one CSV each, and a one-page report.md) into this folder.")] = None,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples (by article) for the intervals.")] = 1000,
) -> None:
    """Score `stance analyze` on the example articles: government-level extraction precision and
    recall, the accuracy of each government's overall stance (needs --model) and, where the folder
    has answers.csv, the precision, recall and F1 of the sentences taken as answers."""
    from stance.articles import evaluate_articles
    from stance.report import show, write_tables

    evaluation = evaluate_articles(articles, model, expected=expected, gazetteer=gazetteer, n_resamples=bootstrap,
                                   answers=answers, aggregate=aggregate)
    show(evaluation.tables["summary"], title="articles: extraction and overall stance (95% intervals, resampling articles)",
         console=console)
    show(evaluation.tables["per_article"], title="per article", console=console, max_rows=200)
    if model is None:
        console.print("[dim]no --model given: extraction only[/]")
    _say_answer_step(evaluation.result.answer_step, answers)
    if report is not None:
        write_tables(evaluation.tables, report, title="stance evaluate-articles")
        console.print(f"report: [bold]{report}[/]")


articles_app = typer.Typer(help="Article datasets: the answer step's sentences, the gold answers as statements.", no_args_is_help=True)


GoldArticlesArg = Annotated[list[str], typer.Argument(
    help="Article files or folders (a folder's answers.csv is the gold).", show_default=False)]
GoldAnswersOpt = Annotated[Optional[Path], typer.Option(
    help="Gold answers (article, actor, label, quote); default: answers.csv in the first folder given.")]
ForceOpt = Annotated[bool, typer.Option(help="Overwrite an existing output file.")]


def _gold_answers_file(articles: list[str], answers: Path | None) -> Path:
    """The gold answers the article commands read: ``--answers``, else answers.csv in the first
    folder given; a missing article path or gold file is a usage error naming it."""
    missing = [a for a in articles if not Path(a).exists()]
    if missing:
        raise typer.BadParameter(f"no such file or folder: {', '.join(missing)}")
    if answers is None:
        folders = [Path(a) for a in articles if Path(a).is_dir()]
        answers = folders[0] / "answers.csv" if folders else None
    if answers is None:
        raise typer.BadParameter("no gold answers: give --answers FILE (article, actor, label, quote) "
                                 "or a folder that holds answers.csv")
    if not answers.is_file():
        raise typer.BadParameter(f"no gold answers: {answers} does not exist (give --answers FILE with "
                                 "article, actor, label, quote)")
    return answers


@articles_app.command("sentences")
@handles_errors
def sentences_command(
    articles: GoldArticlesArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Write the records here (.jsonl, .csv or .parquet).")],
    answers: GoldAnswersOpt = None,
    gazetteer: GazetteerOpt = None,
    force: ForceOpt = False,
) -> None:
    """Write the answer step's dataset: one record per sentence the extraction attributes to a
    government, labelled answer / not_answer from the gold answers, episode = article."""
    from stance.articles import answer_sentences, load_gold_answers, write_table

    refuse_existing(output, force=force)
    records = answer_sentences(articles, load_gold_answers(_gold_answers_file(articles, answers)), gazetteer=gazetteer)
    output.parent.mkdir(parents=True, exist_ok=True)
    write_table(records, output, force=force)
    counts = records["label"].value_counts()
    console.print(f"wrote {len(records)} sentences ({counts.get('answer', 0)} answers, "
                  f"{counts.get('not_answer', 0)} not answers) from {records['episode'].nunique()} articles "
                  f"to [bold]{output}[/]")


@articles_app.command("statements")
@handles_errors
def statements_command(
    articles: GoldArticlesArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Write the statements here (.jsonl, .csv or .parquet).")],
    answers: GoldAnswersOpt = None,
    only: Annotated[Optional[Path], typer.Option(help="Only the articles this file names, one name (file name "
                                                      "without .txt) per line; # starts a comment.")] = None,
    episodes: Annotated[Optional[Path], typer.Option(
        help="CSV (article, episode): the corpus episode each article describes. Only the articles of "
             "--split's episodes are written, each with its corpus episode, so that a run's check refuses "
             "any that would leak into dev or test.")] = None,
    split: Annotated[str, typer.Option(help="With --episodes: the split whose articles are written.")] = "train",
    splits: Annotated[Path, typer.Option(help="With --episodes: the split file.")] = Path("data/splits.json"),
    gazetteer: GazetteerOpt = None,
    force: ForceOpt = False,
) -> None:
    """Write the articles' gold answers as labelled statements (one per answer sentence, or per
    government's clause where a sentence answers for several, as `stance analyze` reads it; episode =
    article, or with --episodes the corpus episode) for a config's data.extra_train: the stance
    classifier then also learns from answers as news reports word them."""
    from stance.articles import gold_statements, load_gold_answers, write_table
    from stance.articles.gold import articles_in_split, load_article_episodes
    from stance.splits import load_split

    refuse_existing(output, force=force)
    answers = _gold_answers_file(articles, answers)
    names = None
    if only is not None:
        if not only.is_file():
            raise typer.BadParameter(f"--only: {only} does not exist")
        names = [line.split("#", 1)[0].strip() for line in only.read_text(encoding="utf-8").splitlines()]
        names = [name for name in names if name]
    mapping = None
    if episodes is not None:
        mapping = load_article_episodes(episodes)
        in_split = set(articles_in_split(mapping, load_split(splits), split))
        names = [name for name in (names if names is not None else mapping) if name in in_split]
    records = gold_statements(articles, load_gold_answers(answers), gazetteer=gazetteer, only=names, episodes=mapping)
    output.parent.mkdir(parents=True, exist_ok=True)
    write_table(records, output, force=force)
    counts = records["label"].value_counts()
    console.print(f"wrote {len(records)} statements ({', '.join(f'{n} {label}' for label, n in counts.items())}) "
                  f"from {records['id'].str.rsplit('-a', n=1).str[0].nunique()} articles to [bold]{output}[/]")

