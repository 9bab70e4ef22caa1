import base64
import re
import struct

import numpy as np
import pandas as pd
import pytest

from stance.config import apply_overrides, load_config
from stance.evaluate import confusion_table, reliability_table
from stance.report import plot_confusion, plot_history, plot_reliability

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
