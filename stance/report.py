"""Reports: pandas tables written as CSV, Markdown and HTML, shown in the terminal with rich, and
plotted with matplotlib (PNG, drawn on the Agg canvas: no display, no pyplot state)."""

from __future__ import annotations

import base64
import html
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table


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


def write_atomic(path: Path, text: str) -> None:
    """Write text through a temporary file and a rename: a crash never leaves half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_tables(tables: Mapping[str, pd.DataFrame], folder: Path, title: str = "") -> list[Path]:
    """Write each table as ``<name>.csv`` and ``<name>.md`` into ``folder``, plus ``report.md``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    sections = [f"# {title}\n"] if title else []
    for name, table in tables.items():
        csv_path = folder / f"{name}.csv"
        write_atomic(csv_path, table.to_csv(index=False))
        write_atomic(folder / f"{name}.md", markdown(table) + "\n")
        written.append(csv_path)
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


def html_page(title: str, tables: Mapping[str, pd.DataFrame], images: Mapping[str, str] | None = None,
              max_rows: int = 50) -> str:
    """One self-contained HTML page of tables (and inline base64 PNG images).

    Tables longer than ``max_rows`` show their first rows and say how many more the CSV holds.
    """
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .5em}"
        "th{background:#f3f3f3}td{vertical-align:top}img{max-width:100%}"
    )
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>"]
    for name, table in tables.items():
        parts.append(f"<h2>{html.escape(name.replace('_', ' '))}</h2>")
        parts.append(table.head(max_rows).to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0))
        if len(table) > max_rows:
            parts.append(f"<p>({len(table) - max_rows} more rows in the CSV)</p>")
    for name, data in (images or {}).items():
        parts.append(f"<h2>{html.escape(name)}</h2><img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>")
    parts.append("</body></html>")
    return "\n".join(parts)


# ----------------------------------------------------------------------------------------------
# Plots


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
    """Write ``figure`` as PNG through a temporary file and a rename (like :func:`write_atomic`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    figure.savefig(tmp, format="png", metadata={"Software": None})
    os.replace(tmp, path)
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


def png_base64(path: Path) -> str:
    """A PNG file as base64 text, for an ``<img src="data:image/png;base64,...">``."""
    return base64.b64encode(Path(path).read_bytes()).decode("ascii")


def write_evaluation_report(tables: Mapping[str, pd.DataFrame], folder: Path, title: str,
                            images: Mapping[str, Path] | None = None) -> Path:
    """Plots and one self-contained ``report.html`` for an evaluated set, in ``folder``.

    Draws ``confusion.png`` and ``reliability.png`` from the ``confusion`` and ``reliability``
    tables (when present), and writes every table but ``predictions`` (all statements: see its
    CSV) with ``errors`` shown as the top errors, then the plots and any further ``images``
    inline. Returns the page's path.
    """
    plots = {}
    if "confusion" in tables:
        plots["confusion matrix"] = plot_confusion(tables["confusion"], folder / "confusion.png")
    if "reliability" in tables:
        plots["reliability diagram"] = plot_reliability(tables["reliability"], folder / "reliability.png")
    plots.update(images or {})
    shown = {("top_errors" if name == "errors" else name): table
             for name, table in tables.items() if name != "predictions"}
    page = html_page(title, shown, {name: png_base64(png) for name, png in plots.items()}, max_rows=25)
    path = folder / "report.html"
    write_atomic(path, page)
    return path
