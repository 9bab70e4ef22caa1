import base64
import io
import re
import struct

import numpy as np
import pandas as pd
import pytest

from stance.config import apply_overrides, load_config
from stance.evaluate import confusion_table, reliability_table
from stance.report import (
    comparison_view,
    interval_text,
    plot_confusion,
    plot_history,
    plot_reliability,
    runs_view,
    show,
    summary_view,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    return struct.unpack(">II", data[16:24])  # the IHDR chunk: width, height


def test_confusion_and_reliability_plots_are_pngs(tmp_path):
    confusion = confusion_table(["a", "a", "b"], ["a", "b", "b"], ["a", "b"]).reset_index()
    assert png_size(plot_confusion(confusion, tmp_path / "c.png").read_bytes()) == (480, 400)
    proba = np.array([[0.9, 0.1], [0.65, 0.35], [0.2, 0.8]])
    reliability = reliability_table(np.array([0, 1, 1]), proba)
    path = plot_reliability(reliability, tmp_path / "sub" / "r.png")
    assert path == tmp_path / "sub" / "r.png" and png_size(path.read_bytes()) == (480, 400)
    assert not list(tmp_path.rglob("*.tmp"))


def test_history_plot_has_a_panel_per_curve_and_skips_histories_without_steps(tmp_path):
    loss = [{"loss": 1.0 - 0.1 * i, "step": 2 * i, "epoch": i / 2} for i in range(1, 5)]
    dev = [{"eval_macro_f1": 0.5, "eval_loss": 0.9, "step": 4, "epoch": 1.0}]
    final = [{"train_loss": 0.8, "train_runtime": 1.0, "step": 8, "epoch": 2.0}]
    both = plot_history(pd.DataFrame(loss + dev + final), tmp_path / "both.png")
    only_loss = plot_history(pd.DataFrame(loss + final), tmp_path / "loss.png")
    assert png_size(both.read_bytes())[0] == 2 * png_size(only_loss.read_bytes())[0]
    baseline = pd.DataFrame([{"C": 0.1, "dev_macro_f1": 0.4, "selected": False}, {"C": 1.0, "dev_macro_f1": 0.6,
                                                                                  "selected": True}])
    assert plot_history(baseline, tmp_path / "baseline.png") is None
    assert plot_history(pd.DataFrame(), tmp_path / "empty.png") is None
    assert not (tmp_path / "baseline.png").exists() and not (tmp_path / "empty.png").exists()


@pytest.fixture
def transformer_run(toy_experiment):
    from stance.recipes import run_experiment

    config = apply_overrides(load_config(toy_experiment), {"evaluate.baselines": ["majority", "keyword"]},
                             source="test")
    run, _ = run_experiment(config)
    return run


def test_run_report_is_one_self_contained_page_with_tables_and_plots(transformer_run):
    run = transformer_run
    reports = run.reports_dir("test")
    page = (reports / "report.html").read_text()
    assert re.search(rf"<title>{run.id}: test \(transformer\)</title>", page)
    headings = re.findall(r"<h2>([^<]+)</h2>", page)  # the page itself is tested in tests/test_pages.py
    assert headings == ["Contents", "Against the baselines", "Scores", "Confusion matrix", "Calibration", "Breakdowns",
                        "Training", "Errors"]
    for text in ("macro-F1", "Cohen&#39;s κ", "model − this", '<th scope="row">keyword</th>',
                 '<th scope="row">majority</th>', '<th scope="row">decline</th>', '<th scope="row">consider</th>',
                 '<th scope="row">comply</th>', "By episode", "By actor", "By requester", "By source type"):
        assert text in page, text
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]+)">', page)
    assert [name for _, name in images] == ["confusion matrix", "reliability diagram", "training history"]
    assert all(base64.b64decode(data)[:8] == PNG_SIGNATURE for data, _ in images)
    assert 'src="http' not in page and "<script src" not in page  # nothing to fetch: opens offline
    for png in (reports / "confusion.png", reports / "reliability.png", run.path / "history.png",
                run.reports_dir("dev") / "confusion.png", run.reports_dir("dev") / "report.html"):
        assert png.is_file(), png
    reliability = pd.read_csv(reports / "reliability.csv")
    assert len(reliability) == 10 and reliability["count"].sum() == 6


def test_write_tables_writes_csv_data_and_one_page_without_the_statement_tables(tmp_path):
    from stance.report import write_tables

    predictions = pd.DataFrame({"id": [f"s{i}" for i in range(80)], "text": ["a long statement"] * 80})
    summary = pd.DataFrame({"metric": ["accuracy"], "value": [0.75]})
    written = write_tables({"summary": summary, "predictions": predictions, "errors": predictions.head(3)},
                           tmp_path, title="run: test")
    assert [p.name for p in written] == ["summary.csv", "predictions.csv", "errors.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["errors.csv", "predictions.csv", "report.md", "summary.csv"]
    page = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| accuracy |" in page and "0.750" in page
    assert "80 rows in predictions.csv" in page and "3 rows in errors.csv" in page
    assert "a long statement" not in page


# Terminal views: what the commands print, at 80 columns.

def rendered(frame: pd.DataFrame, width: int = 80, title: str | None = None) -> list[str]:
    from rich.console import Console

    console = Console(width=width, record=True, file=io.StringIO())
    show(frame, title=title, console=console)
    return console.export_text().splitlines()


def leaderboard_table() -> pd.DataFrame:
    """A leaderboard as compare_runs makes it: long run ids, a baseline fitted inside a run."""
    rows = [("20261203-144022-ensemble-586359", "ensemble", "seed_ensemble", 0.799, 0.754, 0.842, 0.0, np.nan),
            ("20261203-150052-embedding_logreg_text-0bd37c", "embedding_logreg_text", "embedding_logreg",
             0.714, 0.663, 0.767, 0.085, 0.0025),
            ("20261203-143038-default-ff0b38 / tfidf_logreg", "default / tfidf_logreg", "tfidf_logreg",
             0.701, 0.647, 0.749, 0.098, 0.001)]
    return pd.DataFrame([{"run": run, "name": name, "model": model, "macro_f1": f1, "macro_f1_low": low,
                          "macro_f1_high": high, "accuracy": f1 + 0.002, "accuracy_low": low + 0.001,
                          "accuracy_high": high + 0.003, "n": 323, "best_minus_this": lead, "p_value": p}
                         for run, name, model, f1, low, high, lead, p in rows])


def test_interval_text_folds_an_interval_into_its_value():
    assert interval_text(0.7754, 0.7261, 0.8203) == "0.775 [0.726, 0.820]"
    assert interval_text(0.05, np.nan, np.nan) == "0.050"
    assert interval_text(323.0) == "323" and interval_text(1.0) == "1.000"
    assert interval_text(np.nan) == "" and interval_text(None) == ""


def test_leaderboard_view_fits_80_columns_with_every_key_figure_whole():
    table = leaderboard_table()
    lines = rendered(comparison_view(table), title="leaderboard of experiments/results on test (bootstrap "
                     "intervals; p: paired approximate randomisation on macro-F1 against the best)")
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    for figures in ("0.799 [0.754, 0.842]", "0.714 [0.663, 0.767]", "0.701 [0.647, 0.749]", "0.085", "0.0025",
                    "0.001", "0.716", "embedding_logreg_text", "default / tfidf_logreg", "macro-F1 [95% CI]"):
        assert figures in text, figures
    assert list(comparison_view(table).columns) == ["name", "macro-F1 [95% CI]", "accuracy", "best −\nthis", "p"]


def test_wide_view_keeps_every_column_and_the_csv_columns_stay_apart():
    table = leaderboard_table()
    wide = comparison_view(table, wide=True)
    assert list(wide.columns) == ["run", "name", "model", "macro-F1 [95% CI]", "accuracy [95% CI]", "n",
                                  "best −\nthis", "p"]
    assert wide.loc[1, "accuracy [95% CI]"] == "0.716 [0.664, 0.770]" and wide.loc[0, "p"] == ""
    text = "\n".join(rendered(wide, width=200))
    assert "20261203-143038-default-ff0b38 / tfidf_logreg" in text
    assert "macro_f1_low" in table.columns  # the view is a copy: the frame written as CSV is untouched


def test_two_runs_of_one_config_are_told_apart_by_run_id():
    table = leaderboard_table().assign(name="default")
    names = comparison_view(table)["name"].tolist()
    assert names[0] == "default (20261203-144022-ensemble-586359)" and len(set(names)) == 3


def test_model_beside_its_baselines_fits_80_columns():
    # stance run's comparison table (compare_with_baselines): model first, no run or name.
    table = leaderboard_table().drop(columns=["run", "name", "n", "best_minus_this"])
    table["model_minus_this"] = [np.nan, 0.085, 0.098]
    view = comparison_view(table, confidence=0.9)
    assert list(view.columns) == ["model", "macro-F1 [90% CI]", "accuracy", "model −\nthis", "p"]
    lines = rendered(view, title="model beside the baselines (bootstrap intervals; p: paired approximate "
                     "randomisation on macro-F1)")
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert all(f in text for f in ("seed_ensemble", "embedding_logreg", "0.799 [0.754, 0.842]", "0.098", "0.0025"))


def test_runs_view_fits_80_columns_and_wide_shows_all_ten():
    runs = pd.DataFrame([{"run": "20261203-150052-embedding_logreg_text-0bd37c", "name": "embedding_logreg_text",
                          "model": "embedding_logreg", "status": "complete",
                          "started": "2026-12-03T15:00:52.123456+00:00",
                          "wall_s": 31.2, "dev_macro_f1": 0.6812, "dev_accuracy": 0.7, "test_macro_f1": 0.714,
                          "test_accuracy": 0.721},
                         {"run": "20261203-150117-majority-14f449.incomplete", "name": "majority", "model": "majority",
                          "status": "failed", "started": "2026-12-03T15:01:17.000001+00:00", "wall_s": None,
                          "dev_macro_f1": None, "dev_accuracy": None, "test_macro_f1": None, "test_accuracy": None}])
    lines = rendered(runs_view(runs))
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert all(f in text for f in ("20261203-150117-majority-14f449.incomplete", "failed", "0.681", "0.714"))
    assert len(runs_view(runs, wide=True).columns) == 10


def test_summary_view_folds_intervals_and_wide_keeps_the_table():
    summary = pd.DataFrame({"metric": ["accuracy", "macro_f1", "ece", "n"], "value": [0.7, 0.6123, 0.05, 323.0],
                            "ci_low": [0.6, 0.5, np.nan, np.nan], "ci_high": [0.8, 0.7, np.nan, np.nan]})
    view = summary_view(summary)
    assert view["value [95% CI]"].tolist() == ["0.700 [0.600, 0.800]", "0.612 [0.500, 0.700]", "0.050", "323"]
    assert max(len(line) for line in rendered(view)) <= 80
    assert summary_view(summary, wide=True).equals(summary)
