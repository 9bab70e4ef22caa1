"""A whole article through every step."""

from __future__ import annotations

from stance.articles import analyze_text

from .samples import LETTER


def test_whole_letter_article(gazetteer):
    analysis = analyze_text(LETTER, "letter", gazetteer=gazetteer, backend="rules")
    assert analysis.request.requesters == ("United States",)
    # Sentences of one paragraph by one government are one statement (the guidelines' unit).
    assert analysis.statements["actor"].tolist() == ["Canada"] * 2 + ["Germany"]
    assert analysis.statements["sentences"].tolist() == [2, 1, 2]
    # Smith speaking, the analysts, and "officials said" about the request (no government named)
    assert analysis.excluded["status"].tolist() == ["unattributed", "requester", "non-government", "non-government"]
    assert analysis.governments["actor"].tolist() == ["Canada", "Germany"]
    assert analysis.governments["statements"].tolist() == [2, 1]
    assert analysis.governments.loc[0, "evidence"] == "Later, Doe said Canada would send one frigate in April."


def test_the_requester_by_its_era_name_does_not_answer(gazetteer):
    # Invented 1984 article: "Moscow" asking is the Soviet Union, and so is "Soviet" officials' answer.
    text = ("Allies follow boycott\n\n"
            "BERLIN, May 12, 1984 - Moscow asked its allies to stay away from the Games.\n\n"
            "Soviet officials said the decision was final.\n\n"
            "Cuba said it would not attend either.")
    analysis = analyze_text(text, "boycott", gazetteer=gazetteer, backend="rules")
    assert analysis.governments["actor"].tolist() == ["Cuba"]


def test_the_states_to_be_recognised_are_not_answering_governments(gazetteer):
    # Invented article: Croatia and Slovenia are what the request is about.
    text = ("Britain recognises Croatia and Slovenia\n\n"
            "LONDON, Jan 15, 1992 - Germany asked its partners to recognise Croatia and Slovenia.\n\n"
            "Britain said it would recognise both on Wednesday.\n\n"
            "Croatia said it welcomed the decision.")
    analysis = analyze_text(text, "recognition", gazetteer=gazetteer, backend="rules")
    assert analysis.governments["actor"].tolist() == ["United Kingdom"]
