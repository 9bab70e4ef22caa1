import base64
import re
import struct

import numpy as np
import pandas as pd
import pytest

from stance.config import apply_overrides, load_config
from stance.evaluate import confusion_table, reliability_table
from stance.report import html_page, plot_confusion, plot_history, plot_reliability

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


def test_html_page_escapes_and_shows_the_first_rows():
    table = pd.DataFrame({"text": ["<script>x</script>"] + [f"row {i}" for i in range(29)], "value": np.arange(30.0)})
    page = html_page("a <b> title", {"errors": table}, {"plot": "AAAA"}, max_rows=10)
    assert "<script>" not in page and "&lt;script&gt;" in page and "a &lt;b&gt; title" in page
    assert page.count("<tr") == 11  # header and ten rows
    assert "(20 more rows in the CSV)" in page and "src='data:image/png;base64,AAAA'" in page


@pytest.fixture
def transformer_run(toy_experiment):
    from stance.experiment import run_experiment

    config = apply_overrides(load_config(toy_experiment), {"evaluate.baselines": ["majority", "keyword"]},
                             source="test")
    run, _ = run_experiment(config)
    return run


def test_run_report_is_one_self_contained_page_with_tables_and_plots(transformer_run):
    run = transformer_run
    reports = run.reports_dir("test")
    page = (reports / "report.html").read_text()
    assert re.search(rf"<title>{run.id}: test \(transformer\)</title>", page)
    headings = re.findall(r"<h2>([^<]+)</h2>", page)
    assert headings == ["comparison", "summary", "per class", "confusion", "reliability", "by episode", "by actor",
                        "by requester", "by source type", "top errors", "confusion matrix", "reliability diagram",
                        "training history"]
    for text in ("macro_f1", "ci_low", "cohen_kappa", "model_minus_this", "<td>keyword</td>", "<td>majority</td>",
                 "<td>decline</td>", "<td>consider</td>", "<td>comply</td>"):
        assert text in page, text
    assert "p_value" in page and "predictions" not in headings
    images = re.findall(r"<img alt='([^']+)' src='data:image/png;base64,([A-Za-z0-9+/=]+)'>", page)
    assert [name for name, _ in images] == ["confusion matrix", "reliability diagram", "training history"]
    assert all(base64.b64decode(data)[:8] == PNG_SIGNATURE for _, data in images)
    assert "src='http" not in page and "<script" not in page  # nothing to fetch: opens offline
    for png in (reports / "confusion.png", reports / "reliability.png", run.path / "history.png",
                run.reports_dir("dev") / "confusion.png", run.reports_dir("dev") / "report.html"):
        assert png.is_file(), png
    reliability = pd.read_csv(reports / "reliability.csv")
    assert len(reliability) == 10 and reliability["count"].sum() == 6
