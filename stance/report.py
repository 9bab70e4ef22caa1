"""Reports: pandas tables written as CSV (the data) and a one-page Markdown report, shown in the terminal with rich, and
plotted with matplotlib (PNG, drawn on the Agg canvas: no display, no pyplot state). The HTML pages are
:mod:`stance.pages`."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from stance.io import atomic_path, write_atomic

__all__ = ["comparison_view", "interval_text", "markdown", "plot_confusion", "plot_history", "plot_reliability",
           "read_csv_table", "rich_table", "runs_view", "STATEMENT_TABLES", "save_figure", "show", "summary_view",
           "write_atomic", "write_tables"]


def markdown(frame: pd.DataFrame, decimals: int = 3) -> str:
    """A GitHub-flavoured Markdown table (no index): floats to ``decimals``, numbers right-aligned.

    Cells are formatted here and tabulate's own number parsing is off, so that a column of
    mixed counts and shares shows ``24`` and ``0.44`` rather than ``24.000``.
    """
    shown = frame.copy()
    align = []
    for column in shown.columns:
        series = shown[column]
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        if pd.api.types.is_float_dtype(series):
            shown[column] = [_cell(v, decimals) for v in series]
        align.append("right" if numeric or _looks_numeric(series) else "left")
    return shown.to_markdown(index=False, disable_numparse=True, colalign=align)


def _looks_numeric(series: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(series) and all(isinstance(v, str) and _is_number(v) for v in series)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


#: Tables with a row per statement: their CSV is the data, and report.md only says where it is.
STATEMENT_TABLES: tuple[str, ...] = ("predictions", "errors")


def write_tables(tables: Mapping[str, pd.DataFrame], folder: Path, title: str = "") -> list[Path]:
    """Write each table as ``<name>.csv`` into ``folder`` (the data), plus one page, ``report.md``,
    showing the first 50 rows of each but the :data:`STATEMENT_TABLES`, which it names."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    sections = [f"# {title}\n"] if title else []
    for name, table in tables.items():
        csv_path = folder / f"{name}.csv"
        write_atomic(csv_path, table.to_csv(index=False))
        written.append(csv_path)
        if name in STATEMENT_TABLES:
            sections.append(f"## {name.replace('_', ' ')}\n\n{len(table)} rows in {name}.csv\n")
            continue
        shown = table.head(50)
        more = f"\n\n({len(table) - 50} more rows in {name}.csv)" if len(table) > 50 else ""
        sections.append(f"## {name.replace('_', ' ')}\n\n{markdown(shown)}{more}\n")
    write_atomic(folder / "report.md", "\n".join(sections))
    return written


def read_csv_table(path: Path) -> pd.DataFrame:
    """Read back a table this module wrote."""
    return pd.read_csv(path)


def rich_table(frame: pd.DataFrame, title: str | None = None, max_rows: int = 30) -> Table:
    """A rich Table for the terminal; floats shown with three decimals.

    A figure with its interval (``0.775 [0.726, 0.820]``) is never wrapped, so that where the
    terminal is narrow the text columns wrap and every figure stays whole on its line; a text
    column keeps room for ten characters (or its longest cell) so that it wraps into words rather
    than into single letters.
    """
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in frame.columns:
        cells = frame[column].head(max_rows)
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        figures = numeric or _all_figures(cells)
        longest = max((len(_cell(v)) for v in cells), default=0)
        table.add_column(str(column), justify="right" if figures else "left", overflow="fold",
                         no_wrap=figures and not numeric and longest > _word(cells),
                         min_width=None if figures else min(10, max(longest, len(str(column)))))
    for _, row in frame.head(max_rows).iterrows():
        table.add_row(*[_cell(v) for v in row])
    if len(frame) > max_rows:
        table.caption = f"{len(frame) - max_rows} more rows not shown"
    return table


#: A figure as the terminal views write it: a number, with or without its interval.
_FIGURE = re.compile(r"-?\d[\d.e+-]*( \[-?\d[\d.e+-]*, -?\d[\d.e+-]*\])?")


def _all_figures(series: pd.Series) -> bool:
    cells = [v for v in series if not (isinstance(v, str) and v == "")]
    return all(isinstance(v, str) and _FIGURE.fullmatch(v) for v in cells)


def _word(cells: pd.Series) -> int:
    """The longest word among ``cells`` (what a wrapped column still has to fit)."""
    return max((len(word) for v in cells for word in _cell(v).split()), default=0)


def _cell(value, decimals: int = 3) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.{decimals}f}"
    return str(value)


def show(frame: pd.DataFrame, title: str | None = None, console: Console | None = None, max_rows: int = 30) -> None:
    """Print a table to the terminal."""
    (console or Console()).print(rich_table(frame, title, max_rows))


# Terminal views: the tables as the commands print them. They change only what the terminal shows;
# the CSV and Markdown files keep every column. By default a view keeps the columns a reader looks
# at first, each interval folded into its metric's cell, under a readable header, so that it fits
# an 80-column terminal; ``wide=True`` keeps every column.

def interval_text(value, low=None, high=None, decimals: int = 3) -> str:
    """``0.775 [0.726, 0.820]``: a value with its interval, or the value alone where there is none
    (a count, such as 323.0, without its decimals; an empty string for a missing value)."""
    if _missing(value):
        return ""
    if _missing(low) or _missing(high):
        value = float(value)
        return str(int(value)) if value.is_integer() and abs(value) > 1 else f"{value:.{decimals}f}"
    return f"{value:.{decimals}f} [{low:.{decimals}f}, {high:.{decimals}f}]"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _view(frame: pd.DataFrame, columns: Mapping[str, str], key: Sequence[str], wide: bool,
          intervals: Mapping[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """``frame``'s ``columns`` (all of them with ``wide``, else those in ``key``) under their
    headers, each column of ``intervals`` as text with its (low, high) columns folded in."""
    shown, intervals = {}, intervals or {}
    for column, header in columns.items():
        if column not in frame.columns or not (wide or column in key):
            continue
        if column in intervals:
            low, high = intervals[column]
            ranges = zip(frame.get(low, [None] * len(frame)), frame.get(high, [None] * len(frame)), strict=True)
            shown[header] = [interval_text(v, lo, hi) for v, (lo, hi) in zip(frame[column], ranges, strict=True)]
        else:
            shown[header] = frame[column].tolist()
    return pd.DataFrame(shown)


def comparison_view(table: pd.DataFrame, *, wide: bool = False, confidence: float = 0.95) -> pd.DataFrame:
    """A comparison table for the terminal: :func:`stance.compare.compare_runs`'s (run, name, ...,
    best_minus_this, p_value) or the model beside its baselines (model, ..., model_minus_this,
    p_value). By default: who, macro-F1 with its interval, accuracy, the difference and p."""
    ci = f"{confidence:.0%} CI"
    difference = "best_minus_this" if "best_minus_this" in table.columns else "model_minus_this"
    columns = {"run": "run", "name": "name", "model": "model", "macro_f1": f"macro-F1 [{ci}]",
               # a task's official metric (evaluate.metrics), where the run has one
               "f_avg": "F_avg" if not wide else f"F_avg [{ci}]",
               "accuracy": f"accuracy [{ci}]" if wide else "accuracy", "n": "n",
               # two-line headers where the figures below them are narrower than the words
               difference: difference.replace("_minus_", " −\n"), "p_value": "p"}
    # A leaderboard's config names are shorter than its run ids and tell the rows apart; the model
    # beside its baselines has neither, and is told apart by model.
    who = "name" if "name" in table.columns else "model"
    folded = ("macro_f1", "accuracy") if wide else ("macro_f1",)
    view = _view(table, columns, key=(who, "macro_f1", "f_avg", "accuracy", difference, "p_value"), wide=wide,
                 intervals={metric: (f"{metric}_low", f"{metric}_high") for metric in (*folded, "f_avg")
                            if wide or metric != "f_avg"})
    if not wide and "f_avg" in table.columns:
        view["F_avg"] = [interval_text(v) for v in table["f_avg"]]
    if not wide and who == "name" and table["name"].duplicated().any():
        # Two runs of one config (stance report compare): their ids tell them apart.
        view["name"] = [f"{name} ({run})" if duplicated else name for name, run, duplicated in
                        zip(table["name"], table["run"], table["name"].duplicated(keep=False), strict=True)]
    view[columns[difference]] = [interval_text(v) for v in table[difference]]
    view["p"] = ["" if _missing(v) else f"{v:.3g}" for v in table["p_value"]]
    return view


def runs_view(runs: pd.DataFrame, *, wide: bool = False) -> pd.DataFrame:
    """:func:`stance.runs.list_runs`'s table for the terminal: by default run, status and the dev
    and test macro-F1."""
    columns = {"run": "run", "name": "name", "model": "model", "status": "status", "started": "started",
               "wall_s": "wall s", "dev_macro_f1": "dev\nmacro-F1", "dev_accuracy": "dev\naccuracy",
               "test_macro_f1": "test\nmacro-F1", "test_accuracy": "test\naccuracy"}
    # The run id names the config; the model type is one --wide away.
    return _view(runs, columns, key=("run", "status", "dev_macro_f1", "test_macro_f1"), wide=wide,
                 intervals={c: ("", "") for c in columns if c.endswith(("_f1", "_accuracy"))})


def summary_view(summary: pd.DataFrame, *, wide: bool = False, confidence: float = 0.95) -> pd.DataFrame:
    """An evaluation's summary (metric, value, ci_low, ci_high) for the terminal: by default each
    interval folded into its value; ``wide`` keeps the table as it is."""
    if wide:
        return summary
    return _view(summary, {"metric": "metric", "value": f"value [{confidence:.0%} CI]"}, key=("metric", "value"),
                 wide=False, intervals={"value": ("ci_low", "ci_high")})


def _figure(width: float = 4.8, height: float = 4.0, **margins: float):
    # A bare Figure on an Agg canvas: works headless and in threads, and leaves pyplot untouched.
    # Fixed margins instead of a layout engine: one draw per PNG instead of two.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    figure.subplots_adjust(**{"left": 0.17, "right": 0.96, "bottom": 0.13, "top": 0.91, **margins})
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure, path: Path) -> Path:
    """Write ``figure`` as PNG through a temporary file and a rename (:func:`stance.io.atomic_path`)."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", metadata={"Software": None})
    return path


def plot_confusion(confusion: pd.DataFrame, path: Path, title: str = "confusion matrix") -> Path:
    """The confusion matrix as a heat map with counts: gold labels as rows, predictions as columns.

    ``confusion`` is :func:`stance.evaluate.confusion_table`'s frame, indexed by ``gold`` or with
    a ``gold`` column (as the report tables keep it).
    """
    matrix = confusion.set_index("gold") if "gold" in confusion.columns else confusion
    counts = matrix.to_numpy()
    figure = _figure()
    ax = figure.subplots()
    ax.imshow(counts, cmap="Blues", vmin=0)
    ax.set(xticks=range(counts.shape[1]), yticks=range(counts.shape[0]), xlabel="predicted", ylabel="gold",
           title=title)
    ax.set_xticklabels([str(c) for c in matrix.columns])
    ax.set_yticklabels([str(i) for i in matrix.index])
    dark = counts.max() * 0.6 if counts.size else 0
    for (row, col), count in np.ndenumerate(counts):
        ax.text(col, row, str(count), ha="center", va="center", color="white" if count > dark else "black")
    return save_figure(figure, path)


def plot_reliability(reliability: pd.DataFrame, path: Path, title: str = "reliability diagram") -> Path:
    """Accuracy per confidence bin against the diagonal of perfect calibration, with counts.

    ``reliability`` is :func:`stance.evaluate.reliability_table`'s frame (equal-width bins on
    [0, 1]); empty bins draw no bar.
    """
    n_bins = len(reliability)
    centres = (np.arange(n_bins) + 0.5) / n_bins
    filled = reliability["count"].to_numpy() > 0
    figure = _figure()
    ax = figure.subplots()
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    ax.bar(centres[filled], reliability["accuracy"].to_numpy()[filled], width=1 / n_bins, edgecolor="black",
           alpha=0.7, label="accuracy")
    scaled = "confidence_uncalibrated" in reliability.columns
    ax.plot(reliability["confidence"][filled], reliability["accuracy"][filled], "o", color="tab:red",
            label="after temperature scaling" if scaled else "mean confidence per bin")
    for x, y, count in zip(centres[filled], reliability["accuracy"][filled], reliability["count"][filled],
                           strict=True):
        ax.annotate(str(int(count)), (x, y), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=8)
    if scaled:
        # Before temperature scaling: where each bin's statements sat (confidence, accuracy) then.
        before = reliability[reliability["count_uncalibrated"].to_numpy() > 0]
        ax.plot(before["confidence_uncalibrated"], before["accuracy_uncalibrated"], "x--", color="tab:grey",
                label="before temperature scaling")
    ax.set(xlim=(0, 1), ylim=(0, 1.08), xlabel="confidence (top-label probability)", ylabel="accuracy", title=title)
    ax.legend(loc="upper left", fontsize=8)
    return save_figure(figure, path)


def plot_history(history: pd.DataFrame, path: Path, title: str = "training") -> Path | None:
    """Training loss and dev macro-F1 over steps, from the Trainer's log history.

    Reads rows with ``loss`` and ``step`` and rows with ``eval_macro_f1`` and ``step``; returns
    ``None`` (and writes nothing) when there are none, as for the baselines.
    """
    def rows(column: str) -> pd.DataFrame:
        if not {column, "step"} <= set(history.columns):
            return history.iloc[0:0]
        return history.dropna(subset=[column, "step"]).sort_values("step")

    curves = [(frame, column, label) for frame, column, label in (
        (rows("loss"), "loss", "training loss"), (rows("eval_macro_f1"), "eval_macro_f1", "dev macro-F1"))
        if not frame.empty]
    if not curves:
        return None
    figure = _figure(width=4.2 * len(curves), height=3.4, left=0.17 / len(curves), top=0.84, bottom=0.15,
                     wspace=0.3)
    for ax, (frame, column, label) in zip(np.atleast_1d(figure.subplots(1, len(curves))), curves, strict=True):
        ax.plot(frame["step"], frame[column], marker="o" if len(frame) < 30 else None)
        ax.set(xlabel="step", ylabel=label, title=label)
        if column == "eval_macro_f1":
            ax.set_ylim(0, 1)
    figure.suptitle(title)
    return save_figure(figure, path)
