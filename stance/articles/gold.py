"""The development articles' gold answers as labelled statements, for training the stance classifier.

The corpus statements are written one per record; the answers in news articles read differently
(a dateline's lede, "he said" three sentences after the name, a decision reported with its
reasons). :func:`gold_statements` turns every gold answer row (``answers.csv``: article, actor,
label, quote) into a statement record in the corpus schema: the whole sentence that holds the
quote, the government, the label, and the request as the article's request detector reads it
(what ``stance analyze`` gives the classifier). ``data.extra_train`` adds such a file to the train
split of any config. Articles that describe a corpus episode take that episode
(:func:`load_article_episodes`), so that only those of the train split's episodes train
(:func:`articles_in_split`) and a run's leakage check sees the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from stance.articles.answers import era_actor
from stance.articles.focus import focus_texts
from stance.articles.gazetteer import Gazetteer, load_gazetteer
from stance.articles.pipeline import extract_candidates, read_articles
from stance.articles.text import article_sentences
from stance.errors import DataError
from stance.splits import Split

#: ``source_type`` of the records made from articles.
ARTICLE_SOURCE = "article"


def gold_statements(paths: Sequence[str | Path], gold: pd.DataFrame, *, gazetteer: str | Path | Gazetteer | None = None,
                    backend: str = "auto", only: Sequence[str] | None = None, one_per_text: bool = True,
                    episodes: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One statement record per gold answer row of the articles in ``paths`` (``only``: just these
    article names), in article order.

    Columns: ``id`` (``<article>-a<n>``), ``text`` (the sentence that holds the quote), ``actor``,
    ``requester`` and ``request`` (the article's detected request; ``unknown`` where none was
    found), ``episode`` (the article, or the corpus episode ``episodes`` gives it), ``date`` (its
    year), ``label``, ``source_type`` (``article``), and ``focus``: what the classifier reads, the
    government's own clause where the sentence answers for several (:mod:`stance.articles.focus`),
    as `stance analyze` reads it.
    A quote that no sentence of its article holds is an error: the gold and the article disagree.
    With ``one_per_text`` (for training) the text is the focus, each text appears once, and not at
    all where its governments' labels differ (:func:`one_label_per_text`); without it, every gold row
    (for scoring).
    """
    if not isinstance(gazetteer, Gazetteer):
        gazetteer = load_gazetteer(gazetteer)
    texts = dict(read_articles(paths))
    wanted = list(only) if only is not None else [name for name in dict.fromkeys(gold["article"]) if name in texts]
    unknown = [name for name in wanted if name not in texts]
    if unknown:
        raise DataError(f"no article file for {unknown[0]!r}" + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""),
                        hint="give the folder or files that hold the articles the list names")
    records, years, requesters = [], {}, {}
    for name in wanted:
        rows = gold[gold["article"] == name]
        if rows.empty:
            continue
        article, request, _, _ = extract_candidates(texts[name], name, gazetteer=gazetteer, backend=backend)
        sentences = [sentence.text for sentence in article_sentences(article, backend)]
        years[name] = article.year
        requesters[name] = tuple(era_actor(r, article.year) for r in request.requesters) if request else ()
        for number, row in enumerate(rows.itertuples(index=False), start=1):
            holding = [text for text in sentences if row.quote in text]
            if not holding:
                raise DataError(f"{name}: no sentence holds the gold quote {row.quote!r}",
                                hint="the quote must be a verbatim part of one sentence of the article")
            records.append({
                "id": f"{name}-a{number}", "text": holding[0], "actor": row.actor,
                "requester": (request.requester if request else "") or "unknown",
                "request": (request.phrase if request else "") or "unknown",
                "episode": (episodes or {}).get(name, name), "date": str(article.year or ""), "label": row.label, "source_type": ARTICLE_SOURCE,
                "article": name,
            })
    if not records:
        raise DataError("the gold answers name none of the articles given", hint="check the article names in answers.csv")
    records = pd.DataFrame(records)
    records["focus"] = focus_texts(records, gazetteer, years, requesters)
    records = records.drop(columns="article")
    if not one_per_text:
        return records
    return one_label_per_text(records.assign(text=records["focus"]).drop(columns="focus"))


def one_label_per_text(records: pd.DataFrame) -> pd.DataFrame:
    """The classifier reads a sentence, not whose answer it is: a sentence that answers for several
    governments with one label is kept once (the first government's record), and one whose
    governments answer differently ("Russia voted for it; China abstained") is left out."""
    labels = records.groupby(["episode", "text"], sort=False)["label"].transform("nunique")
    single = records[labels == 1]
    return single.drop_duplicates(["episode", "text"]).reset_index(drop=True)


def load_article_episodes(path: str | Path) -> dict[str, str]:
    """``article -> episode`` from a CSV with the columns ``article`` and ``episode``: the corpus
    episode (exactly as ``data/statements.jsonl`` or ``data/heldout.jsonl`` spells it) that an
    article describes. Other columns (where the episode is, why it matches) are for the reader."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist", hint="a CSV with the columns article and episode")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {"article", "episode"} - set(table.columns)
    if missing:
        raise DataError(f"{path}: no column {sorted(missing)[0]!r}", hint="the columns are article and episode")
    repeated = table["article"][table["article"].duplicated()]
    if len(repeated):
        raise DataError(f"{path}: article {repeated.iloc[0]!r} is given two episodes", hint="one row per article")
    return dict(zip(table["article"], table["episode"], strict=True))


def articles_in_split(episodes: Mapping[str, str], split: Split, name: str) -> list[str]:
    """The articles whose episode the split file assigns to ``name`` (``train``): an article about a
    dev or test episode, or one the split does not know (the second test set's), is left out."""
    return [article for article, episode in episodes.items() if split.episodes.get(episode) == name]
