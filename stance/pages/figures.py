"""Figures a page carries inside itself: PNG files as data URIs, and the forest plot as inline SVG.

Nothing a page shows is fetched: an image is either base64 in an ``<img src="data:...">`` or
SVG markup in the page, so the one HTML file opens offline and can be mailed as it is.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from markupsafe import Markup


@dataclass
class Figure:
    """An image for the template: ``src`` (a data URI) or ``svg`` (inline markup), with alt text."""

    title: str
    alt: str
    src: str = ""
    svg: Markup | None = None
    caption: str = ""


def png_figure(path: Path, title: str, alt: str, caption: str = "") -> Figure:
    """A PNG file embedded as a ``data:image/png;base64,...`` URI."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return Figure(title, alt, src=f"data:image/png;base64,{data}", caption=caption)


def forest_svg(names: Sequence[str], estimates: Sequence[float], lows: Sequence[float | None],
               highs: Sequence[float | None], *, reference: int | None = 0, xlabel: str = "macro-F1") -> Markup:
    """A forest plot: one row per name, top to bottom, its estimate as a dot and its interval as
    a line; a dashed vertical line at the ``reference`` row's estimate (drawn in a darker colour).

    Returns ``<svg>`` markup that scales to its container: text stays text (``svg.fonttype:
    none``) so it prints sharply and is searchable, and ids are fixed so a page is reproducible.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    count = len(names)
    height = 0.9 + 0.34 * count
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "stance-pages", "font.size": 10}):
        figure = MplFigure(figsize=(4.4, height), dpi=100)
        FigureCanvasAgg(figure)
        figure.subplots_adjust(left=0.3, right=0.97, top=1 - 0.25 / height, bottom=0.62 / height)
        ax = figure.subplots()
        ys = list(range(count))[::-1]
        for y, estimate, low, high, i in zip(ys, estimates, lows, highs, range(count), strict=True):
            colour = "#1e3a8a" if i == reference else "#2563eb"
            if low is not None and high is not None and low == low and high == high:
                ax.plot([low, high], [y, y], color=colour, linewidth=2, solid_capstyle="butt")
            ax.plot([estimate], [y], "o", color=colour, markersize=6 if i == reference else 5)
        if reference is not None and count:
            ax.axvline(estimates[reference], color="#6b7280", linestyle="--", linewidth=0.8)
        ax.set_yticks(ys, [str(n) for n in names])
        ax.set_ylim(-0.6, count - 0.4)
        ax.set_xlabel(xlabel)
        ax.grid(axis="x", color="#e5e7eb", linewidth=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        buffer = io.StringIO()
        # A tight box: room for the longest name, however long, and no more.
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight",
                       pad_inches=0.05)
    return Markup(_responsive(buffer.getvalue()))


def _responsive(svg: str) -> str:
    # Drop the XML prolog and DOCTYPE (HTML does not want them) and the fixed width and height in
    # points: the viewBox keeps the aspect ratio while CSS sets the width.
    svg = svg[svg.index("<svg"):]
    head, rest = svg.split(">", 1)
    head = re.sub(r'\s(width|height)="[^"]*"', "", head)
    return f'{head} role="img">{rest}'


def forest_figure(table: pd.DataFrame, names: Sequence[str], reference: int | None, title: str) -> Figure:
    """The forest plot of a comparison frame's ``macro_f1`` and its interval (``macro_f1_low``,
    ``macro_f1_high``), one row per name, as a :class:`Figure`."""
    low = table["macro_f1_low"] if "macro_f1_low" in table else [None] * len(table)
    high = table["macro_f1_high"] if "macro_f1_high" in table else [None] * len(table)
    svg = forest_svg(names, table["macro_f1"].tolist(), list(low), list(high), reference=reference)
    return Figure(title, alt=title, svg=svg,
                  caption="Dots: macro-F1. Lines: its bootstrap interval. Dashed: the reference row.")
