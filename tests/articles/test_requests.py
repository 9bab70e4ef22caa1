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


def test_a_possessive_before_requests_makes_it_a_noun_not_the_verb(gazetteer):
    # Invented wording in the pattern of a wire lede: those who refused are not the requesters.
    text = ("India, Brazil and Poland rejected the exile's requests for asylum on Tuesday.\n"
            "Washington urged governments to turn him away.\n")
    assert detect_request(sentences_of(text), gazetteer).requesters == ("United States",)


def test_a_letter_from_someone_asking_names_the_sender_as_requester(gazetteer):
    text = "Norway confirmed that it had received a letter from the U.S. president asking it to spend more.\n"
    assert detect_request(sentences_of(text), gazetteer).requesters == ("United States",)


def test_the_asker_is_the_subject_of_a_relative_clause(gazetteer):
    text = ("The release will be made in parallel with Japan and India, after weeks of talks in which "
            "Washington had asked each of them to draw on their reserves.\n")
    assert detect_request(sentences_of(text), gazetteer).requesters == ("United States",)
    text = ("The move brought Europe into line with the United States, which recognised him last week "
            "and has since urged allies to do the same.\n")
    assert detect_request(sentences_of(text), gazetteer).requesters == ("United States",)


def test_wanting_or_seeking_asks_someone_only_with_an_infinitive(gazetteer):
    text = ("Ireland wants free elections so that voters can decide, he said.\n"
            "The White House has asked allies to recognise the opposition leader.\n")
    assert detect_request(sentences_of(text), gazetteer).requesters == ("United States",)


def test_the_phrase_comes_from_the_cue_that_names_whom_it_asks(gazetteer):
    text = ("Washington wanted the mission to be seen as a joint effort, an official said.\n"
            "The United States has asked allies to send 5,000 more troops.\n")
    request = detect_request(sentences_of(text), gazetteer)
    assert request.requesters == ("United States",)
    assert request.phrase == "send 5,000 more troops"
