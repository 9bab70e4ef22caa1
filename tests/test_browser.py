"""The pages in a real browser: headless Chromium (Debian's chromium + chromium-driver, through
Selenium), one browser for the module, at 1,280 pixels wide, offline.

Each page loads from file:// with no console error and no network request, reads no NaN, fits
the window, shows the figures of metrics.json, and its errors filter and sorting work.
Screenshots (screen and print) go to $STANCE_PAGE_SHOTS when set, for a person to look at.
Without the browser these tests skip, except under CI=true, where they fail: CI installs it
(`make browser`).
"""

import base64
import json
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from stance.cli import app
from stance.config import apply_overrides, load_config
from stance.pages import RunDescription, evaluation_page

from conftest import toy_frame
from test_pages import evaluation_metrics, toy_comparison, toy_evaluation

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1280, 900
CHROMIUM = os.environ.get("STANCE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = os.environ.get("STANCE_CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
# No first-run pages, updates, sync or QUIC probes: the only thing the browser loads is the page.
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", f"--window-size={WIDTH},{HEIGHT}"]


def _missing_browser() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            return f"{path} is missing (apt-get install {package}, or `make browser` as root)"
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    missing = _missing_browser()
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run the browser tests: {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM  # with the driver's path too, Selenium Manager never downloads one
    for flag in [*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """A real run's page and the leaderboard's (through `stance run`'s pipeline and the CLI), and a
    page of hand-made predictions whose errors are known."""
    from stance.recipes import run_experiment

    folder = tmp_path_factory.mktemp("pages")
    toy_frame().to_json(folder / "statements.jsonl", orient="records", lines=True)
    (folder / "splits.json").write_text(json.dumps({
        "method": "fixed for tests", "seed": 0, "dev_fraction": 0.25, "test_fraction": 0.25,
        "episodes": {"train": ["e1", "e2"], "dev": ["e3"], "test": ["e4"]}}))
    (folder / "toy.yaml").write_text(
        f"name: tfidf\ndata: {{path: {folder / 'statements.jsonl'}, splits: {folder / 'splits.json'}}}\n"
        "model: {type: tfidf_logreg}\nevaluate: {bootstrap: 50, significance_resamples: 200, "
        "baselines: [majority, keyword]}\n"
        f"output: {{dir: {folder / 'experiments'}}}\n")
    config = load_config(folder / "toy.yaml")
    run, _ = run_experiment(config)
    majority = apply_overrides(config, {"name": "majority", "model.type": "majority", "evaluate.baselines": []},
                               source="test")
    run_experiment(majority)
    result = CliRunner().invoke(app, ["report", "leaderboard", str(run.path.parent), "--output", str(folder / "board"),
                                      "--resamples", "200"])
    assert result.exit_code == 0, result.output

    evaluation = toy_evaluation(pd.read_json(folder / "statements.jsonl", lines=True))
    tables = {"comparison": toy_comparison(evaluation), **evaluation.tables}
    (folder / "errors").mkdir()
    (folder / "errors" / "errors.csv").write_text(evaluation.tables["errors"].to_csv(index=False))
    (folder / "errors" / "report.html").write_text(evaluation_page(
        tables, evaluation_metrics(evaluation), about=RunDescription(name="toy", split="test")))
    return {"run": run.reports_dir("test") / "report.html", "leaderboard": folder / "board" / "leaderboard.html",
            "errors": folder / "errors" / "report.html"}


def _open(browser, path: Path):
    browser.get_log("browser"), browser.get_log("performance")  # forget what earlier pages logged
    browser.get(path.resolve().as_uri())
    return browser


def _visible_text(browser) -> str:
    return browser.execute_script("return document.body.innerText")


@pytest.mark.parametrize("name", ["run", "leaderboard", "errors"])
def test_a_page_loads_offline_with_no_console_error_and_no_request(browser, pages, name):
    _open(browser, pages[name])
    assert browser.execute_script("return document.readyState") == "complete"
    problems = [entry["message"] for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    assert problems == []
    requested = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requested.append(message["params"]["request"]["url"])
    page = pages[name].resolve().as_uri()
    assert [url for url in requested if url != page and not url.startswith("data:")] == []
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert [url for url in resources if not url.startswith("data:")] == []


@pytest.mark.parametrize("name", ["run", "leaderboard", "errors"])
def test_no_cell_reads_nan_and_nothing_is_wider_than_the_window(browser, pages, name):
    _open(browser, pages[name])
    text = _visible_text(browser)
    assert not re.search(r"\bnan\b", text, re.I) and "None" not in text
    assert browser.execute_script("return document.documentElement.scrollWidth") <= WIDTH
    widths = browser.execute_script(
        "return Array.from(document.querySelectorAll('table')).map(t => [t.id, t.getBoundingClientRect().right])")
    assert widths and all(right <= WIDTH for _, right in widths), widths


def test_the_headline_shows_the_figures_of_metrics_json(browser, pages):
    run_folder = pages["run"].parents[2]
    metrics = json.loads((run_folder / "metrics.json").read_text())["test"]
    _open(browser, pages["run"])
    shown = browser.execute_script(
        "return Object.fromEntries(Array.from(document.querySelectorAll('#headline [data-metric]'))"
        ".map(f => [f.dataset.metric, f.querySelector('.value').textContent.trim()]))")
    for metric in ("macro_f1", "accuracy", "ece"):
        low, high = metrics[f"{metric}_ci_low"], metrics[f"{metric}_ci_high"]
        assert shown[metric] == f"{metrics[metric]:.3f} [{low:.3f}, {high:.3f}]"
    assert shown["n"] == str(metrics["n"])
    comparison = pd.read_csv(run_folder / "reports" / "test" / "comparison.csv")
    assert shown["baseline_macro_f1"] == f"{comparison['macro_f1'].iloc[1:].max():.3f}"


def test_the_leaderboard_shows_each_run_with_its_interval(browser, pages):
    table = pd.read_csv(pages["leaderboard"].with_name("leaderboard.csv"))
    _open(browser, pages["leaderboard"])
    rows = browser.execute_script("return Array.from(document.querySelectorAll('#table-runs tbody tr'))"
                                  ".map(r => Array.from(r.cells).map(c => c.innerText.trim()))")
    # Two runs, and the two baselines the first fitted inside it as rows of their own.
    assert len(rows) == len(table) == 4 and table["run"].str.contains(" / ").sum() == 2
    for row, (_, expected) in zip(rows, table.iterrows(), strict=True):
        assert row[1].startswith(expected["name"]) and expected["run"] in row[1]
        assert row[3] == f"{expected['macro_f1']:.3f} [{expected['macro_f1_low']:.3f}, {expected['macro_f1_high']:.3f}]"
    assert browser.execute_script("return document.querySelectorAll('figure svg').length") == 1


def _error_rows(browser) -> list[tuple[str, str, str]]:
    return browser.execute_script(
        "return Array.from(document.querySelectorAll('#table-errors tbody tr')).filter(r => !r.hidden)"
        ".map(r => [r.dataset.gold, r.dataset.predicted, r.cells[2].textContent])")


def test_the_errors_filter_shows_only_the_chosen_labels(browser, pages):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    errors = pd.read_csv(pages["errors"].with_name("errors.csv"))
    _open(browser, pages["errors"])
    assert len(_error_rows(browser)) == len(errors)
    gold = Select(browser.find_element(By.CSS_SELECTOR, "select[name=gold]"))
    predicted = Select(browser.find_element(By.CSS_SELECTOR, "select[name=predicted]"))
    status = browser.find_element(By.CSS_SELECTOR, ".filter output")
    for label in ("decline", "consider", "comply"):
        gold.select_by_value(label)
        rows = _error_rows(browser)
        assert len(rows) == (errors["label"] == label).sum() and {g for g, _, _ in rows} <= {label}
        assert status.text == f"{len(rows)} of {len(errors)} errors"
    gold.select_by_value("comply")
    predicted.select_by_value("decline")
    expected = ((errors["label"] == "comply") & (errors["prediction"] == "decline")).sum()
    assert expected > 0 and len(_error_rows(browser)) == expected
    gold.select_by_value("")
    predicted.select_by_value("")
    assert len(_error_rows(browser)) == len(errors)


def test_errors_sort_by_confidence_and_breakdowns_by_any_column(browser, pages):
    from selenium.webdriver.common.by import By

    _open(browser, pages["errors"])
    confidence = browser.find_element(By.CSS_SELECTOR, "#table-errors thead th:nth-child(3)")
    assert confidence.get_attribute("aria-sort") == "descending"
    shown = [float(c) for _, _, c in _error_rows(browser)]
    assert shown == sorted(shown, reverse=True)
    confidence.find_element(By.TAG_NAME, "button").click()
    shown = [float(c) for _, _, c in _error_rows(browser)]
    assert confidence.get_attribute("aria-sort") == "ascending" and shown == sorted(shown)
    actor = browser.find_element(By.CSS_SELECTOR, "#table-by_actor thead th:nth-child(1) button")
    actor.click()
    names = browser.execute_script("return Array.from(document.querySelectorAll('#table-by_actor tbody th'))"
                                   ".map(c => c.textContent)")
    assert names == sorted(names, key=str.lower)


def test_screenshots_of_each_page_on_screen_and_in_print(browser, pages, tmp_path):
    folder = Path(os.environ.get("STANCE_PAGE_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    for name, path in pages.items():
        _open(browser, path)
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": WIDTH, "height": min(height, 12000), "deviceScaleFactor": 1, "mobile": False})
        assert browser.save_screenshot(str(folder / f"{name}.png"))
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        hidden = browser.execute_script("return ['.toc', '.filter'].map(s => document.querySelector(s))"
                                        ".filter(e => e).map(e => getComputedStyle(e).display)")
        assert set(hidden) <= {"none"}, "contents and filters are left out of a printout"
        assert browser.save_screenshot(str(folder / f"{name}-print.png"))
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})
        pdf = browser.execute_cdp_cmd("Page.printToPDF", {"printBackground": False})["data"]
        assert len(pdf) > 1000
        (folder / f"{name}.pdf").write_bytes(base64.b64decode(pdf))
