"""Reports: pandas tables written as CSV, Markdown and HTML, and shown in the terminal with rich."""

from __future__ import annotations

import html
import math
import os
from collections.abc import Mapping
from pathlib import Path

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


def html_page(title: str, tables: Mapping[str, pd.DataFrame], images: Mapping[str, str] | None = None) -> str:
    """One self-contained HTML page of tables (and inline base64 PNG images)."""
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .5em}"
        "th{background:#f3f3f3}td{vertical-align:top}img{max-width:100%}"
    )
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>"]
    for name, table in tables.items():
        parts.append(f"<h2>{html.escape(name.replace('_', ' '))}</h2>")
        parts.append(table.to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0))
    for name, data in (images or {}).items():
        parts.append(f"<h2>{html.escape(name)}</h2><img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>")
    parts.append("</body></html>")
    return "\n".join(parts)
