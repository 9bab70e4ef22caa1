"""Scoring the analysis against the expected tables shipped with the example articles: extraction
precision and recall per government, and the accuracy of each government's overall stance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from stance.articles.answers import answer_counts, answer_f1, answer_f1_interval, load_gold_answers
from stance.articles.gazetteer import Gazetteer
from stance.articles.pipeline import ArticlesResult, analyze_articles
from stance.errors import DataError


@dataclass
class ArticleEvaluation:
    """Extraction and stance scores of :func:`evaluate_articles`, as report tables."""

    tables: dict[str, pd.DataFrame]
    result: ArticlesResult

    @property
    def summary(self) -> pd.DataFrame:
        return self.tables["summary"]

    def value(self, metric: str) -> float:
        row = self.summary[self.summary["metric"] == metric]
        return float(row["value"].iloc[0]) if len(row) else float("nan")


def load_expected(path: str | Path) -> pd.DataFrame:
    """The expected table: one row per (article, actor) with its ``stance``."""
    from stance.data import read_table

    frame = read_table(path)
    missing = {"article", "actor", "stance"} - set(frame.columns)
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(sorted(missing))}", hint="columns: article, actor, stance")
    frame = frame[["article", "actor", "stance"]].apply(lambda c: c.str.strip())
    duplicated = frame.duplicated(["article", "actor"])
    if duplicated.any():
        first = frame[duplicated].iloc[0]
        raise DataError(f"{path}: {first['actor']} is listed twice for article {first['article']}")
    return frame


def evaluate_articles(folder: str | Path = "data/articles", run: str | Path | None = None, *,
                      expected: str | Path | None = None, gazetteer: str | Path | Gazetteer | None = None,
                      backend: str = "auto", n_resamples: int = 1000, seed: int = 0,
                      answers: str | Path | None = None, aggregate: str = "latest",
                      gold_answers: str | Path | None = None) -> ArticleEvaluation:
    """Score the analysis of every article in ``expected`` (default ``folder/expected.csv``).

    ``answers`` and ``aggregate`` are passed to :func:`analyze_articles`. When the folder has
    gold answers (``gold_answers``, default ``folder/answers.csv`` where it exists), the sentences
    taken as answers are scored too: answer precision, recall and F1 (one answer is one sentence
    of one government; :func:`~stance.articles.answers.answer_counts`), the F1 with a bootstrap
    interval over articles, and an ``answers`` table per article; with a run, also the run's labels
    for the gold answer sentences themselves (``gold_answer_accuracy``, and
    ``gold_answer_stance_accuracy`` from each government's latest gold answer): what the stance
    classifier gets right when finding the answers is taken out of the error.

    Extraction is scored per government and article: precision is the share of governments
    found that are expected, recall the share of expected governments found. Stance accuracy is
    the share of found-and-expected governments whose overall stance is the expected one;
    ``stance_accuracy_all`` counts a missed government as wrong. Intervals are percentile
    bootstraps that resample whole articles (their governments are not independent).
    """
    folder = Path(folder)
    expected_path = Path(expected) if expected else folder / "expected.csv"
    gold = load_expected(expected_path)
    names = list(dict.fromkeys(gold["article"]))
    paths = []
    for name in names:
        candidates = [folder / f"{name}.txt", folder / f"{name}.md"]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            raise DataError(f"{expected_path}: article {name!r} has no file {folder / (name + '.txt')}")
        paths.append(path)
    result = analyze_articles(paths, run, gazetteer=gazetteer, backend=backend, answers=answers, aggregate=aggregate)
    found = result.governments[["article", "actor", "stance"]].rename(columns={"stance": "predicted"})
    merged = gold.rename(columns={"stance": "expected"}).merge(found, on=["article", "actor"], how="outer")
    expected_keys = set(zip(gold["article"], gold["actor"], strict=True))
    found_keys = set(zip(found["article"], found["actor"], strict=True))
    merged["status"] = [
        "found" if key in expected_keys and key in found_keys else ("missed" if key in expected_keys else "extra")
        for key in zip(merged["article"], merged["actor"], strict=True)
    ]
    classified = run is not None
    merged["correct"] = (merged["expected"] == merged["predicted"]) if classified else pd.NA
    tables = {
        "summary": _summary(merged, classified, n_resamples, seed),
        "per_article": _per_article(merged, names, classified),
        "governments": merged[["article", "actor", "expected", "predicted", "status", "correct"]].sort_values(
            ["article", "status", "actor"], kind="stable").reset_index(drop=True),
    }
    gold_path = Path(gold_answers) if gold_answers else folder / "answers.csv"
    if gold_answers or gold_path.is_file():
        gold_rows = load_gold_answers(gold_path)
        taken = pd.concat([a.candidates[a.candidates["answer"]] for a in result.analyses if not a.candidates.empty]
                          or [pd.DataFrame(columns=["article", "actor", "text"])], ignore_index=True)
        counts = answer_counts(taken, gold_rows, names)
        tables["summary"] = pd.concat([tables["summary"], _answer_summary(counts, n_resamples, seed)],
                                      ignore_index=True)
        tables["answers"] = counts
        if classified:
            stances = gold_answer_stances(paths, gold_rows, run, gazetteer=gazetteer, backend=backend)
            tables["summary"] = pd.concat([tables["summary"], _gold_answer_summary(stances, gold, n_resamples, seed)],
                                          ignore_index=True)
            tables["gold_answers"] = stances
    return ArticleEvaluation(tables, result)


def gold_answer_stances(paths: Sequence[Path], gold_rows: pd.DataFrame, run: str | Path, *,
                        gazetteer: str | Path | Gazetteer | None = None, backend: str = "auto") -> pd.DataFrame:
    """The run's label for every gold answer sentence, with the article's detected request: how
    well the classifier does when the answers are given, apart from finding them."""
    from stance.articles.extraction import classify_statements
    from stance.articles.gold import gold_statements
    from stance.articles.pipeline import load_article_model

    classifier, mode = load_article_model(run)
    # Each row with its focus: the government's own clause where one sentence answers for several.
    records = gold_statements(paths, gold_rows, gazetteer=gazetteer, backend=backend, one_per_text=False)
    parts = [classify_statements(part.rename(columns={"label": "gold"}), classifier, mode, str(part["request"].iloc[0]))
             for _, part in records.groupby("episode", sort=False)]
    return pd.concat(parts, ignore_index=True).rename(columns={"episode": "article"})


def _gold_answer_summary(stances: pd.DataFrame, expected: pd.DataFrame, n_resamples: int, seed: int) -> pd.DataFrame:
    from stance.evaluate import bootstrap_interval

    latest = stances.groupby(["article", "actor"], sort=False).tail(1).merge(expected, on=["article", "actor"])
    rows = []
    for metric, hits, groups, note in (
        ("gold_answer_accuracy", stances["label"] == stances["gold"], stances["article"],
         "gold answer sentences labelled right (the answers given, not found)"),
        ("gold_answer_stance_accuracy", latest["label"] == latest["stance"], latest["article"],
         "overall stance right from the latest gold answer's label (the answers given)"),
    ):
        hits = list(hits)
        low = high = float("nan")
        if hits:
            interval = bootstrap_interval(["yes"] * len(hits), ["yes" if h else "no" for h in hits], "accuracy",
                                          labels=["yes", "no"], n_resamples=n_resamples, seed=seed, groups=list(groups))
            low, high = interval.low, interval.high
        rows.append({"metric": metric, "value": sum(hits) / len(hits) if hits else float("nan"), "low": low,
                     "high": high, "n": len(hits), "note": note})
    return pd.DataFrame(rows)


def _answer_summary(counts: pd.DataFrame, n_resamples: int, seed: int) -> pd.DataFrame:
    precision, recall, f1 = answer_f1(counts)
    low, high = answer_f1_interval(counts, n_resamples, seed=seed)
    nan = float("nan")
    return pd.DataFrame([
        {"metric": "answer_precision", "value": precision, "low": nan, "high": nan, "n": int(counts["predicted"].sum()),
         "note": "sentences taken as answers that are gold answers"},
        {"metric": "answer_recall", "value": recall, "low": nan, "high": nan, "n": int(counts["gold"].sum()),
         "note": "gold answers taken as answers"},
        {"metric": "answer_f1", "value": f1, "low": low, "high": high, "n": int(counts["gold"].sum()),
         "note": "harmonic mean of answer precision and recall"},
    ])


def _summary(merged: pd.DataFrame, classified: bool, n_resamples: int, seed: int) -> pd.DataFrame:
    from stance.evaluate import bootstrap_interval

    found = merged[merged["status"] == "found"]
    expected = merged[merged["status"] != "extra"]
    predicted = merged[merged["status"] != "missed"]
    rows = []

    def add(metric: str, hits: Sequence[bool], groups: Sequence[str], note: str) -> None:
        hits = list(hits)
        if not hits:
            rows.append({"metric": metric, "value": float("nan"), "low": float("nan"), "high": float("nan"),
                         "n": 0, "note": note})
            return
        interval = bootstrap_interval(["yes"] * len(hits), ["yes" if h else "no" for h in hits], "accuracy",
                                      labels=["yes", "no"], n_resamples=n_resamples, seed=seed, groups=list(groups))
        rows.append({"metric": metric, "value": sum(hits) / len(hits), "low": interval.low, "high": interval.high,
                     "n": len(hits), "note": note})

    add("extraction_precision", predicted["status"] == "found", predicted["article"],
        "governments found that are expected")
    add("extraction_recall", expected["status"] == "found", expected["article"], "expected governments found")
    p, r = rows[0]["value"], rows[1]["value"]
    rows.append({"metric": "extraction_f1", "value": 2 * p * r / (p + r) if p + r else 0.0, "low": float("nan"),
                 "high": float("nan"), "n": len(merged), "note": "harmonic mean of precision and recall"})
    if classified:
        add("stance_accuracy", found["correct"].astype(bool), found["article"],
            "overall stance right, among governments found")
        add("stance_accuracy_all", expected["correct"].fillna(False).astype(bool), expected["article"],
            "overall stance right, a missed government counted wrong")
    return pd.DataFrame(rows, columns=["metric", "value", "low", "high", "n", "note"])


def _per_article(merged: pd.DataFrame, names: Sequence[str], classified: bool) -> pd.DataFrame:
    rows = []
    for name in names:
        part = merged[merged["article"] == name]
        n_expected = int((part["status"] != "extra").sum())
        n_predicted = int((part["status"] != "missed").sum())
        n_found = int((part["status"] == "found").sum())
        row = {"article": name, "expected": n_expected, "extracted": n_predicted, "found": n_found,
               "missed": ", ".join(part.loc[part["status"] == "missed", "actor"]),
               "extra": ", ".join(part.loc[part["status"] == "extra", "actor"])}
        if classified:
            correct = int(part.loc[part["status"] == "found", "correct"].astype(bool).sum())
            row["stance_correct"] = correct
            row["wrong"] = ", ".join(
                f"{a} ({p}≠{e})" for a, p, e, s, c in part[["actor", "predicted", "expected", "status", "correct"]]
                .itertuples(index=False) if s == "found" and not c)
        rows.append(row)
    return pd.DataFrame(rows)
