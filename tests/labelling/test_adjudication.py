"""Adjudication: majority, the adjudicator's word, ties flagged; a corpus file `stance data validate` accepts."""

from __future__ import annotations

import pandas as pd
import pytest

from stance.data import load_statements
from stance.errors import DataError, StanceError
from stance.labelling import Annotations, adjudicate, adjudicate_files, report_paths

from .scripted import write_log


def test_adjudication_majority_adjudicator_wins_and_ties_are_flagged():
    ann = [Annotations("a", {"s1": "comply", "s2": "decline", "s3": "consider", "s4": "comply"}),
           Annotations("b", {"s1": "comply", "s2": "decline", "s3": "comply", "s4": "comply"}),
           Annotations("c", {"s1": "comply", "s2": "consider", "s3": "decline"})]
    gold = adjudicate(ann).set_index("id")
    assert gold.loc["s1", ["label", "method"]].tolist() == ["comply", "unanimous"]
    assert gold.loc["s2", ["label", "method", "votes"]].tolist() == ["decline", "majority", "decline:2, consider:1"]
    assert gold.loc["s3", ["label", "method"]].tolist() == ["", "tie"]
    assert gold.loc["s4", ["label", "method", "annotators"]].tolist() == ["comply", "unanimous", 2]
    judged = adjudicate(ann, Annotations("lead", {"s3": "consider", "s2": "consider", "s9": "decline"})).set_index("id")
    assert judged.loc["s3", ["label", "method"]].tolist() == ["consider", "adjudicator"]
    assert judged.loc["s2", ["label", "method"]].tolist() == ["consider", "adjudicator"]  # wins over a majority
    assert judged.loc["s9", ["label", "annotators"]].tolist() == ["decline", 0]
    single = adjudicate([Annotations("a", {"x": "comply"}), Annotations("b", {})]).set_index("id")
    assert single.loc["x", "method"] == "single"


def test_adjudicate_files_writes_a_valid_corpus_and_a_tie_report(statements_file, statements, tmp_path):
    ids = statements["id"].tolist()
    logs = statements_file.parent / "annotations"
    a = write_log(logs / "ana.jsonl", "ana", [("label", ids[0], "comply"), ("label", ids[1], "decline")],
                  source="../statements.jsonl")
    b = write_log(logs / "ben.jsonl", "ben", [("label", ids[0], "comply"), ("label", ids[1], "consider")],
                  source="../statements.jsonl")
    c = write_log(logs / "cy.jsonl", "cy", [("label", ids[0], "decline"), ("label", ids[2], "comply")],
                  source="../statements.jsonl")
    out = tmp_path / "gold.jsonl"
    result = adjudicate_files([a, b, c], out)
    corpus = load_statements(out)  # what `stance data validate` checks
    assert corpus["id"].tolist() == [ids[0], ids[2]] and corpus["label"].tolist() == ["comply", "comply"]
    original = statements.set_index("id")
    assert corpus.set_index("id").loc[ids[2], "text"] == original.loc[ids[2], "text"]
    assert corpus.set_index("id").loc[ids[0], "actor"] == original.loc[ids[0], "actor"]
    gold_path, unresolved_path = report_paths(out)
    assert (gold_path.name, unresolved_path.name) == ("gold.adjudication.csv", "gold.unresolved.csv")
    unresolved = pd.read_csv(unresolved_path, dtype=str, keep_default_na=False)
    assert unresolved["id"].tolist() == [ids[1]] and unresolved["text"].tolist() == [original.loc[ids[1], "text"]]
    assert unresolved[["ana", "ben", "cy"]].iloc[0].tolist() == ["decline", "consider", ""]
    assert "label" not in unresolved.columns  # the old corpus label is not shown to the adjudicator
    assert result.source == statements_file
    with pytest.raises(StanceError, match="already exists"):
        adjudicate_files([a, b, c], out)
    lead = write_log(logs / "lead.jsonl", "lead", [("label", ids[1], "consider")])
    settled = adjudicate_files([a, b, c], out, adjudicator=lead, force=True)
    assert settled.unresolved.empty and load_statements(out)["id"].tolist() == ids[:3]


def test_adjudicate_needs_to_know_the_statements_file(tmp_path, statements_file):
    plain = tmp_path / "p.csv"
    pd.DataFrame({"id": ["e1-00"], "label": ["comply"]}).to_csv(plain, index=False)
    other = tmp_path / "q.csv"
    pd.DataFrame({"id": ["nope"], "label": ["comply"]}).to_csv(other, index=False)
    with pytest.raises(StanceError, match="--corpus"):
        adjudicate_files([plain, other], tmp_path / "gold.jsonl")
    with pytest.raises(DataError, match="not in"):
        adjudicate_files([plain, other], tmp_path / "gold.jsonl", corpus=statements_file)
