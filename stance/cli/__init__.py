"""The ``stance`` command line: thin Typer commands over the library, one module per command group.

Each command parses its arguments, loads what it needs and calls one library function. A
:class:`~stance.errors.StanceError` is printed as one line and exits with status 1 (``--debug``
shows the traceback); usage errors exit with 2. Library modules are imported inside the commands,
so that ``stance --help`` does not pay for torch.
"""

from __future__ import annotations

# `stance --help` lists the commands in the order they are registered, so these imports keep the
# workflow's order (experiments, articles, labelling) rather than the alphabet's.
# isort: off
from stance.cli._app import app
from stance.cli import experiments
from stance.cli import derived  # noqa: F401  (calibrate, distill)
from stance.cli import articles, labelling  # noqa: F401  (importing them registers their commands)
from stance.cli import data, models, reports, runs
# isort: on

app.add_typer(data.data_app, name="data")
app.add_typer(articles.articles_app, name="articles")
app.add_typer(experiments.config_app, name="config")
app.add_typer(runs.runs_app, name="runs")
app.add_typer(models.models_app, name="models")
app.add_typer(reports.report_app, name="report")

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
