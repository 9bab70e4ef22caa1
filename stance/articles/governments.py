"""The government step: which governments of an article answer, read from all their candidates at once.

The answer step (:mod:`stance.articles.answers`) judges one sentence at a time, so a government
whose own sentences each look weak (named in a list of contributors, then quoted once in a way the
model doubts) is lost, and one named once in a sentence that reads like an answer is kept. The
government step reads every candidate of one government together: its best and second-best
answer probability, how many of its sentences the answer step takes, how many sentences name it,
and where (headline, request, lede, lists). A small logistic regression over those
(:data:`GOVERNMENT_FEATURES`), fitted on out-of-fold answer probabilities (never on the answer
model's in-sample scores) with a government's gold as "one of its sentences is a gold answer",
gives ``p_government``; its threshold is the one that maximises government F1 on those same
out-of-fold rows.

A government kept by the step answers with its sentences whose answer probability reaches the
step's sentence threshold (chosen for answer F1 on the same out-of-fold rows); when none does, the
government's most probable sentence is its answer (what the stance classifier reads). A government
the step drops has no answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from stance.articles.answers import ANSWER_THRESHOLD, NEVER_ANSWERS
from stance.errors import DataError

#: What the government step reads of one government's candidates, in model order.
GOVERNMENT_FEATURES: tuple[str, ...] = (
    "top", "second", "mean", "taken", "rows", "headline", "request", "lede", "shared", "response", "quoted",
    "mentions", "object", "listed",
)
_SHARE = {"none": 0.0, "some": 0.5, "most": 1.0}
#: Thresholds tried on the out-of-fold governments.
THRESHOLD_GRID: tuple[float, ...] = tuple(round(t, 2) for t in np.arange(0.2, 0.81, 0.05))
#: File of a fitted government step.
GOVERNMENT_FILE = "governments.json"


def _eligible(candidates: pd.DataFrame) -> pd.Series:
    """Rows that may answer: not a bloc or organisation, the request's target or the requester
    (by its status, or by the context: a requester's bare mention keeps the status ``mention``)."""
    eligible = ~candidates["status"].isin([*NEVER_ANSWERS, "requester"])
    if "context" in candidates.columns:
        eligible &= ~candidates["context"].astype(str).str.contains(r"\bctx_(?:requester|actor_(?!country\b)\w+)\b")
    return eligible


def government_features(candidates: pd.DataFrame, article: str = "article") -> pd.DataFrame:
    """One row per (article, government) of ``candidates`` (with ``p_answer`` and ``context``):
    :data:`GOVERNMENT_FEATURES`, from the rows that may answer (:func:`_eligible`).

    ``article`` names the column that holds the article (``episode`` in the answer step's records).
    """
    rows = candidates[_eligible(candidates)] if "status" in candidates.columns else candidates
    columns = [article, "actor", *GOVERNMENT_FEATURES]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    context = rows["context"].astype(str) if "context" in rows.columns else pd.Series("", index=rows.index)
    frame = pd.DataFrame({
        article: rows[article].astype(str), "actor": rows["actor"].astype(str), "p": rows["p_answer"].astype(float),
        "headline": context.str.contains("ctx_gov_in_headline", regex=False),
        "request": context.str.contains("ctx_gov_in_request", regex=False),
        "lede": context.str.contains("ctx_where_lede", regex=False),
        "shared": context.str.contains("ctx_shared", regex=False),
        "response": context.str.contains("ctx_status_response", regex=False),
        "quoted": context.str.contains("ctx_quoted", regex=False),
        "mentions": context.str.extract(r"ctx_gov_mentions_(\d)", expand=False).fillna(0).astype(float) / 5,
        "object": context.str.extract(r"ctx_gov_object_(\w+)", expand=False).map(_SHARE).fillna(0.0),
        "listed": context.str.extract(r"ctx_gov_listed_(\w+)", expand=False).map(_SHARE).fillna(0.0),
    })
    out = []
    for (name, actor), group in frame.groupby([article, "actor"], sort=False):
        p = np.sort(group["p"].to_numpy())[::-1]
        out.append({article: name, "actor": actor, "top": p[0], "second": p[1] if len(p) > 1 else 0.0,
                    "mean": float(p.mean()), "taken": float(np.log1p((p >= ANSWER_THRESHOLD).sum())),
                    "rows": float(np.log1p(len(p))),
                    **{f: float(group[f].any()) for f in ("headline", "request", "lede", "response", "quoted")},
                    "shared": float(group["shared"].mean()),
                    **{f: float(group[f].iloc[0]) for f in ("mentions", "object", "listed")}})
    return pd.DataFrame(out, columns=columns)


@dataclass
class GovernmentStep:
    """A fitted government step: logistic regression weights over :data:`GOVERNMENT_FEATURES`."""

    coef: tuple[float, ...]
    intercept: float
    threshold: float
    features: tuple[str, ...] = GOVERNMENT_FEATURES
    #: A kept government's sentences with ``p_answer`` from here on are its answers.
    sentence_threshold: float = ANSWER_THRESHOLD

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """``p_government`` for each row of :func:`government_features`."""
        if features.empty:
            return np.zeros(0)
        z = features[list(self.features)].to_numpy(dtype=float) @ np.asarray(self.coef) + self.intercept
        return 1 / (1 + np.exp(-z))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"features": list(self.features), "coef": list(self.coef),
                                          "intercept": self.intercept, "threshold": self.threshold,
                                          "sentence_threshold": self.sentence_threshold}, indent=1),
                              encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> GovernmentStep:
        info = json.loads(Path(path).read_text(encoding="utf-8"))
        if tuple(info["features"]) != GOVERNMENT_FEATURES:
            raise DataError(f"{path}: a government step over other features ({', '.join(info['features'])})",
                            hint="refit it: stance run configs/answers.yaml")
        return cls(tuple(info["coef"]), float(info["intercept"]), float(info["threshold"]), tuple(info["features"]),
                   float(info.get("sentence_threshold", ANSWER_THRESHOLD)))


def government_labels(records: pd.DataFrame, article: str = "episode") -> pd.Series:
    """Per (article, government) of the answer step's labelled records: whether any of its
    sentences is a gold answer (what the government step learns)."""
    return (records["label"] == "answer").groupby([records[article].astype(str), records["actor"].astype(str)],
                                                  sort=False).any()


def fit_government_step(records: pd.DataFrame, article: str = "episode", seed: int = 0) -> GovernmentStep:
    """Fit the government step on labelled records with out-of-fold ``p_answer``: the weights by
    logistic regression, the threshold by government F1 over the same governments, then the
    sentence threshold of kept governments by answer F1 over the same sentences."""
    from sklearn.linear_model import LogisticRegression

    features = government_features(records, article)
    labels = government_labels(records[_eligible(records)] if "status" in records.columns else records, article)
    y = np.array([bool(labels.get((a, g), False)) for a, g in zip(features[article], features["actor"], strict=True)])
    if len(set(y)) < 2:
        raise DataError("the government step needs governments that answer and governments that do not",
                        hint="train the answer step on more articles")
    x = features[list(GOVERNMENT_FEATURES)].to_numpy(dtype=float)
    model = LogisticRegression(C=1.0, max_iter=1000, random_state=seed).fit(x, y)
    step = GovernmentStep(tuple(float(c) for c in model.coef_[0]), float(model.intercept_[0]), 0.5)
    p = step.predict(features)
    step.threshold = max(THRESHOLD_GRID, key=lambda t: (_f1(y, p >= t), -abs(t - 0.5)))
    rows = decide_governments(records.reset_index(drop=True).assign(article=records[article].astype(str).to_numpy()),
                              step)
    truth = (rows["label"] == "answer").to_numpy()
    kept = _eligible(rows) & (rows["p_government"] >= step.threshold)
    best = rows.index.isin(rows[kept].groupby(["article", "actor"])["p_answer"].idxmax().to_numpy())
    step.sentence_threshold = max(THRESHOLD_GRID, key=lambda t: (
        _f1(truth, (kept & ((rows["p_answer"] >= t) | best)).to_numpy()), -abs(t - ANSWER_THRESHOLD)))
    return step


def _f1(truth: np.ndarray, kept: np.ndarray) -> float:
    """F1 of the kept items against the true ones (0 when there are neither)."""
    from sklearn.metrics import f1_score

    return float(f1_score(np.asarray(truth, dtype=bool), np.asarray(kept, dtype=bool), zero_division=0.0))


def decide_governments(candidates: pd.DataFrame, step: GovernmentStep) -> pd.DataFrame:
    """``candidates`` (after the answer step) with ``p_government`` and ``answer`` decided by government:
    a kept government answers with its sentences whose ``p_answer`` reaches the step's sentence
    threshold (those the answer step took, at the default), or else its most probable one; a dropped
    government has none."""
    out = candidates.copy()
    if out.empty:
        out["p_government"] = pd.Series(dtype=float)
        return out
    features = government_features(out)
    p = dict(zip(zip(features["article"], features["actor"], strict=True), step.predict(features).round(4),
                 strict=True))
    out["p_government"] = [p.get((str(a), str(g)), 0.0) for a, g in zip(out["article"], out["actor"], strict=True)]
    eligible = _eligible(out)
    kept = eligible & (out["p_government"] >= step.threshold)
    best = out[kept].groupby(["article", "actor"])["p_answer"].idxmax()
    taken = out["p_answer"] >= step.sentence_threshold
    out["answer"] = kept & (taken | out.index.isin(best.to_numpy()))
    return out


def government_step_report(records: pd.DataFrame, folds: int = 5, article: str = "episode") -> pd.DataFrame:
    """Government recall, precision and F1, and the answers' (sentences'), over labelled records
    with out-of-fold ``p_answer``: decided sentence by sentence (``p_answer`` >=
    :data:`ANSWER_THRESHOLD`, the answer step alone; a government answers when one of its sentences
    does), and by the government step, itself fitted ``folds``-fold by article."""
    from sklearn.model_selection import GroupKFold

    rows = records.reset_index(drop=True)
    rows = rows.assign(article=rows[article].astype(str))
    features = government_features(rows, "article")
    labels = government_labels(rows[_eligible(rows)], "article")
    truth = np.array([bool(labels.get((a, g), False)) for a, g in zip(features["article"], features["actor"],
                                                                       strict=True)])
    by_step, answers = np.zeros(len(features), dtype=bool), np.zeros(len(rows), dtype=bool)
    for rest, held in GroupKFold(n_splits=folds).split(features, groups=features["article"]):
        step = fit_government_step(rows[rows["article"].isin(set(features["article"].iloc[rest]))], "article")
        by_step[held] = step.predict(features.iloc[held]) >= step.threshold
        in_held = rows["article"].isin(set(features["article"].iloc[held])).to_numpy()
        answers[in_held] = decide_governments(rows[in_held], step)["answer"].to_numpy()
    sentence_truth = (rows["label"] == "answer").to_numpy()
    table = []
    for name, kept, taken in (
            ("sentence by sentence", features["top"].to_numpy() >= ANSWER_THRESHOLD,
             (rows["p_answer"] >= ANSWER_THRESHOLD).to_numpy() & _eligible(rows).to_numpy()),
            (f"government step ({folds}-fold by article)", by_step, answers)):
        hit, right = int((truth & kept).sum()), int((sentence_truth & taken).sum())
        table.append({"decision": name, "governments": len(features), "answering": int(truth.sum()),
                      "kept": int(kept.sum()), "recall": round(hit / max(truth.sum(), 1), 4),
                      "precision": round(hit / max(kept.sum(), 1), 4), "f1": round(_f1(truth, kept), 4),
                      "answer_recall": round(right / max(sentence_truth.sum(), 1), 4),
                      "answer_precision": round(right / max(taken.sum(), 1), 4),
                      "answer_f1": round(_f1(sentence_truth, taken), 4)})
    return pd.DataFrame(table)
