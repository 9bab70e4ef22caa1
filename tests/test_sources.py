"""Source fields, their checks and the register measures (stance/sources.py), and the shipped corpus."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from stance.data import load_statements
from stance.sources import (
    government_mask,
    has_future,
    quoted_fragments,
    register_table,
    sentence_count,
    source_problems,
)

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = [ROOT / "data" / "statements.jsonl", ROOT / "data" / "heldout.jsonl"]

GROUNDED = {
    "source_url": "https://www.example.org/news/2015/12/canada-letter",
    "source_outlet": "Example News",
    "source_published": "2015-12-07",
    "speaker": "Renee Filiatrault",
    "speaker_role": "defence minister's spokesperson",
    "grounding": "source",
}


def record(**fields) -> dict:
    base = {"id": "isis-2015-ca-01", "text": "Ottawa will not send the jets back.", "episode": "2015-12 US letters",
            "date": "2015-12-07", "label": "decline"}
    return {**base, **fields}


def problems(*records: dict) -> list[str]:
    return source_problems(pd.DataFrame(list(records)))["problem"].tolist()


def test_quoted_fragments_finds_double_and_single_quotes_but_not_apostrophes():
    assert quoted_fragments('Sajjan said the plan "has not changed" on Monday.') == ["has not changed"]
    assert quoted_fragments("It was Britain's call, and Canada's too.") == []
    assert quoted_fragments("He called it 'a step too far' and left.") == ["a step too far"]
    assert quoted_fragments("“We are reviewing it,” she said.") == ["We are reviewing it,"]


def test_sentence_count_skips_abbreviations():
    assert sentence_count("Ottawa will not send jets.") == 1
    assert sentence_count("The U.S. asked again. Mr. Sajjan said no. He left.") == 3
    assert sentence_count('"We will look at it." The minister gave no date.') == 2


def test_has_future_counts_future_and_refusals_but_not_backshifted_would():
    assert has_future("Canada will keep its trainers in Iraq.")
    assert has_future("Berlin won't send more jets.")
    assert has_future("The ministry is ready to host them.")
    assert has_future("He said Italy would not take part.")
    assert not has_future("He said Italy would take part.")
    assert not has_future("The cabinet approved the deployment.")


def test_a_grounded_record_with_every_field_has_no_problem():
    assert problems(record(text='Sajjan\'s spokeswoman says the plan to withdraw "has not changed".', **GROUNDED)) == []


@pytest.mark.parametrize("field", ["source_url", "source_outlet", "source_published"])
def test_a_grounded_record_must_name_its_source(field):
    assert problems(record(**{**GROUNDED, field: ""})) == [f"grounded but {field} is empty"]


def test_quotation_marks_need_a_grounded_source():
    assert problems(record(text='Merkel said Germany is doing "enough already".')) == [
        "quotation marks without a grounded source"]
    assert problems(record(text='Merkel said Germany is doing "enough already".', grounding="background")) == [
        "quotation marks without a grounded source"]


def test_quotes_are_fragments_of_at_most_eight_words():
    long = 'The minister said "we have done all we can and we will do no more".'
    assert problems(record(text=long, **GROUNDED)) == ["quotes 12 words (at most 8)"]


def test_bad_values_and_dates_are_named():
    found = problems(record(**{**GROUNDED, "source_url": "www.example.org", "source_published": "7 Dec 2015"},
                            actor_type="bloc", request_direction="stay"))
    assert "source_url 'www.example.org' is not an http(s) address" in found
    assert "source_published '7 Dec 2015' is not YYYY[-MM[-DD]]" in found
    assert "actor_type 'bloc' is not one of government, organisation" in found
    assert "request_direction 'stay' is not one of act, refrain" in found


def test_a_statement_cannot_predate_its_episode_at_the_precision_both_give():
    assert problems(record(date="2015-11-30")) == ["dated 2015-11-30, before its episode's request (2015-12)"]
    assert problems(record(date="2015")) == []  # a year-only date is not earlier than 2015-12
    assert problems(record(episode="2016 NATO request", date="2015-12-30")) == [
        "dated 2015-12-30, before its episode's request (2016)"]


def test_register_table_shares_are_counted_per_split():
    frame = pd.DataFrame([
        record(id="a", text="Ottawa will not send jets. It gave no date."),
        record(id="b", text='Berlin says it is doing "enough already".', **GROUNDED),
        record(id="c", text="Rome approved the deployment."),
        record(id="d", text="Madrid is weighing the request."),
    ])
    table = register_table(frame, pd.Series(["train", "train", "test", "test"]), order=["train", "test"]).set_index("split")
    assert table.loc["train", "statements"] == 2
    assert table.loc["train", "grounded"] == 1 and table.loc["test", "grounded"] == 0
    assert table.loc["train", "future/conditional"] == 0.5
    assert table.loc["train", "quoted fragment"] == 0.5
    assert table.loc["train", "2+ sentences"] == 0.5
    assert table.loc["all", "statements"] == 4 and table.loc["all", "episodes grounded"] == 1
    assert table.loc["all", "2+ sentences"] == 0.25


def test_government_mask_leaves_out_blocs():
    frame = pd.DataFrame([record(id="a"), record(id="b", actor_type="government"), record(id="c", actor_type="organisation")])
    assert government_mask(frame).tolist() == [True, True, False]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_the_shipped_corpus_keeps_the_source_rules(path):
    frame = load_statements(path)
    found = source_problems(frame)
    assert found.empty, found.head(20).to_string()


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_record_says_its_grounding_direction_and_actor_type(path):
    frame = load_statements(path)
    for column in ("grounding", "request_direction", "actor_type"):
        assert column in frame.columns and (frame[column].fillna("") != "").all(), column
