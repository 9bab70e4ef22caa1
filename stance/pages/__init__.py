"""Pages for reading and sharing: a run's evaluation (``reports/<split>/report.html``) and a
comparison or leaderboard of runs (``stance report compare|leaderboard --output DIR``).

Each page is one self-contained HTML file drawn by one small Jinja2 template from the same
pandas frames the CSV reports hold: numbers formatted for reading (intervals as
``0.775 [0.726, 0.820]``, p-values as ``< 0.001``, counts as integers, no ``NaN``), plots embedded,
a table of contents, a print stylesheet, and an inline script for sorting and filtering. Nothing
is fetched: the file opens offline.

Modules: :mod:`~stance.pages.formatting` (how a number reads), :mod:`~stance.pages.tables`
(frames as tables), :mod:`~stance.pages.figures` (embedded images, the forest plot),
:mod:`~stance.pages.render` (the page's parts and the template), :mod:`~stance.pages.evaluation`
and :mod:`~stance.pages.comparison` (the two pages).
"""

from stance.pages.comparison import comparison_page
from stance.pages.evaluation import RunDescription, describe_run, evaluation_page, write_evaluation_page

__all__ = ["RunDescription", "comparison_page", "describe_run", "evaluation_page", "write_evaluation_page"]
