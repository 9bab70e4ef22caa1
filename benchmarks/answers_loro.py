"""Leave-one-round-out and cross-validated figures of the answer step (issue 21: who answers).

The development articles in ``data/articles/`` were written in rounds (the first articles, then the
held-out rounds 1-7 listed by ``results-round{r}-heldout/``). For each round ``r`` asked for, the
answer step is trained as ``stance run configs/answers.yaml`` trains it (the configured model fitted
on every other round's ``stance articles sentences`` records, C chosen on a dev slice of whole
articles) and ``stance analyze`` runs on round ``r``'s articles with it and with the default stance
run; the script prints government recall and precision, stance accuracy among the governments
found and the answer precision / recall / F1, as ``stance evaluate-articles`` computes them. With
``--cv K`` it also prints the article-level K-fold cross-validated answer F1 of
``stance run configs/answers.yaml --set evaluate.cross_validation=K`` (the answer class's F1 over
the pooled out-of-fold predictions) on the records of all the articles, and the government
recall / precision / F1 over the records' governments and the answer F1 over their sentences,
sentence by sentence and by the government step fitted 5-fold by article on those out-of-fold
probabilities. With ``--government K`` each round is also decided by government
(``stance.articles.governments``): the step is fitted on K-fold out-of-fold answer probabilities
of the training rounds, as ``evaluate.government_step`` fits it on the run's.

    flock /tmp/cpu.lock nice -n 19 .venv/bin/python benchmarks/answers_loro.py --rounds 5 6 7 --government 5 --cv 5

Not a test: it trains one answer model per round and classifies every statement with the
stance run (a few minutes on two cores).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stance.articles.answers import answer_counts, answer_f1, load_gold_answers
from stance.articles.gazetteer import load_gazetteer
from stance.articles.governments import fit_government_step, government_step_report
from stance.articles.pipeline import analyze_text, answer_sentences, read_articles
from stance.articles.scoring import load_expected
from stance.config import apply_overrides, load_config

ARTICLES = ROOT / "data" / "articles"
#: The grounded corpus's default run, which classified every held-out round's statements.
DEFAULT_STANCE_RUN = str(ROOT / "experiments" / "results" / "20261206-223941-default-931795")


def article_rounds(folder: Path = ARTICLES) -> dict[str, int]:
    """Round of every article of ``expected.csv``: 1-6 for the held-out rounds, 0 for the first ones."""
    rounds: dict[str, int] = {}
    for results in sorted(folder.glob("results-round*-heldout")):
        r = int(results.name.removeprefix("results-round").split("-")[0])
        # Round 6 on keeps one folder of tables per stance run (results-round6-heldout/default/...).
        tables = (sorted(results.glob("per_article*.csv")) or sorted(results.glob("*/per_article.csv"))
                  or sorted(results.glob("per_article*.md")))
        table = tables[0]
        if table.suffix == ".csv":
            names = pd.read_csv(table)["article"].astype(str)
        else:  # a Markdown table: the first column of every row below the header
            lines = [ln for ln in table.read_text(encoding="utf-8").splitlines() if ln.startswith("|")][2:]
            names = pd.Series([ln.split("|")[1].strip() for ln in lines])
        rounds.update({n: r for n in names})
    expected = load_expected(folder / "expected.csv")
    return {name: rounds.get(name, 0) for name in dict.fromkeys(expected["article"])}


class CachedClassifier:
    """A stance classifier whose predictions are kept by input, so that each round's statements
    are classified once however many answer models pick them."""

    def __init__(self, classifier) -> None:
        self.inner, self.labels, self.cache = classifier, classifier.labels, {}

    def predict_proba(self, x):
        from stance.models import TextInputs

        keys = list(zip(x.requests or [""] * len(x), x.texts, strict=True))
        todo = [i for i, k in enumerate(keys) if k not in self.cache]
        if todo:
            sub = TextInputs([x.texts[i] for i in todo], None if x.requests is None else [x.requests[i] for i in todo])
            for i, row in zip(todo, self.inner.predict_proba(sub), strict=True):
                self.cache[keys[i]] = row
        return np.array([self.cache[k] for k in keys])

    def __getattr__(self, name):
        return getattr(self.inner, name)


def train_answer_step(config, records: pd.DataFrame, how: str = "refit"):
    """The configured answer model fitted on ``records``: ``refit`` as ``evaluate.refit`` fits the
    shipped one (every article less a dev slice of whole articles that selects it); ``split`` as a
    ``stance run`` without cross-validation fits it (the train part of the config's split by
    article, the rest its dev and test); ``all`` on every article with no dev slice (the model's
    default settings)."""
    from stance.recipes.cross_validation import refit_on_all
    from stance.recipes.steps import calibrate, fit, resolve_split, training_parts

    if how == "refit":
        return refit_on_all(config, records)[0]
    frame = records.reset_index(drop=True)
    if how == "all":  # every article, no dev slice: the model's default settings (C from the middle of its grid)
        return fit(config, {"train": frame, "dev": frame.iloc[:0]})[0]
    parts = training_parts(config, frame, resolve_split(config, frame))
    classifier, _ = fit(config, parts)
    calibrate(classifier, parts["dev"], config)
    return classifier


def out_of_fold(config, records: pd.DataFrame, folds: int) -> pd.DataFrame:
    """``records`` with ``p_answer`` from a ``folds``-fold cross-validation by article, each fold
    fitted as ``stance run`` with ``evaluate.cross_validation`` fits it (a dev slice selects C)."""
    from sklearn.model_selection import GroupKFold

    from stance.models import TextInputs
    from stance.recipes.cross_validation import _hold_out_dev
    from stance.recipes.steps import calibrate, fit

    frame = records.reset_index(drop=True)
    p = np.zeros(len(frame))
    for rest, held in GroupKFold(n_splits=folds).split(frame, groups=frame["episode"]):
        parts = _hold_out_dev(frame.iloc[rest].reset_index(drop=True), config)
        classifier, _ = fit(config, parts)
        calibrate(classifier, parts["dev"], config)
        proba = classifier.predict_proba(TextInputs.from_frame(frame.iloc[held], config.input.mode))
        p[held] = proba[:, list(classifier.labels).index("answer")]
    return frame.assign(p_answer=p.round(4))


def score_round(names, texts, answer_model, stance_model, gazetteer, expected, gold, governments=None) -> dict[str, float]:
    analyses = [analyze_text(texts[n], n, gazetteer=gazetteer, classifier=stance_model[0], mode=stance_model[1],
                             answers=answer_model, governments=governments) for n in names]
    found = pd.concat([a.governments for a in analyses], ignore_index=True)
    found = found[["article", "actor", "stance"]] if len(found) else pd.DataFrame(columns=["article", "actor", "stance"])
    want = expected[expected["article"].isin(names)]
    merged = want.merge(found.rename(columns={"stance": "predicted"}), on=["article", "actor"], how="outer",
                        indicator=True)
    hit = merged[merged["_merge"] == "both"]
    taken = pd.concat([a.candidates[a.candidates["answer"]] for a in analyses if not a.candidates.empty],
                      ignore_index=True)
    precision, recall, f1 = answer_f1(answer_counts(taken, gold[gold["article"].isin(names)], names))
    return {"gov_recall": len(hit) / max(len(want), 1), "gov_precision": len(hit) / max(len(found), 1),
            "stance_found": float((hit["stance"] == hit["predicted"]).mean()) if len(hit) else float("nan"),
            "answer_precision": precision, "answer_recall": recall, "answer_f1": f1,
            "expected": len(want), "extracted": len(found)}


def cross_validated_f1(config, records: pd.DataFrame, folds: int) -> dict[str, float]:
    from stance.recipes.cross_validation import cross_validate

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sentences.jsonl"
        records.to_json(path, orient="records", lines=True)
        cfg = apply_overrides(config, {"data.path": str(path), "output.dir": tmp, "evaluate.bootstrap": 0,
                                           "evaluate.refit": False, "evaluate.government_step": False},
                              source="answers_loro")
        result = cross_validate(cfg, folds)
        per_class = pd.read_csv(result.run.path / "reports" / "cross_validation" / "per_class.csv")
        predictions = pd.read_csv(result.run.path / "reports" / "cross_validation" / "predictions.csv")
    row = per_class[per_class.iloc[:, 0] == "answer"].iloc[0]
    figures = {"cv_answer_precision": float(row["precision"]), "cv_answer_recall": float(row["recall"]),
               "cv_answer_f1": float(row["f1"])}
    # Government figures over the records' governments (one with a gold answer sentence answers):
    # sentence by sentence, and by the government step fitted 5-fold by article on the out-of-fold p.
    oof = records.merge(predictions[["id", "p_answer"]], on="id")
    for decision in government_step_report(oof, 5).itertuples(index=False):
        key = "sentences" if decision.decision.startswith("sentence") else "step"
        figures.update({f"cv_{key}_gov_recall": decision.recall, f"cv_{key}_gov_precision": decision.precision,
                        f"cv_{key}_gov_f1": decision.f1, f"cv_{key}_answer_f1": decision.answer_f1})
    return figures


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, nargs="*", default=[4, 5], help="rounds to leave out, one at a time")
    parser.add_argument("--cv", type=int, default=0, help="also K-fold CV over all the articles (0: no)")
    parser.add_argument("--config", default=str(ROOT / "configs" / "answers.yaml"))
    parser.add_argument("--set", action="append", default=[], help="config override key=value (YAML value)")
    parser.add_argument("--stance-run", default=DEFAULT_STANCE_RUN)
    parser.add_argument("--fit", choices=["refit", "split", "all"], default="refit",
                        help="how each round's answer model is fitted (train_answer_step)")
    parser.add_argument("--government", type=int, default=0,
                        help="also decide by government (stance.articles.governments), its step fitted on "
                             "K-fold out-of-fold answer probabilities of the training rounds (0: no)")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    config = load_config(args.config, args.set)
    start = time.time()
    rounds = article_rounds()
    gazetteer = load_gazetteer()
    gold = load_gold_answers(ARTICLES / "answers.csv")
    expected = load_expected(ARTICLES / "expected.csv")
    paths = [ARTICLES / f"{n}.txt" for n in rounds]
    texts = dict(read_articles(paths))
    records = answer_sentences(paths, gold, gazetteer=gazetteer)
    records = records[records["label"].isin(config.data.labels)]
    print(f"{len(records)} records from {records['episode'].nunique()} articles ({time.time() - start:.0f} s)",
          flush=True)
    figures: dict[str, dict[str, float]] = {}
    if args.rounds:
        from stance.predict import load_predictor

        classifier, mode = load_predictor(args.stance_run)
        stance_model = (CachedClassifier(classifier), mode)
    for r in args.rounds:
        held = [n for n, k in rounds.items() if k == r]
        train = records[~records["episode"].isin(held)]
        model = train_answer_step(config, train, args.fit)
        step = fit_government_step(out_of_fold(config, train, args.government)) if args.government else None
        if step is not None:
            print(f"government step: threshold {step.threshold}, sentence threshold {step.sentence_threshold}, "
                  + ", ".join(f"{f} {c:+.2f}" for f, c in zip(step.features, step.coef, strict=True)), flush=True)
        figures[f"round{r}"] = score_round(held, texts, (model, config.input.mode), stance_model, gazetteer,
                                           expected, gold, step)
        print(f"round {r} ({len(held)} articles): "
              + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                          for k, v in figures[f"round{r}"].items()) + f" ({time.time() - start:.0f} s)", flush=True)
    if args.cv:
        figures["cv"] = cross_validated_f1(config, records, args.cv)
        print("cv: " + ", ".join(f"{k} {v:.3f}" for k, v in figures["cv"].items()), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
