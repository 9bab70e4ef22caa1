"""Whole articles: read them, run every step on each, and write the tables."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from stance.articles.answers import (
    MIN_QUOTE_WORDS,
    NEVER_ANSWERS,
    answer_candidates,
    era_actor,
    gold_labels,
    mention_profile,
    mention_rows,
    predict_answers,
    rule_answers,
    set_aside_non_answerers,
)
from stance.articles.extraction import (
    AGGREGATIONS,
    classify_statements,
    extract_statements,
    group_statements,
    overall_stances,
    statements_frame,
)
from stance.articles.focus import focus_texts
from stance.articles.gazetteer import Gazetteer, load_gazetteer
from stance.articles.governments import GOVERNMENT_FILE, GovernmentStep, decide_governments
from stance.articles.requests import Request, detect_request, recognised_states, request_targets
from stance.articles.text import Article, article_sentences, clean_article
from stance.errors import DataError, StanceError


@dataclass
class ArticleAnalysis:
    """What :func:`analyze_text` found in one article."""

    article: Article
    request: Request | None
    statements: pd.DataFrame  # answers, joined into statements, classified when a model was given
    excluded: pd.DataFrame  # statements set aside, with their status
    governments: pd.DataFrame  # one row per responding government
    candidates: pd.DataFrame = field(default_factory=pd.DataFrame)  # every attributed sentence, p_answer, answer


@dataclass
class ArticlesResult:
    """Every article of one :func:`analyze_articles` call, and the tables across them."""

    analyses: list[ArticleAnalysis]
    governments: pd.DataFrame
    statements: pd.DataFrame
    requests: pd.DataFrame
    answer_step: str = "rules"  # "rules", or the answer run that chose the answers (and "with its government step")


def extract_candidates(text: str, name: str = "article", *, gazetteer: Gazetteer | None = None,
                       backend: str = "auto") -> tuple[Article, Request | None, pd.DataFrame, pd.DataFrame]:
    """Clean one article, find its request, extract its statements: ``(article, request, found, candidates)``.

    ``found`` holds every statement the rules saw (set-aside ones with their status);
    ``candidates`` every attributed one, ready for the answer step (:func:`answer_candidates`).
    """
    gazetteer = gazetteer or load_gazetteer()
    article = clean_article(text, name)
    sentences = article_sentences(article, backend)
    request = detect_request(sentences, gazetteer, article.title, article.year)
    found = statements_frame(extract_statements(sentences, gazetteer, request, article.year), name)
    found["actor"] = [era_actor(a, article.year) if a else a for a in found["actor"]]
    found = _merge_same_actor(found)
    mentions = mention_rows(sentences, gazetteer, found, name)
    if not mentions.empty:
        found = pd.concat([found, mentions], ignore_index=True).sort_values("position", kind="stable")
        found = found.reset_index(drop=True)
    # The requester and the targets by the same era as the speakers ("Moscow" in 1984 is the Soviet Union).
    requesters = tuple(dict.fromkeys(era_actor(r, article.year) for r in request.requesters)) if request else ()
    targets = tuple(dict.fromkeys(era_actor(t, article.year) for t in (
        *request_targets(request, gazetteer), *recognised_states(sentences, gazetteer, requesters))))
    found = set_aside_non_answerers(found, gazetteer.kinds, targets, requesters)
    candidates = answer_candidates(found, requesters, request.phrase if request else "",
                                   article.year, len(article.paragraphs), gazetteer.kinds, gazetteer=gazetteer,
                                   title=article.title, request_sentence=request.sentence if request else "",
                                   profile=mention_profile(sentences, gazetteer, article.year))
    return article, request, found, candidates


def _merge_same_actor(found: pd.DataFrame) -> pd.DataFrame:
    """One row per sentence and government: two clauses that the era makes one government's ("Officials
    in Bonn said ..., and Foreign Minister Klaus Kinkel has warned ..." in 1997) are joined."""
    named = found["actor"] != ""
    repeated = named & found.duplicated(["position", "actor"], keep=False)
    if not repeated.any():
        return found
    found = found.copy()
    for _, group in found[repeated].groupby(["position", "actor"]):
        found.loc[group.index[0], "text"] = " ".join(group["text"].astype(str))
    return found[~(named & found.duplicated(["position", "actor"]))].reset_index(drop=True)


def analyze_text(text: str, name: str = "article", *, gazetteer: Gazetteer | None = None, classifier=None,
                 mode: str = "text", backend: str = "auto", answers=None, aggregate: str = "latest",
                 governments: GovernmentStep | None = None) -> ArticleAnalysis:
    """Analyse one article's text: request, answers, their labels, each government's stance.

    ``answers`` is a trained answer step ``(classifier, mode)`` (:func:`load_answer_model`); without
    it the rules decide which statements answer. ``governments`` (with ``answers``) decides by government
    which of them answer (:func:`~stance.articles.governments.decide_governments`). ``aggregate`` names the rule that turns a
    government's answers into its stance (:data:`~stance.articles.extraction.AGGREGATIONS`).
    """
    gazetteer = gazetteer or load_gazetteer()
    article, request, found, candidates = extract_candidates(text, name, gazetteer=gazetteer, backend=backend)
    candidates = predict_answers(candidates, *answers) if answers is not None else rule_answers(candidates)
    if answers is not None and governments is not None:
        candidates = decide_governments(candidates, governments)
    chosen = candidates[candidates["answer"]].drop(columns=["answer_text", "context", "requester", "request",
                                                            "p_government"], errors="ignore")
    requesters = tuple(era_actor(r, article.year) for r in request.requesters) if request else ()
    chosen = chosen.assign(focus=focus_texts(chosen, gazetteer, article.year, requesters))
    responses = group_statements(chosen.reset_index(drop=True))
    # Set aside: statements the rules saw that are not answers (a bare mention was never a statement).
    excluded = pd.concat([found[found["actor"] == ""],
                          candidates[~candidates["answer"] & (candidates["status"] != "mention")][found.columns]])
    excluded = excluded.sort_values("position", kind="stable").reset_index(drop=True)
    if classifier is not None:
        responses = classify_statements(responses, classifier, mode, request.phrase if request else "")
    governments = overall_stances(responses, aggregate)
    governments["requester"] = request.requester if request else ""
    governments["request"] = request.phrase if request else ""
    return ArticleAnalysis(article, request, responses, excluded, governments, candidates)


def read_articles(paths: Sequence[str | Path]) -> list[tuple[str, str]]:
    """``(name, text)`` for every article: files, every ``*.txt`` of a folder, ``-`` for stdin."""
    articles: list[tuple[str, str]] = []
    for item in paths:
        if str(item) == "-":
            articles.append(("stdin", sys.stdin.read()))
            continue
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".txt", ".md") and p.is_file()
                           and not p.name.upper().startswith("README"))
            if not files:
                raise DataError(f"{path} holds no .txt or .md articles")
        elif path.is_file():
            files = [path]
        else:
            raise DataError(f"article {path} does not exist", hint="give files, a folder of .txt files, or - for stdin")
        for file in files:
            try:
                articles.append((file.stem, file.read_text(encoding="utf-8")))
            except UnicodeDecodeError:
                raise DataError(f"{file}: not UTF-8 text", hint="re-save it as UTF-8") from None
    if not articles:
        raise DataError("no articles given", hint="give files, a folder, or - for stdin")
    return articles


def load_article_model(run: str | Path):
    """The classifier of a trained run and the input mode it reads."""
    from stance.predict import load_predictor

    return load_predictor(run)


def analyze_articles(paths: Sequence[str | Path], run: str | Path | None = None, *,
                     gazetteer: str | Path | Gazetteer | None = None, backend: str = "auto",
                     articles: Sequence[tuple[str, str]] | None = None, answers: str | Path | None = None,
                     aggregate: str = "latest") -> ArticlesResult:
    """Analyse every article in ``paths`` (or the given ``(name, text)`` pairs) with the run's model.

    Without ``run`` the statements are extracted and attributed but not classified. ``answers``
    is the answer run that picks the answering statements (:func:`resolve_answer_run` reads
    ``auto`` and ``rules``), with its government step where it saved one (:func:`load_government_step`);
    without one the rules pick them.
    """
    if aggregate not in AGGREGATIONS:  # before any work
        raise StanceError(f"unknown aggregation {aggregate!r}", hint=f"use one of: {', '.join(AGGREGATIONS)}")
    if not isinstance(gazetteer, Gazetteer):
        gazetteer = load_gazetteer(gazetteer)
    answer_run = resolve_answer_run(answers)
    answer_model = load_answer_model(answer_run) if answer_run is not None else None
    government_step = load_government_step(answer_run) if answer_run is not None else None
    classifier, mode = load_article_model(run) if run is not None else (None, "text")
    texts = list(articles) if articles is not None else read_articles(paths)
    analyses = [analyze_text(text, name, gazetteer=gazetteer, classifier=classifier, mode=mode, backend=backend,
                             answers=answer_model, aggregate=aggregate, governments=government_step)
                for name, text in texts]
    governments = pd.concat([a.governments for a in analyses], ignore_index=True) if analyses else pd.DataFrame()
    statements = pd.concat([a.statements for a in analyses], ignore_index=True) if analyses else pd.DataFrame()
    requests = pd.DataFrame([{
        "article": a.article.name, "title": a.article.title, "requester": a.request.requester if a.request else "",
        "request": a.request.phrase if a.request else "", "governments": len(a.governments),
        "statements": len(a.statements), "set_aside": len(a.excluded),
    } for a in analyses])
    used = "rules" if answer_run is None else f"{answer_run}{' with its government step' if government_step else ''}"
    return ArticlesResult(analyses, governments, statements, requests, used)


#: Name of the experiment (``configs/answers.yaml``) whose newest run ``--answers auto`` takes.
ANSWER_EXPERIMENT = "answers"


def resolve_answer_run(answers: str | Path | None, parent: str | Path = "experiments") -> Path | None:
    """The answer run to use: a run folder as given; ``auto``: the newest complete run of the
    ``answers`` experiment under ``parent`` (or one folder down) that saved a model (a plain run,
    or a cross-validation with ``evaluate.refit``), else None (the rules);
    ``rules``, ``none`` or None: the rules."""
    if answers is None or str(answers).lower() in ("rules", "none", ""):
        return None
    if str(answers).lower() != "auto":
        return Path(answers)
    import json

    newest: tuple[str, Path] | None = None
    root = Path(parent)
    for manifest in [*root.glob("*/manifest.json"), *root.glob("*/*/manifest.json")]:
        folder = manifest.parent
        try:
            info = json.loads(manifest.read_text(encoding="utf-8"))
            config = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8")) or {}
        except (OSError, ValueError, yaml.YAMLError):
            continue
        # A cross-validation run without evaluate.refit saved no model: it cannot answer.
        if (info.get("status") == "complete" and config.get("name") == ANSWER_EXPERIMENT
                and (folder / "model").is_dir()):
            started = str(info.get("started", ""))
            if newest is None or started > newest[0]:
                newest = (started, folder)
    return newest[1] if newest else None


def load_answer_model(run: str | Path):
    """The answer step of a trained run (``configs/answers.yaml``): its classifier and input mode."""
    from stance.predict import load_predictor

    return load_predictor(run)


def load_government_step(run: str | Path) -> GovernmentStep | None:
    """The government step saved with an answer run (``evaluate.government_step``), or None
    (a run without one: each sentence decides alone)."""
    for path in (Path(run) / "model" / GOVERNMENT_FILE, Path(run) / GOVERNMENT_FILE):  # a run, or its model
        if path.is_file():
            return GovernmentStep.load(path)
    return None


def _slug(text: str) -> str:
    return re.sub(r"\W+", "-", text).strip("-").lower()


def answer_sentences(paths: Sequence[str | Path], gold: pd.DataFrame | None = None, *,
                     gazetteer: str | Path | Gazetteer | None = None, backend: str = "auto") -> pd.DataFrame:
    """The answer step's dataset: one record per attributed sentence and government of every article.

    Records follow the statement schema (``id, text, actor, requester, request, episode, date,
    label``; ``text`` is what the answer model reads, ``episode`` the article) with where the
    sentence stands, how its speaker was found and the context features as columns; ``label`` is
    ``answer`` or ``not_answer`` from ``gold`` (:func:`~stance.articles.answers.load_gold_answers`),
    empty without it.
    """
    if not isinstance(gazetteer, Gazetteer):
        gazetteer = load_gazetteer(gazetteer)
    frames = []
    for name, text in read_articles(paths):
        article, _, _, candidates = extract_candidates(text, name, gazetteer=gazetteer, backend=backend)
        if candidates.empty:
            continue
        # Gold quotes need five words, so a shorter sentence ("Italy said no.") cannot be labelled
        # either way: it is left out of the data (and of the answer scores), not called a non-answer.
        candidates = candidates[candidates["text"].astype(str).str.split().str.len() >= MIN_QUOTE_WORDS].copy()
        # Blocs and the request's target never answer (NEVER_ANSWERS): the model need not learn them.
        candidates = candidates[~candidates["status"].isin(NEVER_ANSWERS)]
        candidates["date"] = str(article.year or "")
        frames.append(candidates)
    if not frames:
        raise DataError("the articles hold no attributed sentences")
    found = pd.concat(frames, ignore_index=True)
    records = pd.DataFrame({
        "id": [f"{a}-{p}-{_slug(actor)}"
               for a, p, actor in found[["article", "position", "actor"]].itertuples(index=False)],
        # The record schema needs every field: an article whose request was not found says so.
        "text": found["answer_text"], "actor": found["actor"], "requester": found["requester"].replace("", "unknown"),
        "request": found["request"].replace("", "unknown"), "episode": found["article"], "date": found["date"],
        "label": gold_labels(found, gold) if gold is not None else "",
        # The sentence itself is `text` with the government named: the plain copy and the words that
        # named the speaker are left out, so that the shipped file stays small (the article's
        # `paragraph` and `position` locate the sentence; `stance analyze --statements` shows both).
        "context": found["context"], "how": found["how"],
        "kind": found["kind"], "status": found["status"], "earlier": found["earlier"].astype(bool),
        "paragraph": found["paragraph"], "position": found["position"], "source_type": "article",
    })
    return records


def write_table(frame: pd.DataFrame, path: str | Path, *, force: bool = False) -> None:
    """Write a table as CSV, JSONL, Parquet or Markdown (``.md``), from the extension."""
    from stance.io import check_output, write_atomic, write_frame
    from stance.report import markdown

    path = Path(path)
    if path.suffix.lower() in (".md", ".markdown"):
        if path.exists() and not force:
            raise StanceError(f"{path} already exists", hint="pass --force to overwrite it")
        write_atomic(path, markdown(frame) + "\n")
        return
    try:
        check_output(path, force)
    except DataError:
        raise DataError(f"{path}: unsupported format {path.suffix or '(no extension)'}",
                        hint="use .csv, .jsonl, .parquet or .md") from None
    write_frame(frame, path)
