"""Statements of up to three sentences, and each government's overall stance."""

from __future__ import annotations

import pandas as pd

from stance.articles import group_statements, overall_stances


def _sentences(rows):
    """Response sentences as extract_statements gives them: (actor, position, paragraph, earlier, text)."""
    return pd.DataFrame([{"article": "a", "actor": actor, "position": position, "paragraph": paragraph,
                          "kind": "reported", "speaker": "", "how": "", "earlier": earlier, "status": "response",
                          "text": text} for actor, position, paragraph, earlier, text in rows])


def test_a_decision_and_its_justification_in_one_paragraph_are_one_statement():
    grouped = group_statements(_sentences([
        ("Germany", 3, 1, False, "The cabinet approved two Patriot batteries."),
        ("Germany", 4, 1, False, '"No German soldier will fly over Syria," the minister said.')]))
    assert grouped["text"].tolist() == ['The cabinet approved two Patriot batteries. "No German soldier will fly '
                                        'over Syria," the minister said.']
    assert grouped["position"].tolist() == [4] and grouped["sentences"].tolist() == [2]


def test_a_new_paragraph_another_speaker_or_an_earlier_mark_starts_a_new_statement():
    grouped = group_statements(_sentences([
        ("Canada", 1, 0, False, "Ottawa is studying the letter."),
        ("Canada", 2, 1, False, "The plan has not changed, she said."),      # new paragraph
        ("Spain", 3, 1, False, "Madrid ruled it out."),
        ("Canada", 4, 1, False, "Canada will send trainers instead."),       # Spain came between
        ("Canada", 5, 1, True, "Canada had initially offered jets."),         # marked earlier
    ]))
    assert grouped[grouped["actor"] == "Canada"]["sentences"].tolist() == [1, 1, 1, 1]


def test_a_long_run_is_cut_from_its_end_so_the_latest_statement_is_whole():
    grouped = group_statements(_sentences([("Italy", i, 0, False, f"S{i}.") for i in range(1, 6)]))
    assert grouped["text"].tolist() == ["S1. S2.", "S3. S4. S5."]
    assert grouped["position"].tolist() == [2, 5]


def _statements(rows):
    return pd.DataFrame([{"article": "a", "actor": actor, "position": pos, "earlier": earlier, "label": label,
                          "confidence": conf, "text": f"s{pos}"} for actor, pos, earlier, label, conf in rows])


def test_the_later_statement_wins():
    frame = _statements([("Canada", 1, False, "consider", 0.6), ("Australia", 2, False, "consider", 0.7),
                         ("Canada", 5, False, "decline", 0.8)])
    table = overall_stances(frame).set_index("actor")
    assert table.loc["Canada", "stance"] == "decline" and table.loc["Canada", "confidence"] == 0.8
    assert table.loc["Canada", "labels"] == "consider → decline" and table.loc["Canada", "evidence"] == "s5"
    assert table.loc["Canada", "statements"] == 2
    assert table.loc["Australia", "stance"] == "consider"


def test_a_statement_told_as_earlier_does_not_win_by_position():
    # "Germany will send jets, the government said. Last week, Merkel had said no decision was taken."
    frame = _statements([("Germany", 1, False, "comply", 0.9), ("Germany", 2, True, "consider", 0.7)])
    table = overall_stances(frame)
    assert table.loc[0, "stance"] == "comply" and table.loc[0, "labels"] == "consider → comply"


def test_overall_stances_of_nothing_is_an_empty_table():
    assert overall_stances(pd.DataFrame()).empty
