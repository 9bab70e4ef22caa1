"""Request detection: who asked for what."""

from __future__ import annotations

from stance.articles import detect_request

from .samples import LETTER, sentences_of


def test_request_from_a_verb_names_requester_and_phrase(gazetteer):
    request = detect_request(sentences_of(LETTER), gazetteer)
    assert request.requesters == ("United States",)
    assert request.phrase == "send more ships to the patrol mission"


def test_request_from_a_noun_needs_the_requester_beside_it(gazetteer):
    request = detect_request(sentences_of("Ottawa rejected Washington's request for more jets over Iraq."), gazetteer)
    assert request.requesters == ("United States",) and request.phrase == "more jets over Iraq"
    # The government that answers is not the requester just because it is named in the sentence.
    request = detect_request(sentences_of("Canada will not agree to the request for more jets."), gazetteer)
    assert request.requesters == () and request.phrase == "more jets"


def test_request_with_several_requesters(gazetteer):
    text = "The Haitian, UN and US calls for a country to lead a security mission went unanswered."
    request = detect_request(sentences_of(text), gazetteer)
    assert request.requesters == ("Haiti", "United Nations", "United States")
    assert request.phrase == "a country to lead a security mission went unanswered"


def test_no_request_gives_none(gazetteer):
    assert detect_request(sentences_of("Canada said it was reviewing its options."), gazetteer) is None
