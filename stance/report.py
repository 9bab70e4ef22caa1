"""Reports: pandas tables written as CSV (the data) and a one-page Markdown report, shown in the terminal with rich, and
plotted with matplotlib (PNG, drawn on the Agg canvas: no display, no pyplot state). The HTML pages are
:mod:`stance.pages`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from stance.io import atomic_path, write_atomic

__all__ = ["markdown", "plot_confusion", "plot_history", "plot_reliability", "read_csv_table", "rich_table",
           "STATEMENT_TABLES", "save_figure", "show", "write_atomic", "write_tables"]


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
    """A rich Table for the terminal; floats shown with three decimals."""
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        table.add_column(str(column), justify="right" if numeric else "left", overflow="fold")
    for _, row in frame.head(max_rows).iterrows():
        table.add_row(*[_cell(v) for v in row])
    if len(frame) > max_rows:
        table.caption = f"{len(frame) - max_rows} more rows not shown"
    return table


def _cell(value, decimals: int = 3) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.{decimals}f}"
    return str(value)


def show(frame: pd.DataFrame, title: str | None = None, console: Console | None = None, max_rows: int = 30) -> None:
    """Print a table to the terminal."""
    (console or Console()).print(rich_table(frame, title, max_rows))


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
    ax.plot(reliability["confidence"][filled], reliability["accuracy"][filled], "o", color="tab:red",
            label="mean confidence per bin")
    for x, y, count in zip(centres[filled], reliability["accuracy"][filled], reliability["count"][filled],
                           strict=True):
        ax.annotate(str(int(count)), (x, y), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=8)
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
