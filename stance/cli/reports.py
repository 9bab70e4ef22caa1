"""Reports across runs: ``stance report compare|leaderboard``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from stance.cli._app import WideOpt, console, handles_errors

report_app = typer.Typer(help="Compare finished runs on the same statements, with intervals and paired tests.",
                         no_args_is_help=True)

ReportSplitOpt = Annotated[str, typer.Option("--split", help="Evaluated set to compare (reports/<split>/), e.g. "
                                             "test, dev or cross_validation.")]
OutputDirOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="Also write the table as CSV, Markdown "
                                                      "and HTML into this folder.")]
ByEpisodeOpt = Annotated[bool, typer.Option("--by-episode", help="Resample and swap whole episodes (clustered "
                                            "bootstrap and paired test).")]
ResamplesOpt = Annotated[int, typer.Option(min=100, help="Resamples of the paired approximate-randomisation test.")]
BaselinesOpt = Annotated[bool, typer.Option("--baselines/--no-baselines", help="A row for each baseline fitted "
                                            "inside a run (reports/<split>/baselines/, written by `stance run`), "
                                            "named <run> / <baseline>.")]


@report_app.command("compare")
@handles_errors
def report_compare(
    runs: Annotated[list[Path], typer.Argument(help="Run directories evaluated on the same statements.",
                                               show_default=False)],
    split: ReportSplitOpt = "test",
    output: OutputDirOpt = None,
    by_episode: ByEpisodeOpt = False,
    resamples: ResamplesOpt = 2000,
    baselines: BaselinesOpt = False,
    wide: WideOpt = False,
) -> None:
    """One row per RUN: macro-F1 with its 95% interval, accuracy, n, the difference to the best run
    and the p-value of a paired test against it, from each run's predictions matched by id."""
    from stance.compare import compare_runs
    from stance.runs import open_run

    table = compare_runs([open_run(run) for run in runs], split, resamples=resamples,
                         cluster_by="episode" if by_episode else None, baselines=baselines)
    _show_comparison(table, "comparison", f"{len(runs)} runs on {split}", output, wide)


@report_app.command("leaderboard")
@handles_errors
def report_leaderboard(
    parent: Annotated[Path, typer.Argument(help="Folder of runs.")] = Path("experiments"),
    split: ReportSplitOpt = "test",
    output: OutputDirOpt = None,
    by_episode: ByEpisodeOpt = False,
    resamples: ResamplesOpt = 2000,
    baselines: BaselinesOpt = True,
    wide: WideOpt = False,
) -> None:
    """One row per config name (its latest complete run evaluated on --split) and one per baseline
    fitted inside those runs, best macro-F1 first, with intervals, the difference to the best and
    the paired test's p-value, all on the same statements."""
    from stance.compare import leaderboard

    table = leaderboard(parent, split, resamples=resamples, cluster_by="episode" if by_episode else None,
                        baselines=baselines)
    _show_comparison(table, "leaderboard", f"leaderboard of {parent} on {split}", output, wide)


def _show_comparison(table, name: str, title: str, output: Optional[Path], wide: bool) -> None:
    from stance.compare import write_comparison
    from stance.report import comparison_view, show

    show(comparison_view(table, wide=wide), title=f"{title} (bootstrap intervals; p: paired approximate "
         "randomisation on macro-F1 against the best)", console=console, max_rows=200)
    if output is not None:
        write_comparison(table, output, name, title)
        console.print(f"wrote {name}.csv, {name}.md and {name}.html to [bold]{output}[/]")
