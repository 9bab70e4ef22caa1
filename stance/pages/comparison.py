"""Finished runs side by side as a page: ``stance report compare|leaderboard --output DIR``.

The page reads :func:`stance.compare.compare_runs`'s frame (best macro-F1 first): a headline
with the best run and the runs a paired test cannot tell from it, the runs in one table with
their intervals and p-values, and a forest plot of macro-F1 with its interval.
"""

from __future__ import annotations

import pandas as pd

from stance import __version__
from stance.pages import formatting as fmt
from stance.pages.figures import forest_figure
from stance.pages.render import Fact, Page, Panel, Section, render
from stance.pages.tables import Cell, Column, Row, Table

#: Below this p-value a run's difference from the best is called significant on the page.
ALPHA = 0.05


def comparison_page(table: pd.DataFrame, title: str, *, confidence: float = 0.95, kind: str = "comparison") -> str:
    """The page of a comparison frame (``run, name, model, macro_f1[_low|_high], accuracy[_low|_high],
    n, best_minus_this, p_value``; best first), as HTML. ``kind`` names it in the page's kicker
    (``comparison`` or ``leaderboard``)."""
    best = table.iloc[0]
    ci = fmt.confidence_label(confidence)
    tied = [str(row["name"]) for _, row in table.iloc[1:].iterrows()
            if not fmt.is_missing(row["p_value"]) and row["p_value"] >= ALPHA]
    facts = [
        Fact(f"best: {_who(best)}, macro-F1 [{ci}]",
             fmt.interval(best["macro_f1"], best.get("macro_f1_low"), best.get("macro_f1_high")),
             f"accuracy {fmt.interval(best['accuracy'], best.get('accuracy_low'), best.get('accuracy_high'))}",
             "best_macro_f1"),
        Fact("runs compared", fmt.count(len(table)), f"each on the same {fmt.count(best['n'])} statements", "runs"),
        Fact(f"not told apart from the best (p ≥ {ALPHA})", fmt.count(len(tied)),
             ", ".join(tied) if tied else f"every other run is behind it at p < {ALPHA}", "tied"),
    ]
    names = _names(table)
    section = Section("runs", "Runs side by side", [Panel([_runs_table(table, confidence),
                                                           forest_figure(table, names, 0, "macro-F1 by run")])],
                      intro="Best macro-F1 first. best − this: the best run's macro-F1 minus this row's; p: paired "
                            "approximate-randomisation test of that difference on the same statements. Intervals "
                            "are bootstrap intervals, recomputed with one seed for every row.")
    lead = (f"{fmt.count(len(table))} runs on the same {fmt.count(best['n'])} statements. The best, {_who(best)}, "
            "scores macro-F1 "
            f"{fmt.interval(best['macro_f1'], best.get('macro_f1_low'), best.get('macro_f1_high'))}.")
    page = Page(title=title, heading=title, kicker=f"stance · {kind}", lead=lead, facts=facts, sections=[section],
                footer=[f"Made by stance {__version__} from the table beside this page ({kind}.csv), which keeps "
                        "every number in its own column."])
    return render(page)


def _who(row: pd.Series) -> str:
    return str(row["name"]) if row["name"] == row["model"] else f"{row['name']} ({row['model']})"


def _names(table: pd.DataFrame) -> list[str]:
    # Two runs of one config (stance report compare) would share a name: tell them apart by run id.
    names = table["name"].astype(str).tolist()
    return [f"{name} ({run})" if names.count(name) > 1 else name for name, run in zip(names, table["run"], strict=True)]


def _runs_table(table: pd.DataFrame, confidence: float) -> Table:
    ci = fmt.confidence_label(confidence)
    columns = [Column("#", "num"), Column("run", "key"), Column("model"), Column(f"macro-F1 [{ci}]", "num"),
               Column(f"accuracy [{ci}]", "num"), Column("n", "num"),
               Column("best − this", "num", "the best run's macro-F1 minus this row's"),
               Column("p", "num", "paired approximate-randomisation test against the best run")]
    rows = []
    for rank, record in enumerate(table.to_dict("records"), start=1):
        cells = [Cell(str(rank), rank), Cell(str(record["name"]), detail=str(record["run"])),
                 Cell(str(record["model"])),
                 Cell(fmt.interval(record["macro_f1"], record.get("macro_f1_low"), record.get("macro_f1_high")),
                      record["macro_f1"]),
                 Cell(fmt.interval(record["accuracy"], record.get("accuracy_low"), record.get("accuracy_high")),
                      record["accuracy"]),
                 Cell(fmt.count(record["n"]), record["n"]),
                 Cell(fmt.signed(record["best_minus_this"]) if rank > 1 else "", record["best_minus_this"]),
                 Cell(fmt.p_value(record["p_value"]), None if fmt.is_missing(record["p_value"]) else record["p_value"])]
        rows.append(Row(cells, emphasis=rank == 1))
    return Table("runs", columns, rows, sortable=True, sorted_by=(3, "descending"))
