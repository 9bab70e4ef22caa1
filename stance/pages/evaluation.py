"""A run's evaluation as a page for reading: ``reports/<split>/report.html``.

Top-down: a headline (what was trained on which data, how well it did against the best
baseline, calibration, how many statements), then the model beside the baselines with a forest
plot, the scores per class, the confusion matrix and calibration each beside its plot, the
breakdowns (sortable), training, and the errors (filterable by gold and predicted label). Every
table comes from the same frames as the CSVs beside the page (:attr:`stance.evaluate.Evaluation.tables`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from stance import __version__
from stance.pages import formatting as fmt
from stance.pages.figures import Figure, forest_figure, png_figure
from stance.pages.render import ErrorFilter, Fact, Page, Panel, Section, Stack, render
from stance.pages.tables import Table, confusion_table, errors_table, frame_table, summary_table

#: Tables the page draws in their own places; any other table goes under "More tables".
_PLACED = {"comparison", "summary", "per_class", "confusion", "reliability", "errors", "predictions", "folds",
           "mean_std"}


@dataclass
class RunDescription:
    """What a page says about the run and the evaluated set (any field may be empty)."""

    run_id: str = ""
    name: str = ""  # the config's name
    description: str = ""
    model: str = ""  # e.g. "transformer (default)"
    input: str = ""  # the input mode
    data: str = ""  # the evaluated statements, in words
    split: str = ""  # the evaluated set's name (reports/<split>/)
    started: str = ""
    commit: str = ""
    command: str = ""


def describe_run(run, split: str) -> RunDescription:
    """A :class:`RunDescription` from a run folder's config and manifest (``run`` is a
    :class:`stance.runs.Run`)."""
    from stance.splits import SPLITS

    config, manifest = run.config(), run.manifest()
    model = config.model.type + (f" ({config.model.name} weights)" if config.model.type == "transformer" else "")
    data = str(config.data.path)
    if split in SPLITS:
        where = f", split by {config.data.splits}" if config.data.splits else f", split with seed {config.split.seed}"
        data = f"the {split} split of {data}{where}"
    elif split == "cross_validation":
        data = (f"every statement of {data}, each predicted by the fold that held its episode out "
                f"({config.evaluate.cross_validation}-fold cross-validation by episode)")
    else:
        data = f"{split}: a labelled set evaluated after training (stance evaluate)"
    git = manifest.get("git") or {}
    commit = (git.get("commit") or "")[:12] + (" (uncommitted changes)" if git.get("dirty") else "")
    return RunDescription(run_id=run.id, name=config.name, description=config.description or "", model=model,
                          input=config.input.mode, data=data, split=split, started=manifest.get("started", "")[:19],
                          commit=commit, command=manifest.get("command", ""))


def evaluation_page(tables: Mapping[str, pd.DataFrame], metrics: Mapping[str, float], *,
                    about: RunDescription | None = None, confidence: float = 0.95,
                    images: Mapping[str, Path] | None = None, warnings: Sequence[str] = ()) -> str:
    """The page of one evaluation, as HTML.

    ``tables`` are the evaluation's frames (summary, per_class, confusion, reliability, by_*,
    errors, and comparison or folds when present); ``metrics`` is what ``metrics.json`` holds for
    this set (``macro_f1``, ``macro_f1_ci_low``, ...). ``images`` are PNG files by role:
    ``confusion``, ``reliability`` and ``history`` are drawn beside their tables; any other
    under "More figures".
    """
    about = about or RunDescription()
    images = dict(images or {})
    labels = [str(label) for label in tables["per_class"]["label"]] if "per_class" in tables else []
    sections = [
        *_comparison_section(tables, confidence),
        *_cross_validation_section(tables),
        *_scores_sections(tables, images, confidence),
        *_breakdown_section(tables),
        *_training_section(images),
        *_errors_section(tables, labels),
        *_more_section(tables, images, confidence),
    ]
    heading = f"{about.name}: {about.split}" if about.name else (about.split or "evaluation")
    page = Page(
        title=f"{about.run_id}: {about.split} ({about.model.partition(' (')[0]})" if about.run_id else heading,
        heading=heading,
        kicker="stance · evaluation report",
        lead=_lead(about, metrics, tables.get("comparison")),
        about=[(name, value) for name, value in (
            ("run", about.run_id),
            ("config", f"{about.name}: {about.description}" if about.description else about.name),
            ("model", about.model), ("input", about.input), ("evaluated on", about.data),
            ("started", about.started.replace("T", " ") + (" UTC" if about.started else "")),
            ("git commit", about.commit)) if value],
        facts=_facts(metrics, tables.get("comparison"), confidence),
        warnings=list(warnings),
        sections=sections,
        footer=_footer(tables, about),
    )
    return render(page)


def write_evaluation_page(run, evaluation, metrics: Mapping[str, float], folder: Path | None = None) -> Path:
    """Draw ``confusion.png`` and ``reliability.png`` and write the evaluation's page,
    ``report.html``, into ``folder`` (default: the run's ``reports/<name>/``); returns its path.

    ``run`` is a :class:`stance.runs.Run`, ``evaluation`` a :class:`stance.evaluate.Evaluation`
    and ``metrics`` what the run records for it in ``metrics.json``.
    """
    from stance.io import write_atomic
    from stance.report import plot_confusion, plot_reliability

    folder = Path(folder or run.reports_dir(evaluation.name))
    folder.mkdir(parents=True, exist_ok=True)
    tables = evaluation.tables
    images = {}
    if "confusion" in tables:
        images["confusion"] = plot_confusion(tables["confusion"], folder / "confusion.png")
    if "reliability" in tables:
        images["reliability"] = plot_reliability(tables["reliability"], folder / "reliability.png")
    if (run.path / "history.png").is_file():
        images["history"] = run.path / "history.png"
    page = evaluation_page(tables, metrics, about=describe_run(run, evaluation.name),
                           confidence=run.config().evaluate.confidence, images=images, warnings=evaluation.warnings)
    path = folder / "report.html"
    write_atomic(path, page)
    return path


# ----------------------------------------------------------------------------------------------
# The headline


def _best_baseline(comparison: pd.DataFrame | None) -> pd.Series | None:
    # The comparison's first row is the run's own model; the others are its baselines.
    if comparison is None or len(comparison) < 2:
        return None
    baselines = comparison.iloc[1:]
    return baselines.loc[baselines["macro_f1"].idxmax()]


def _lead(about: RunDescription, metrics: Mapping[str, float], comparison: pd.DataFrame | None) -> str:
    if "macro_f1" not in metrics:
        return ""
    who = about.name or about.model or "The model"
    if about.name and about.model and not about.model.startswith(about.name):
        who = f"{about.name}, a {about.model} model,"
    on = f" on the {about.split} set" if about.split else ""
    score = fmt.interval(metrics["macro_f1"], metrics.get("macro_f1_ci_low"), metrics.get("macro_f1_ci_high"))
    text = f"{who} scores macro-F1 {score}{on} ({fmt.count(metrics.get('n'))} statements)"
    best = _best_baseline(comparison)
    if best is not None:
        difference = float(best["model_minus_this"])
        relation = "above" if difference > 0 else ("below" if difference < 0 else "level with")
        amount = f"{abs(difference):.3f} " if difference else ""
        p = fmt.p_value(best["p_value"])
        text += (f", {amount}{relation} the best baseline, {best['model']} ({fmt.number(best['macro_f1'])}; paired "
                 f"test p {p if p.startswith('<') else '= ' + p})")
    return text + "."


def _facts(metrics: Mapping[str, float], comparison: pd.DataFrame | None, confidence: float) -> list[Fact]:
    ci = fmt.confidence_label(confidence)
    facts = []
    for metric in ("macro_f1", "accuracy"):
        if metric in metrics:
            note = ""
            if f"{metric}_fold_mean" in metrics:
                note = (f"mean over folds {fmt.number(metrics[f'{metric}_fold_mean'])} "
                        f"± {fmt.number(metrics.get(f'{metric}_fold_std'))}")
            has_interval = f"{metric}_ci_low" in metrics
            facts.append(Fact(f"{fmt.readable(metric)} [{ci}]" if has_interval else fmt.readable(metric),
                              fmt.interval(metrics[metric], metrics.get(f"{metric}_ci_low"),
                                           metrics.get(f"{metric}_ci_high")), note, metric))
    best = _best_baseline(comparison)
    if best is not None:
        p = fmt.p_value(best["p_value"])
        facts.append(Fact(f"best baseline: {best['model']} (macro-F1)", fmt.number(best["macro_f1"]),
                          f"model − baseline {fmt.signed(best['model_minus_this'])}, paired test "
                          f"p {p if p.startswith('<') else '= ' + p}", "baseline_macro_f1"))
    if "ece" in metrics:
        note = f"log loss {fmt.number(metrics['log_loss'])}" if "log_loss" in metrics else ""
        if "ece_uncalibrated" in metrics:
            note += (f"{'; ' if note else ''}before temperature scaling {fmt.number(metrics['ece_uncalibrated'])}"
                     f" (T = {fmt.number(metrics.get('temperature'))})")
        value = fmt.interval(metrics["ece"], metrics.get("ece_ci_low"), metrics.get("ece_ci_high"))
        facts.append(Fact("calibration error (ECE)", value, note, "ece"))
    if "n" in metrics:
        kappa = metrics.get("cohen_kappa")
        note = "" if fmt.is_missing(kappa) else f"Cohen's κ {fmt.number(kappa)}"
        if metrics.get("truncated"):
            note += f"{'; ' if note else ''}{fmt.count(metrics['truncated'])} truncated"
        facts.append(Fact("statements", fmt.count(metrics["n"]), note, "n"))
    return facts


def _footer(tables: Mapping[str, pd.DataFrame], about: RunDescription) -> list[str]:
    files = ", ".join(f"{name}.csv" for name in tables if name != "predictions")
    lines = [f"Made by stance {__version__} from the tables beside this page ({files}); predictions.csv "
             "holds every statement with its class probabilities."]
    if about.command:
        lines.append(f"Command: {about.command}")
    return lines


# ----------------------------------------------------------------------------------------------
# Sections


def _comparison_section(tables: Mapping[str, pd.DataFrame], confidence: float) -> list[Section]:
    if "comparison" not in tables:
        return []
    comparison = tables["comparison"]
    order = ["model", *[c for c in ("macro_f1", "macro_f1_low", "macro_f1_high", "accuracy", "accuracy_low",
                                    "accuracy_high") if c in comparison], "model_minus_this", "p_value"]
    shown = comparison[order + [c for c in comparison.columns if c not in order]]
    table = frame_table(shown, "comparison", confidence=confidence, key="model")
    table.rows[0].emphasis = True
    table.columns[[c.title for c in table.columns].index("model − this")].note = \
        "the model's macro-F1 minus this row's"
    table.caption = ("First row: the run's model. p: paired approximate-randomisation test of the macro-F1 "
                     "difference on the same statements.")
    figure = forest_figure(comparison, comparison["model"].astype(str).tolist(), 0,
                           "macro-F1 of the model and the baselines")
    return [Section("baselines", "Against the baselines", [Panel([table, figure])],
                    intro="Every baseline fitted on the same split and scored on the same statements.")]


def _cross_validation_section(tables: Mapping[str, pd.DataFrame]) -> list[Section]:
    panels = []
    if "folds" in tables:
        panels.append(Panel([frame_table(tables["folds"], "folds", key="fold")], "Per fold"))
    if "mean_std" in tables:
        spread = tables["mean_std"].assign(metric=lambda frame: frame["metric"].map(fmt.readable))
        panels.append(Panel([frame_table(spread, "mean_std", key="metric")], "Mean and spread over folds",
                            note="std: sample standard deviation over the folds."))
    return [Section("folds", "Cross-validation folds", panels)] if panels else []


def _scores_sections(tables: Mapping[str, pd.DataFrame], images: dict[str, Path], confidence: float) -> list[Section]:
    sections = []
    scores: list[Table] = []
    if "summary" in tables:
        scores.append(summary_table(tables["summary"], confidence=confidence))
    if "per_class" in tables:
        scores.append(frame_table(tables["per_class"], "per_class", key="label"))
        scores[-1].columns[0].title = "gold label"
    if scores:
        sections.append(Section("scores", "Scores", [Panel(scores)],
                                intro="All metrics of this set, and precision, recall and F1 per class."))
    if "confusion" in tables:
        items: list[Table | Figure] = [confusion_table(tables["confusion"])]
        if "confusion" in images:
            items.append(png_figure(images.pop("confusion"), "confusion matrix", "confusion matrix"))
        sections.append(Section("confusion", "Confusion matrix", [Panel(items)]))
    if "reliability" in tables:
        reliability = tables["reliability"]
        items = [frame_table(reliability, "reliability", key="bin")]
        if "reliability" in images:
            items.append(png_figure(images.pop("reliability"), "reliability diagram", "reliability diagram"))
        sections.append(Section("calibration", "Calibration", [Panel(items)],
                                intro="Statements binned by the model's confidence in its prediction: a calibrated "
                                      "model is right as often as it is confident. Empty bins are left blank."))
    return sections


def _breakdown_section(tables: Mapping[str, pd.DataFrame]) -> list[Section]:
    breakdowns = []
    for name, frame in tables.items():
        if not name.startswith("by_"):
            continue
        column = name.removeprefix("by_")
        table = frame_table(frame, name, sortable=True, key=column)
        table.sorted_by = ([c.title for c in table.columns].index("n"), "descending") if "n" in frame else None
        table.title, table.anchor = f"By {fmt.readable(column)}", f"breakdown-{column}"
        breakdowns.append(table)
    if not breakdowns:
        return []
    return [Section("breakdowns", "Breakdowns", [Panel(_stack_short(breakdowns))],
                    intro="Scores per group of statements, largest groups first; click a heading to sort. Small "
                          "groups give noisy scores.", toc=[(t.anchor, t.title) for t in breakdowns])]


def _stack_short(tables: list[Table], rows: int = 12) -> list[Table | Stack]:
    # Short tables side by side with a long one would leave most of the row empty: the long ones
    # come first, and the short ones share one column after them.
    long = [table for table in tables if len(table.rows) > rows]
    short = [table for table in tables if len(table.rows) <= rows]
    return [*long, Stack(short)] if short else long


def _training_section(images: dict[str, Path]) -> list[Section]:
    if "history" not in images:
        return []
    figure = png_figure(images.pop("history"), "training history", "training history")
    return [Section("training", "Training", [Panel([figure])], intro="Training loss and dev macro-F1 by step.")]


def _errors_section(tables: Mapping[str, pd.DataFrame], labels: list[str]) -> list[Section]:
    if "errors" not in tables:
        return []
    errors = tables["errors"]
    table = errors_table(errors)
    present = [label for label in labels if label in set(errors["label"]) | set(errors["prediction"])]
    panel = Panel([table], filter=ErrorFilter("errors", present or labels, len(errors)))
    return [Section("errors", "Errors", [panel],
                    intro=f"The {fmt.count(len(errors))} misclassified statements, most confident first.")]


def _more_section(tables: Mapping[str, pd.DataFrame], images: dict[str, Path], confidence: float) -> list[Section]:
    panels: list[Panel] = []
    for name, frame in tables.items():
        if name in _PLACED or name.startswith("by_"):
            continue
        panels.append(Panel([frame_table(frame, name, confidence=confidence, max_rows=100)], fmt.readable(name),
                            id=f"section-{name}"))
    for name, path in images.items():
        panels.append(Panel([png_figure(path, name, name)], name))
    return [Section("more", "More tables", panels)] if panels else []
