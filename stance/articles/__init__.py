"""From news articles to government stances: who answered the request, what they said, and how.

A news report about an ally's request goes through five steps, one module each:

1. :mod:`~stance.articles.text`: :func:`clean_article` drops filler (bylines, "Advertisement",
   photo credits, reporting credits), takes the headline off and strips datelines;
   :func:`split_sentences` cuts paragraphs into sentences (a spaCy pipeline when one is installed,
   a rule-based splitter otherwise) and :func:`merge_quotes` rejoins a quotation that runs over
   several sentences;
2. :mod:`~stance.articles.requests`: :func:`detect_request` finds who asked for what ("US Defense
   Secretary Ash Carter asked coalition members to contribute more ...": requester United States,
   request "contribute more ...");
3. :mod:`~stance.articles.extraction`: :func:`extract_statements` keeps the sentences that report
   what a government said or decided (direct quotes, reported speech with a reporting verb,
   announced decisions), attributed to a government by :mod:`~stance.articles.attribution` through
   the :class:`Gazetteer` of :mod:`~stance.articles.gazetteer` (countries, demonyms, capitals used
   as metonyms, institutions, alliances), named officials learnt from the article ("Defence Minister
   Harjit Sajjan" → Canada, then "Sajjan"), and back-references ("he", "the minister") to the last
   speaker. The requester's own statements, non-government speakers (analysts, the opposition) and
   background (years before the article's) are set aside with their reason;
4. :mod:`~stance.articles.answers`: the answer step keeps the statements that answer the
   request (a trained answer run, else the rules); :func:`classify_statements` labels each with a
   trained run (reading a government's own clause where one sentence answers for several:
   :mod:`~stance.articles.focus`) and :func:`overall_stances` aggregates a government's answers (``latest``, the
   guidelines' rule, ``confident`` or ``vote``), with the statements behind it as evidence;
5. :mod:`~stance.articles.pipeline`: :func:`analyze_articles` runs them all, and
   :mod:`~stance.articles.scoring`: :func:`evaluate_articles` scores them against the expected
   tables shipped with the example articles in ``data/articles/``; :mod:`~stance.articles.gold`:
   :func:`gold_statements` turns their gold answers into statements to train the classifier on.
"""

from __future__ import annotations

from stance.articles.answers import (
    ANSWER_LABELS,
    answer_candidates,
    answer_counts,
    answer_f1,
    gold_labels,
    load_gold_answers,
    predict_answers,
    rule_answers,
)
from stance.articles.attribution import Speaker
from stance.articles.extraction import (
    AGGREGATIONS,
    MAX_STATEMENT_SENTENCES,
    Statement,
    classify_statements,
    extract_statements,
    group_statements,
    overall_stances,
    statements_frame,
)
from stance.articles.gazetteer import ALIAS_KINDS, NOT_GOVERNMENTS, Gazetteer, Mention, load_gazetteer
from stance.articles.gold import gold_statements
from stance.articles.pipeline import (
    ArticleAnalysis,
    ArticlesResult,
    analyze_articles,
    answer_sentences,
    extract_candidates,
    load_answer_model,
    resolve_answer_run,
    analyze_text,
    load_article_model,
    read_articles,
    write_table,
)
from stance.articles.requests import Request, detect_request
from stance.articles.scoring import ArticleEvaluation, evaluate_articles, load_expected
from stance.articles.text import (
    Article,
    Sentence,
    article_sentences,
    clean_article,
    is_filler,
    merge_quotes,
    sentence_backend,
    spacy_pipeline,
    split_sentences,
)

__all__ = [
    "AGGREGATIONS", "ANSWER_LABELS", "answer_candidates", "answer_counts", "answer_f1", "answer_sentences",
    "extract_candidates", "gold_labels", "load_answer_model", "load_gold_answers", "predict_answers",
    "resolve_answer_run", "rule_answers",
    "ALIAS_KINDS", "MAX_STATEMENT_SENTENCES", "NOT_GOVERNMENTS", "Article", "ArticleAnalysis", "ArticleEvaluation",
    "ArticlesResult", "Gazetteer", "Mention", "Request", "Sentence", "Speaker", "Statement", "analyze_articles",
    "analyze_text", "article_sentences", "classify_statements", "clean_article", "detect_request",
    "evaluate_articles", "extract_statements", "gold_statements", "group_statements", "is_filler", "load_article_model",
    "load_expected", "load_gazetteer", "merge_quotes", "overall_stances", "read_articles", "sentence_backend",
    "spacy_pipeline", "split_sentences", "statements_frame", "write_table",
]
