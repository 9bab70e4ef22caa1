"""Report frames turned into tables for reading: every cell already text, with a sort key.

A :class:`Table` is what the template draws; the builders here decide how each of the report's
frames reads (intervals folded into their metric's cell, readable column names, counts as
integers, empty cells where the frame has NaN). The frames themselves are untouched: the CSVs
beside the page keep every number in its own column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from stance.pages import formatting as fmt


@dataclass
class Column:
    """A column's heading and how its cells sit: ``num`` (right-aligned, never wrapped), ``text``,
    ``wide`` (the column that gets the room) or ``key`` (the row's name, a row heading)."""

    title: str
    kind: str = "text"
    note: str = ""  # shown on hover: what the column means


@dataclass
class Cell:
    text: str
    sort: float | None = None  # what sorting compares; the text when None
    style: str = ""  # inline CSS, e.g. a heat-map shade
    detail: str = ""  # a small second line (an error's actor, requester, episode and id)


@dataclass
class Row:
    cells: list[Cell]
    data: dict[str, str] = field(default_factory=dict)  # data-* attributes (the error filter reads them)
    emphasis: bool = False


@dataclass
class Table:
    """One table of a page. ``span`` draws a heading row above the column titles, as
    ``[(text, columns spanned), ...]`` (the confusion matrix's "predicted")."""

    id: str
    columns: list[Column]
    rows: list[Row]
    caption: str = ""
    sortable: bool = False
    kind: str = ""  # a CSS class: "errors", "confusion", "wide"
    span: list[tuple[str, int]] = field(default_factory=list)
    more: str = ""  # a line under the table, e.g. where the full data is
    sorted_by: tuple[int, str] | None = None  # (column, "ascending" or "descending") the rows come in
    title: str = ""  # a heading over the table (with ``anchor``, a table-of-contents entry)
    anchor: str = ""


def _sort_key(value: object) -> float | None:
    # Numbers sort by their value, not their text ("< 0.001", "1,897"); text sorts by itself, so needs no key.
    if fmt.is_missing(value) or not isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
        return None
    return float(value)


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def frame_table(frame: pd.DataFrame, table_id: str, *, confidence: float = 0.95, sortable: bool = False,
                key: str | None = None, caption: str = "", max_rows: int | None = None, more: str = "") -> Table:
    """Any report frame as a table: ``X``, ``X_low`` and ``X_high`` read as one interval column
    ``X [95% CI]``; every other column is formatted by :func:`stance.pages.formatting.cell`.

    ``key`` names the column that names each row (drawn as a row heading, on the left).
    ``max_rows`` keeps the first rows and says in the table's last line how many more there are.
    """
    folded = {c for c in frame.columns for suffix in ("_low", "_high")
              if c.endswith(suffix) and c.removesuffix(suffix) in frame.columns}
    ci = fmt.confidence_label(confidence)
    columns, getters = [], []
    for name in frame.columns:
        if name in folded:
            continue
        series = frame[name]
        if f"{name}_low" in folded and f"{name}_high" in folded:
            low, high = frame[f"{name}_low"].to_numpy(), frame[f"{name}_high"].to_numpy()
            values = series.to_numpy()
            has_interval = not (pd.isna(low).all() or pd.isna(high).all())
            title = f"{fmt.readable(name)} [{ci}]" if has_interval else fmt.readable(name)
            columns.append(Column(title, "num"))
            getters.append(lambda i, v=values, lo=low, hi=high: Cell(fmt.interval(v[i], lo[i], hi[i]), _sort_key(v[i])))
            continue
        kind = "key" if name == key else ("num" if _is_numeric(series) else "text")
        if name == "text":
            kind = "wide"
        columns.append(Column(fmt.readable(name), kind))
        values = series.to_numpy()
        getters.append(lambda i, v=values, n=name: Cell(fmt.cell(v[i], n), _sort_key(v[i])))
    shown = len(frame) if max_rows is None else min(len(frame), max_rows)
    rows = [Row([get(i) for get in getters]) for i in range(shown)]
    if shown < len(frame) and not more:
        more = f"{len(frame) - shown} more rows in the CSV."
    return Table(table_id, columns, rows, caption=caption, sortable=sortable, more=more)


def summary_table(frame: pd.DataFrame, table_id: str = "summary", *, confidence: float = 0.95) -> Table:
    """The summary frame (metric, value, ci_low, ci_high) as metric | value [CI]: a metric's
    interval in its own cell, counts as integers."""
    rows = []
    for metric, value, low, high in frame[["metric", "value", "ci_low", "ci_high"]].itertuples(index=False):
        text = fmt.count(value) if metric in fmt.COUNTS else fmt.interval(value, low, high)
        rows.append(Row([Cell(fmt.readable(metric)), Cell(text, _sort_key(value))]))
    columns = [Column("metric", "key"), Column(f"value [{fmt.confidence_label(confidence)}]", "num")]
    return Table(table_id, columns, rows)


def confusion_table(frame: pd.DataFrame, table_id: str = "confusion") -> Table:
    """Gold labels as rows, predictions as columns, each labelled as such; cells shaded by their
    share of the row, the diagonal (correct) in bold."""
    matrix = frame.set_index("gold") if "gold" in frame.columns else frame
    labels = [str(c) for c in matrix.columns]
    counts = matrix.to_numpy()
    rows = []
    for gold, row_counts in zip(matrix.index, counts, strict=True):
        total = row_counts.sum()
        cells = [Cell(str(gold))]
        for predicted, n in zip(labels, row_counts, strict=True):
            share = n / total if total else 0.0
            style = f"background:rgba(37,99,235,{0.06 + 0.34 * share:.2f})" if n else ""
            if predicted == str(gold):
                style += ";font-weight:600" if style else "font-weight:600"
            cells.append(Cell(fmt.count(n), float(n), style))
        cells.append(Cell(fmt.count(total), float(total)))
        rows.append(Row(cells))
    columns = [Column("gold ↓", "key"), *[Column(label, "num") for label in labels], Column("total", "num")]
    return Table(table_id, columns, rows, kind="confusion", span=[("", 1), ("predicted →", len(labels)), ("", 1)],
                 caption="Rows: the gold label. Columns: the model's prediction. The diagonal is correct.")


#: Columns of the errors table, in order, when present; the statement's context goes under its text.
_ERROR_CONTEXT = ("actor", "requester", "source_type", "episode", "id")


def errors_table(frame: pd.DataFrame, table_id: str = "errors") -> Table:
    """The misclassified statements: gold, predicted, the model's confidence and the probability
    it gave the gold label in narrow columns; the statement, with its actor, requester, source
    type, episode and id under it, in the wide one. Each row carries ``data-gold`` and
    ``data-predicted`` for the page's filter. (Every class's probability is in errors.csv.)"""
    columns = [Column("gold", "label"), Column("predicted", "label"),
               Column("confidence", "num", "the probability of the predicted label"),
               Column("P(gold)", "num", "the probability the model gave the gold label"), Column("statement", "wide")]
    rows = []
    for record in frame.to_dict("records"):
        context = " · ".join(str(record[c]) for c in _ERROR_CONTEXT if c in record and not fmt.is_missing(record[c]))
        gold, predicted = str(record["label"]), str(record["prediction"])
        p_gold = record.get(f"p_{gold}")
        cells = [Cell(gold), Cell(predicted),
                 Cell(fmt.number(record.get("confidence")), _sort_key(record.get("confidence"))),
                 Cell(fmt.number(p_gold), _sort_key(p_gold)),
                 Cell(str(record.get("text", "")), detail=context)]
        rows.append(Row(cells, data={"gold": gold, "predicted": predicted}))
    return Table(table_id, columns, rows, sortable=True, kind="errors", sorted_by=(2, "descending"))
