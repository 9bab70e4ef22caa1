"""A page's parts (headline facts, sections of tables and figures) and the one template that draws them.

The template, its stylesheet (screen and print) and its script live in ``stance/pages/templates/``
and are inlined into every page: a page is one file with nothing to fetch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from markupsafe import Markup

from stance.pages.figures import Figure
from stance.pages.tables import Table


@dataclass
class Fact:
    """One headline figure: ``value`` under a short ``label``, with a ``note`` in small print.
    ``metric`` names the metrics.json key the value shows (a ``data-metric`` attribute)."""

    label: str
    value: str
    note: str = ""
    metric: str = ""

    @property
    def parts(self) -> tuple[str, str]:
        """The value and its interval (``"0.775"``, ``"[0.726, 0.820]"``), drawn in two sizes."""
        value, _, interval = self.value.partition(" [")
        return value, f"[{interval}" if interval else ""


@dataclass
class ErrorFilter:
    """Drop-downs that show only the error rows with a given gold and predicted label."""

    table: str  # the errors table's id
    labels: list[str]
    total: int


@dataclass
class Stack:
    """Short tables one above the other, sharing one place in a panel's row."""

    items: list[Table]


@dataclass
class Panel:
    """Tables and figures shown side by side (they wrap when the window is narrow), under an
    optional heading; ``id`` makes it a table-of-contents entry."""

    items: list[Table | Figure | Stack]
    title: str = ""
    id: str = ""
    note: str = ""
    filter: ErrorFilter | None = None


@dataclass
class Section:
    id: str
    title: str
    panels: list[Panel]
    intro: str = ""
    toc: list[tuple[str, str]] = field(default_factory=list)  # (anchor, title) entries under the section's


@dataclass
class Page:
    title: str  # the browser tab's and the printout's title
    heading: str
    kicker: str = ""
    lead: str = ""
    about: list[tuple[str, str]] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    footer: list[str] = field(default_factory=list)


@cache
def _environment():
    from jinja2 import Environment, StrictUndefined

    # Autoescape everything: statements, episode names and ids are text from the data.
    environment = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True)
    environment.tests["table"] = lambda item: isinstance(item, Table)
    environment.tests["stack"] = lambda item: isinstance(item, Stack)
    return environment


def _asset(name: str) -> str:
    return resources.files("stance.pages").joinpath("templates", name).read_text(encoding="utf-8")


@cache
def _template():
    return _environment().from_string(_asset("page.html.j2"))


def render(page: Page) -> str:
    """The page as one self-contained HTML document."""
    return _template().render(page=page, css=Markup(_asset("page.css")), script=Markup(_asset("page.js")))
