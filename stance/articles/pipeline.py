"""Whole articles: read them, run every step on each, and write the tables."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from stance.articles.extraction import (
    classify_statements,
    extract_statements,
    group_statements,
    overall_stances,
    statements_frame,
)
from stance.articles.gazetteer import Gazetteer, load_gazetteer
from stance.articles.requests import Request, detect_request
from stance.articles.text import Article, article_sentences, clean_article
from stance.errors import DataError, StanceError


@dataclass
class ArticleAnalysis:
    """What :func:`analyze_text` found in one article."""

    article: Article
    request: Request | None
    statements: pd.DataFrame  # responses, classified when a model was given
    excluded: pd.DataFrame  # statements set aside, with their status
    governments: pd.DataFrame  # one row per responding government


@dataclass
class ArticlesResult:
    """Every article of one :func:`analyze_articles` call, and the tables across them."""

    analyses: list[ArticleAnalysis]
    governments: pd.DataFrame
    statements: pd.DataFrame
    requests: pd.DataFrame


def analyze_text(text: str, name: str = "article", *, gazetteer: Gazetteer | None = None, classifier=None,
                 mode: str = "text", backend: str = "auto") -> ArticleAnalysis:
    """Analyse one article's text: request, responses, their labels, each government's stance."""
    gazetteer = gazetteer or load_gazetteer()
    article = clean_article(text, name)
    sentences = article_sentences(article, backend)
    request = detect_request(sentences, gazetteer)
    found = statements_frame(extract_statements(sentences, gazetteer, request, article.year), name)
    responses = group_statements(found[found["status"] == "response"].reset_index(drop=True))
    excluded = found[found["status"] != "response"].reset_index(drop=True)
    if classifier is not None:
        responses = classify_statements(responses, classifier, mode, request.phrase if request else "")
    governments = overall_stances(responses)
    governments["requester"] = request.requester if request else ""
    governments["request"] = request.phrase if request else ""
    return ArticleAnalysis(article, request, responses, excluded, governments)


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
                     articles: Sequence[tuple[str, str]] | None = None) -> ArticlesResult:
    """Analyse every article in ``paths`` (or the given ``(name, text)`` pairs) with the run's model.

    Without ``run`` the statements are extracted and attributed but not classified.
    """
    if not isinstance(gazetteer, Gazetteer):
        gazetteer = load_gazetteer(gazetteer)
    classifier, mode = load_article_model(run) if run is not None else (None, "text")
    texts = list(articles) if articles is not None else read_articles(paths)
    analyses = [analyze_text(text, name, gazetteer=gazetteer, classifier=classifier, mode=mode, backend=backend)
                for name, text in texts]
    governments = pd.concat([a.governments for a in analyses], ignore_index=True) if analyses else pd.DataFrame()
    statements = pd.concat([a.statements for a in analyses], ignore_index=True) if analyses else pd.DataFrame()
    requests = pd.DataFrame([{
        "article": a.article.name, "title": a.article.title, "requester": a.request.requester if a.request else "",
        "request": a.request.phrase if a.request else "", "governments": len(a.governments),
        "statements": len(a.statements), "set_aside": len(a.excluded),
    } for a in analyses])
    return ArticlesResult(analyses, governments, statements, requests)


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
