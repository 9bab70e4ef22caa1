
"""Data commands: ``stance data validate|stats|split|check|datasheet|import|export``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from stance.cli._app import console, handles_errors, warn
from stance.errors import StanceError
from stance.labels import DEFAULT_LABELS

data_app = typer.Typer(help="Validate, describe, split and check statement files.", no_args_is_help=True)

LabelsOpt = Annotated[Optional[str], typer.Option(
    help="Comma-separated label set, matched case-insensitively (default: --config's data.labels, else "
    f"{','.join(DEFAULT_LABELS)}).", show_default=False)]
ConfigOpt = Annotated[Optional[Path], typer.Option(
    "--config", help="Experiment config whose data.labels (and data.splits, split.group_by) to use.", show_default=False)]


def _data_settings(labels: Optional[str], config: Optional[Path]):
    """The label set (and the config, if one was named) a data command works with."""
    cfg = None
    if config is not None:
        from stance.config import load_config

        cfg = load_config(config)
    if labels:
        return [label.strip() for label in labels.split(",") if label.strip()], cfg
    return (list(cfg.data.labels) if cfg else list(DEFAULT_LABELS)), cfg


def _splits_path(splits: Optional[Path], cfg) -> Path:
    if splits is not None:
        return splits
    return cfg.data.splits if cfg is not None and cfg.data.splits is not None else Path("data/splits.json")


@data_app.command("validate")
@handles_errors
def data_validate(
    file: Annotated[Path, typer.Argument(help="Statements file (CSV/JSONL/Parquet).", show_default=False)],
    labels: LabelsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Check FILE against the record schema: fields, labels, empty texts, duplicate ids."""
    from stance.data import load_statements

    label_set, _ = _data_settings(labels, config)
    frame = load_statements(file, labels=label_set)
    groups = f", {frame['episode'].nunique()} episodes" if "episode" in frame.columns else ""
    console.print(f"[green]ok[/]: {file}: {len(frame)} statements{groups}", soft_wrap=True, highlight=False)


@data_app.command("stats")
@handles_errors
def data_stats(
    file: Annotated[Path, typer.Argument(help="Statements file.", show_default=False)],
    markdown: Annotated[bool, typer.Option(help="Print Markdown tables instead of terminal tables.")] = False,
    top: Annotated[int, typer.Option(help="Rows shown per table (Markdown shows all).")] = 15,
    model: Annotated[str, typer.Option(help="Tokenizer that counts tokens (a config's model.name).")] = "default",
    max_length: Annotated[int, typer.Option(help="Tokens a model reads (input.max_length); 0 skips the count.")] = 128,
    splits: Annotated[Optional[Path], typer.Option(help="Split file: the sources table is given per split where it "
                                                   "exists (default: --config's, else data/splits.json).",
                                                   show_default=False)] = None,
    labels: LabelsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Counts per label, episode, actor, requester, decade, request kind, direction, source type,
    grounding; text lengths; grounding and register figures per split ("sources").

    The overview counts the statements longer than --max-length tokens, which a model truncates.
    """
    from stance.corpus import describe_corpus
    from stance.report import markdown as to_markdown
    from stance.report import show

    label_set, cfg = _data_settings(labels, config)
    description = describe_corpus(file, model=model, max_length=max_length, splits=_splits_path(splits, cfg),
                                  labels=label_set)
    for message in description.warnings:
        warn(message)
    for name, table in description.tables.items():
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
    extend: Annotated[bool, typer.Option(help="Keep the split file's assignments; split only the episodes it lacks.")] = False,
    group_by: Annotated[Optional[str], typer.Option(
        help="Column whose groups never cross splits (default: --config's split.group_by, else episode; "
        "id splits statement by statement).", show_default=False)] = None,
    labels: LabelsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Split FILE into train/dev/test by episode (or --group-by another column), stratified by label,
    and record it.

    --extend adds new episodes to an existing split without moving any statement already in it.
    """
    from stance.corpus import split_corpus
    from stance.report import show

    label_set, cfg = _data_settings(labels, config)
    column = group_by or (cfg.split.group_by if cfg is not None else "episode")
    summary = split_corpus(file, out, seed=seed, dev_fraction=dev_fraction, test_fraction=test_fraction, force=force,
                           extend=extend, labels=label_set, group_by=column)
    show(summary, title=f"split written to {out}", console=console)


@data_app.command("check")
@handles_errors
def data_check(
    file: Annotated[Path, typer.Argument(help="Labelled statements file.", show_default=False)],
    splits: Annotated[Optional[Path], typer.Option(help="Split file (default: --config's, else data/splits.json).",
                                                   show_default=False)] = None,
    threshold: Annotated[float, typer.Option(help="TF-IDF cosine at or above which two texts are near duplicates.")] = 0.9,
    labels: LabelsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Fail if an episode is in two splits, near-duplicate texts cross splits, or a record breaks the
    source rules (a grounded record without its page or date; quotation marks without a grounded
    source, or over 8 words)."""
    from stance.corpus import check_corpus_split
    from stance.report import show

    label_set, cfg = _data_settings(labels, config)
    check = check_corpus_split(file, _splits_path(splits, cfg), threshold=threshold, labels=label_set)
    leakage = check.leakage
    show(check.summary, title="splits", console=console)
    if not leakage.shared_episodes.empty:
        show(leakage.shared_episodes, title="episodes in more than one split", console=console)
    if not leakage.near_duplicates.empty:
        show(leakage.near_duplicates, title=f"texts across splits with cosine ≥ {threshold}", console=console)
    if not check.sources.empty:
        show(check.sources, title="records that break the source rules", console=console)
    if not leakage.ok:
        raise StanceError(
            f"leakage: {len(leakage.shared_episodes)} shared episode(s), "
            f"{len(leakage.near_duplicates)} near-duplicate pair(s) across splits"
        )
    if not check.sources.empty:
        raise StanceError(f"{file}: {len(check.sources)} source-rule problem(s)", hint="see data/CODEBOOK.md §1 and §2")
    console.print(f"[green]ok[/]: no episode in two splits, no cross-split pair with cosine ≥ {threshold}, "
                  "every record keeps the source rules")


@data_app.command("import")
@handles_errors
def data_import(
    dataset: Annotated[str, typer.Argument(help="Release format: semeval2016 or pstance.", show_default=False)],
    files: Annotated[list[Path], typer.Argument(help="The release's files (train, dev/val, test; the split is read "
                                                "from each file's name).", show_default=False)],
    output: Annotated[Path, typer.Option(help="Folder to write statements.jsonl, one file per split and splits.json.",
                                         show_default=False)],
    force: Annotated[bool, typer.Option(help="Replace an earlier import in --output.")] = False,
) -> None:
    """Turn a downloaded public stance dataset into statement records: the target becomes `request`,
    the labels keep their names, and splits.json keeps the release's own train/test split."""
    from stance.importers import import_release
    from stance.report import show

    result = import_release(dataset, files, output, force=force)
    for note in result.notes:
        warn(note)
    show(result.summary, title=f"{dataset} written to {output}", console=console)
    console.print(f"data.path: {result.statements}  data.splits: {result.splits}")


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


@data_app.command("export")
@handles_errors
def data_export(
    out: Annotated[Path, typer.Argument(help="Folder to write.", show_default=False)],
    format: Annotated[str, typer.Option("--format", help="hf: a Hugging Face DatasetDict (save_to_disk).")] = "hf",
    file: Annotated[Path, typer.Option("--data", help="Labelled statements file.")] = Path("data/statements.jsonl"),
    splits: Annotated[Path, typer.Option(help="Split file.")] = Path("data/splits.json"),
    labels: Annotated[str, typer.Option(help="Comma-separated label set, in ClassLabel order.")] = ",".join(DEFAULT_LABELS),
    force: Annotated[bool, typer.Option(help="Replace an existing folder.")] = False,
) -> None:
    """Write the statements, split into train/dev/test by the split file, as a Hugging Face DatasetDict
    in OUT with a dataset card (README.md) and the datasheet. datasets.load_from_disk(OUT) reads it,
    and so does `data.path: OUT` in a config."""
    from stance.hf_dataset import export_hf
    from stance.report import show

    if format != "hf":
        raise typer.BadParameter(f"unknown format {format!r}: use hf", param_hint="--format")
    counts = export_hf(file, splits, out, labels=labels.split(","), force=force)
    show(counts, title=f"wrote {out}", console=console)
