"""Request detection: who asked for what ("US Defense Secretary Ash Carter asked coalition members to
contribute more ...": requester United States, request "contribute more ...")."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from stance.articles.attribution import Attributor, leading_list, mask_quotes
from stance.articles.gazetteer import Gazetteer
from stance.articles.text import YEAR_RE, Sentence


@dataclass
class Request:
    """The request an article reports: who asked, what for (a short phrase), and where it is said."""

    requesters: tuple[str, ...]
    phrase: str
    sentence: str
    addressed: bool = False  # the cue names whom it asks ("asked allies to ...")

    @property
    def requester(self) -> str:
        return " and ".join(self.requesters)


_REQUEST_VERB = re.compile(
    r"\b(?:asked|asks|asking|(?<=\bto )ask|requested|requests|requesting|urged|urges|urging|called on|calls on|calling on|"
    r"appealed to|appeals to|appealing to|pressed|presses|pressing|pushed|pushing|lobbied|lobbying|"
    r"sought|seeks|seeking|invited|invites|wants|wanted|persuade|persuades|persuaded|persuading|"
    r"(?:proposed|proposes)(?=\s+(?:[\w.]+\s+){0,3}that\s))\b"
    r"(?!\s+(?:about|whether|if|what|how|why|when|by\s+reporters))"
)
_REQUEST_NOUN = re.compile(
    r"\b(?:request|call|appeal|plea|demand|letter|push|pressure|invitation)s?\b"
    r"(?=\s+(?:(?:by|from)\s+[^,.;]{1,60}?\s+)?(?:for|to|that|asking|urging|calling|on)\b)"
)
# A full stop ends the phrase, not the dots of an initialism ("honour U.N. envoy Kofi Annan's plan") nor
# a decimal point ("$2.7 million");
# nor does a finite verb that closes a subject ("an effort to keep the text from a vote failed").
_PHRASE_STOP = re.compile(
    r"(?<!\b[A-Z])\.(?!\d)|[;:?!“”\"]|,(?!\d)|\s[—–-]\s|\s(?:as|after|while|because|but|though|although|before|amid|"
    r"saying|according|have|has|had|was|were|is|are|drew|met|prompted|received|got|failed|succeeded|collapsed|"
    r"foundered|fell|won|lost)\b"
)


def _request_phrase(rest: str) -> str:
    """The short phrase after a request cue: ``allies to contribute more jets, ...`` → ``contribute more jets``."""
    # Words before "to" may hold a list of those asked ("asked Angola, Mozambique and Nigeria to ...")
    # or a bracketed short name ("the Gulf Cooperation Council (GCC) this month to ..."); a span of
    # time is not what is asked for ("lobbied partners for months to pay ...").
    rest = re.sub(r"\bfor (?:months|weeks|days|years|some time)\b", "", rest)
    match = re.match(r"\s*((?:[\w'’.&,()-]+\s+){0,14}?)(?:to|for|that)\s+(.+)", rest, re.S)
    if match is None:
        return ""
    phrase = _PHRASE_STOP.split(match.group(2), maxsplit=1)[0]
    # "urged governments not to attend": what was asked is not to attend.
    negated = re.search(r"\b(?:not|never)\s+$", match.group(1)) is not None
    phrase = re.sub(r"^(?:(?:other|fellow|all|European|Western|African|Arab|Asian|NATO|EU|coalition|member)\s+){0,2}"
                    r"(?:them|it|members|allies|partners|countries|governments|nations|states|donors)\s+to\s+",
                    "", phrase.strip())
    # "asked them to consider drawing on their reserves": what was asked is to draw on them (the word
    # "consider" in the phrase would read as the answer's label).
    phrase = re.sub(r"^(?:consider|considering|look at|think about|study)\s+(?=\w)", "", phrase)
    words = (["not"] if negated and phrase else []) + phrase.split()
    return " ".join(words[:16]).strip(" ,")


# "a letter from the US defence secretary which asked ...": the asker is the letter's sender, not the
# sentence's subject (who received it). "He had written to Mrs Thatcher asking ...": who was written to
# is the recipient, not the asker.
_RELATIVE_ASKER = re.compile(r"\b(?:from|by)\s+((?:(?!\b(?:from|by)\b)[^,;])*?)\s*,?\s+(?:(?:which|who|that)\s*)?$")
# "talks in which Washington had asked ...": the asker is the subject of the relative clause.
_RELATIVE_SUBJECT = re.compile(r"\b(?:which|whom|who|that)\s+((?:(?!\b(?:which|whom|who|that)\b)[^,;])+)$")
# "Snowden's requests for asylum", "the U.S. calls for ...": a noun, not the verb "requests"/"calls".
# "the United States, which recognised Guaido on Jan. 23 ... and has since urged": a second verb of
# the relative clause, whose subject is the antecedent.
_ANTECEDENT = re.compile(r"([^,;]*?)\s*,\s*(?:which|who)\b(?:(?!\b(?:which|who)\b)[^;])*"
                         r"\band\s+(?:(?:has|have|had)\s+)?(?:(?:since|also|then|now|repeatedly)\s+)?$")
_ADDRESSEE = re.compile(r"\s+(?:(?:the|its|their|other|fellow|all|every|European|NATO|EU|coalition|Western|Arab|"
                        r"member|Gulf|major|big|large)\s+){0,3}(?:allies|partners|governments|countries|members|"
                        r"nations|states|donors|capitals|consumers|producers|them)\s+(?:to|for)\b")
_WEAK_VERB = re.compile(r"wants|wanted|sought|seeks|seeking")
# "diplomats tried to persuade Moscow to let it pass", "Moscow proposed that a conference be convened":
# lobbying a holdout or a proposal of one's own says what was asked, not who asks the answerers.
_PHRASE_ONLY = re.compile(r"persua\w+|propos\w+")
_NOUN_BEFORE = re.compile(r"(?:['’]s|\b(?:the|a|an|his|her|its|their|our|these|those|U\.S\.|US|American))\s+(?:\w+\s+)?$")
_RELATIVE_END = re.compile(r"(?:^|[,;])([^,;]*?)\s*,?\s+(?:which|who|that)\s*$")
# "Clinton telephoned Pakistani Prime Minister Nawaz Sharif and asked him ...": the one called is asked.
_CALLED_AND = re.compile(r"\b(?:telephoned|phoned|rang|called|met|visited|wrote to|sent a letter to)\b[^;]*?\band\s+(?:\w+\s+)?$")
# "the United States, which has spent months asking ...", "France, which has 4,000 troops in the
# region, has lobbied ...": the verb's subject is the relative pronoun or the antecedent itself.
_ANTECEDENT_OF_VERB = re.compile(r"^(.*?)\s*,\s*(?:which|who)\s+(?:(?:has|have|had|is|was|were|are|would|will)\b[^;]*"
                                 r"|[^,;]*)$")
# "..., after Malaysia asked", "a force New Zealand joins after the government in Dili asked": a
# clause of its own, whose subject asks (not "after Friday's vote", nor a clause a comma closed).
_CLAUSE_START = re.compile(r"\b(?:after|when|because|before|while)\s+(?!(?:Monday|Tuesday|Wednesday|Thursday|Friday|"
                           r"Saturday|Sunday|January|February|March|April|May|June|July|August|September|October|"
                           r"November|December|last|this|next|that|the (?:end|start|meeting|summit|talks|vote)|\d)\b)"
                           r"((?:(?!\b(?:after|when|because|before|while)\b)[^;,])+)$")
# "if Manama asked for more troops", "whether Berlin would request ...": not a request made.
_CONDITIONAL = re.compile(r"\b(?:if|unless|whether|should|once|until)\s+[^,;]{0,50}$")
# Asking companies or citizens ("urged Japanese companies not to ...") asks nothing of governments.
_PRIVATE_ADDRESSEE = re.compile(r"\s+(?:[\w'’-]+\s+){0,2}(?:companies|firms|businesses|citizens|nationals|the public|"
                                r"people|voters|reporters|investors|banks)\b")
# A parliament urging its own government ("Nigeria's Senate urged him to ...") asks nothing of allies.
_LEGISLATURE = re.compile(r"\b(?:Senate|senators|[Pp]arliament|lower house|upper house|lawmakers|legislators|MPs|"
                          r"Congress|House of Representatives|Bundestag|Duma)\b")
_WRITTEN_TO = re.compile(r"\b(?:wrote|written|writes|writing|sent|sends|sending|telephoned|phoned|turned|appealed|"
                         r"letters?|messages?|calls?)\s+(?:\w+\s+){0,2}?to\b")


def _asker_span(before: str) -> str:
    """The words before a request verb that can name the asker: the antecedent of "which/who"
    ("a letter from the US defence secretary which asked"), and never the recipient of a letter
    or call ("He had written to Mrs Thatcher ... asking")."""
    clause = _CLAUSE_START.search(before)
    if clause:  # "... said they had combed their radar, after Malaysia asked": the asker is in the last clause
        before = clause.group(1)
    relative = _RELATIVE_ASKER.search(before) or _RELATIVE_END.search(before)
    if relative:
        return relative.group(1)
    subject = _RELATIVE_SUBJECT.search(before)
    if subject and not re.match(r"\s*(?:had|has|have|was|were|is|are|would|will)\b", subject.group(1)):
        return subject.group(1)
    called = _CALLED_AND.search(before)
    if called:
        before = before[:called.start()]
    antecedent = _ANTECEDENT_OF_VERB.search(before)
    if antecedent and re.search(r",\s*(?:which|who)\b", before):
        # The asker is the last thing named before ", which": "handing a victory to the United States"
        # (the noun phrase itself, not the preposition that governs it).
        last = re.split(r",", antecedent.group(1))[-1] or antecedent.group(1)
        return re.split(r"\b(?:to|with|for|from|on|at|in|by|of|into|behind|toward|towards)\s+", last)[-1]
    written = _WRITTEN_TO.search(before)
    return before[:written.start()] if written else before


def detect_request(sentences: Sequence[Sentence], gazetteer: Gazetteer, title: str = "",
                   year: int | None = None) -> Request | None:
    """The first sentence that says who asked for what.

    A verb cue ("asked allies to ...", "called on partners to ...") takes its requester from the
    subject before it; a noun cue ("a US request for ...", "Washington's call for ...", "the
    request from NATO") only from the words right beside it, so that "Canada will not agree to
    the request for more jets" does not make Canada the requester. With the article's headline
    (``title``), the phrase is one the headline echoes where one is. With the article's ``year``, a
    request dated only by earlier years is background ("which led the push for the original
    resolution in 1975"), not the article's, where another cue is left.
    """
    candidates = list(_request_candidates(sentences, gazetteer))
    candidates = [(sentence, c) for sentence, c in candidates if not _earlier_only(c.phrase, year)] or candidates
    primary = next((c for c in candidates if c[1].requesters), candidates[0] if candidates else None)
    if primary is None:
        return None
    # Several requesters named near the top ("Henry asked ..., and Guterres urged ...") all ask.
    lede = primary[0].paragraph + 1
    requesters = [r for sentence, c in candidates if sentence.paragraph <= lede or c is primary[1]
                  for r in c.requesters]
    request = primary[1]
    # The phrase the stance model reads: the first cue of the same requester that names whom it asks
    # ("asked allies to ..."), which says what was asked better than an aside ("wanted the force to be seen").
    asked = [c for s, c in candidates if c.requesters and set(c.requesters) <= set(requesters) and c.addressed]
    chosen = asked[0] if asked and not request.addressed else request
    phrase = chosen.phrase
    # The headline says what the article's request is (gold convention 1): a phrase that shares no
    # word with it is likely an aside or a second request ("wanted to go further", "postpone its
    # vote"); then the first cue whose phrase the headline echoes says what was asked.
    if title:
        # Only the chosen phrase is judged by its sentence: "stop them" is no phrase to pick elsewhere.
        echoing = [c for _, c in candidates if _whole(c.phrase) and _shares(c.phrase, title)]
        addressed = [c for c in echoing if c.addressed]
        if addressed and addressed[0].phrase != phrase and not (_echoes(chosen, title) and request.addressed):
            phrase = addressed[0].phrase  # "a campaign to persuade governments to vote the resolution down"
        elif not _echoes(chosen, title):
            # No cue the headline echoes: the headline's own cue ("asks allies to block loans to China").
            headline = [c.phrase for _, c in _request_candidates([Sentence(title, -1, -1)], gazetteer)
                        if _whole(c.phrase)]
            phrase = next((c.phrase for c in echoing), headline[0] if headline else phrase)
    return Request(tuple(dict.fromkeys(requesters)), phrase, request.sentence)


def _earlier_only(phrase: str, year: int | None) -> bool:
    """Whether ``phrase`` is dated ("in 1975", "in March 1975") and only by years before ``year``; a
    year that names a thing ("the 2015 nuclear deal", "the 1988 bombing") is no date."""
    years = [int(y) for y in re.findall(r"\bin\s+(?:[A-Z][a-z]+\s+)?(1[89]\d\d|20\d\d)\b", phrase)]
    return year is not None and bool(years) and max(years) < year


_PLAIN_WORDS = frozenset("""about after again against allies also asked because been before being between
called calls could countries country during every first from further governments have into itself last
like made make member members more most much nations other over partners said says should some states
such than that their them then there these they this those through under very were what when where which
while will with would year years""".split())


def _content_stems(text: str, names: bool = False) -> set[str]:
    """The first five letters of each lower-case word of four letters or more that says something:
    the stems a headline and a request phrase share ("embargo"/"embargoes", "sanction"/"sanctions").
    Names do not count: a headline names those who answer ("Bulgaria", "Putin"). With ``names``,
    capitalised words count too, in lower case (a phrase's "International Criminal Court" and a
    headline's "war crimes court")."""
    pattern = r"(?<![\w'’.-])[A-Za-z][a-z]{3,}\b" if names else r"(?<![\w'’.-])[a-z]{4,}\b"
    return {word.lower()[:5] for word in re.findall(pattern, text) if word.lower() not in _PLAIN_WORDS}


def _shares(phrase: str, title: str) -> bool:
    """Whether ``phrase`` shares a word that says something with the headline ``title``: a word the
    headline writes in lower case, which the phrase may capitalise as part of a name."""
    heads = _content_stems(title)  # "vote" and "votes" share a stem
    return any(a.startswith(b) or b.startswith(a) for a in _content_stems(phrase, names=True) for b in heads)


# "Israel's appeal to reject it": the pronoun's antecedent is in the sentence, not the phrase.
_PRONOUN_OBJECT = re.compile(r"[\w-]+\s+(?:it|them|this|these|that)")


def _echoes(request: Request, title: str) -> bool:
    """Whether the headline echoes ``request``: its phrase, or for a phrase whose object is a pronoun
    ("reject it"), the sentence that names what the pronoun stands for."""
    if _PRONOUN_OBJECT.fullmatch(request.phrase):
        return _shares(request.sentence, title)
    return _shares(request.phrase, title)


def _whole(phrase: str) -> bool:
    """Whether ``phrase`` reads as a whole request ("block loans to China"; not "curbs", "sign and",
    nor "a U" cut at "U.N.")."""
    return len(phrase.split()) >= 2 and not re.search(
        r"\b(?:and|or|but|the|a|an|of|to|that|would|will|could|U|at|by|in|for|with)$", phrase)


def _request_candidates(sentences: Sequence[Sentence], gazetteer: Gazetteer):
    """``(sentence, Request)`` for every request cue with a phrase, in article order."""
    attributor = Attributor(gazetteer, ())
    for sentence in sentences:
        masked = mask_quotes(sentence.text)
        attributor.learn_people(sentence.text, sentence.people)
        for match in _REQUEST_VERB.finditer(masked):
            phrase = _request_phrase(masked[match.end():])
            before = masked[:match.start()]
            if not phrase or (match.group(0).endswith("s") and _NOUN_BEFORE.search(before)):
                continue
            # "wants free elections so that ...", "the partners it has been seeking for ...": wanting
            # and seeking ask someone only with an infinitive ("wants allies to ...").
            if _WEAK_VERB.fullmatch(match.group(0)) and not re.match(r"\s+(?:(?!for\b)[\w'’.-]+\s+){0,4}?to\s",
                                                                       masked[match.end():]):
                continue
            if (_CONDITIONAL.search(before) or _LEGISLATURE.search(_asker_span(before[-160:])[-40:])
                    or _PRIVATE_ADDRESSEE.match(masked[match.end():])):
                continue
            # "had been asked by", and the reduced passive "Hungary, pressed by the United States, refused".
            is_passive = bool(re.search(r"\b(?:was|were|been|being|be|is|are)\s+(?:\w+ly\s+)?$", before)
                              or (re.search(r",\s*$", before) and re.match(r"\s+by\b", masked[match.end():])))
            passive = re.search(r"\bby\s+([^,;]{0,60})", masked[match.end():match.end() + 80]) if is_passive else None
            requesters: tuple[str, ...] = ()
            if is_passive and passive is None:  # "France had been asked for ...": the asker is not named
                requesters = ()
            elif passive is None:
                found = attributor._span_speaker(_asker_span(before[-160:]), 0)
                if found is not None and found.located:
                    found = None  # a place after a preposition ("came to the Jamaican capital to ask") does not ask
                antecedent = _ANTECEDENT.search(before[-240:])
                if found is None and antecedent:  # "the United States, which recognised him ... and has since urged"
                    found = attributor._span_speaker(antecedent.group(1), 0)
                requesters = found.actors if found else ()
            else:
                requesters = tuple(m.actors[0] for m in gazetteer.find(passive.group(1))[:2])
            if _PHRASE_ONLY.match(match.group(0)):
                requesters = ()
            yield sentence, Request(requesters, phrase, sentence.text, bool(_ADDRESSEE.match(masked[match.end():])))
        for match in _REQUEST_NOUN.finditer(masked):
            phrase = _request_phrase(masked[match.end():])
            if not phrase:
                continue
            near = masked[max(0, match.start() - 60):match.start()]
            # "Washington's new request", and "South African President Nelson Mandela's appeal": the
            # government named before a titled person's possessive.
            adjacent = [m for m in sorted([*gazetteer.find(near), *gazetteer.find_people(near)],
                                          key=lambda m: m.start) if re.fullmatch(
                r"(?:(?:\s+[A-Z][\w.-]*){1,5}['’]s|(?:['’]s?)?)"
                r"(?:\s+(?:new|latest|formal|written|renewed|urgent|repeated|fresh|recent|own))*\s*",
                near[m.end:])]
            after = re.match(r"\s*(?:\w+\s+){0,6}?(?:from|by)\s+(?:the\s+)?(.{0,50})", masked[match.end():])
            requesters = tuple(m.actors[0] for m in adjacent[-1:]) or (
                tuple(dict.fromkeys(m.actors[0] for m in gazetteer.find(after.group(1)))) if after else ())
            # Several requesters before one noun: "Haitian, UN and US calls for ..."
            if adjacent:
                chain = [adjacent[-1]]
                for other in reversed(gazetteer.find(near)[:-1]):
                    if re.fullmatch(r"\s*(?:,|and|,\s*and)\s*", near[other.end:chain[0].start]):
                        chain.insert(0, other)
                    else:
                        break
                requesters = tuple(dict.fromkeys(m.actors[0] for m in chain))
            yield sentence, Request(requesters, phrase, sentence.text)


def request_targets(request: Request | None, gazetteer: Gazetteer) -> tuple[str, ...]:
    """Governments the request is aimed at rather than addressed to: those its phrase names after
    its first word ("stop buying Argentine goods" → Argentina, "join strikes against the government
    of Bashar al-Assad" → Syria). A government that opens the phrase ("Germany drop the pipeline")
    is the one asked; a requester is never a target."""
    if request is None:
        return ()
    # Only the phrase's own clause: "take since Britain outlawed the movement" does not aim at Britain.
    phrase = re.split(r"\b(?:since|when|until|unless|so that|which|who|whose|where|if|because)\b", request.phrase)[0]
    mentions = [*gazetteer.find(phrase), *gazetteer.find_people(phrase)]
    targets = [m.actors[0] for m in sorted(mentions, key=lambda m: m.start)
               if m.start > 0 and m.actors and m.actors[0] not in request.requesters]
    # The request's own sentence names what it is aimed at after "on", "against", "in", "off":
    # "sanctions on Syria", "a standby force ... in Niger", "pirates off Somalia".
    # Only after the request's cue: "In Ottawa, the minister confirmed receiving a request" is no target.
    masked = mask_quotes(request.sentence)
    cues = [m.start() for m in (_REQUEST_VERB.search(masked), _REQUEST_NOUN.search(masked)) if m is not None]
    for mention in gazetteer.find(masked):
        # A capital there is a venue ("signed in Paris"), not a target.
        if (cues and mention.start > min(cues) and mention.kind != "capitals" and _AIMED_AT.search(masked[:mention.start])
                and not re.match(r"\s+to\s", masked[mention.end:]) and mention.actors[0] not in request.requesters):
            targets.append(mention.actors[0])
    return tuple(dict.fromkeys(targets))


_AIMED_AT = re.compile(r"\b(?:on|against|in|off|into|over|inside|toward|towards|for)\s+(?:the\s+)?"
                       r"(?:(?:eastern|western|northern|southern|northeastern|northwestern|southeastern|southwestern|"
                       r"central|neighbouring|neighboring|war-torn)\s+)?$")


# "recognise Croatia and Slovenia", "recognition of Georgia's breakaway regions", "admit Palestine":
# the state to be recognised or admitted is what such a request is about, not a government answering it.
_RECOGNISED = re.compile(r"\b(?:recogni[sz](?:e|es|ed|ing)|recognition of|admit|admits|admitted|admitting|"
                         r"admission of|accession of)\s+(?:the\s+)?(?:independence of\s+)?(?=[A-Z])")


def recognised_states(sentences: Sequence[Sentence], gazetteer: Gazetteer, requesters: Sequence[str] = ()) -> tuple[str, ...]:
    """Governments the article names as the states to be recognised or admitted, anywhere in it
    (the subject of a recognition or admission request): targets, never answerers."""
    found: list[str] = []
    for sentence in sentences:
        masked = mask_quotes(sentence.text)
        for cue in _RECOGNISED.finditer(masked):
            found.extend(m.actors[0] for m in leading_list(masked[cue.end():], gazetteer)
                         if m.actors and m.actors[0] not in requesters)
    return tuple(dict.fromkeys(found))
