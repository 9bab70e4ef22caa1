"""Speaker attribution: who a reported statement belongs to.

A government is named by an alias (:class:`~stance.articles.gazetteer.Gazetteer`), by a named
official the article has tied to it ("Defence Minister Harjit Sajjan" → Canada, then "Sajjan"), by
a country-specific title, or by a back-reference ("he", "the minister") to the last speaker.
Non-government voices (analysts, the opposition) are recognised so that they are set aside.
:class:`Attributor` reads an article in order, learning names as it goes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from stance.articles.gazetteer import Gazetteer, Mention, alternation


_TITLE_WORDS = (
    "prime minister|deputy prime minister|foreign minister|defence minister|defense minister|interior minister|"
    "finance minister|ministers|minister|premier|president|vice president|chancellor|secretary|spokesperson|spokesman|"
    "spokeswoman|spokespeople|ambassador|envoy|officials?|government|ministry|department|cabinet|parliament|"
    "lawmakers|legislators|MPs|deputies|senators|king|queen|leader|head of state|head of government|"
    "chief of staff|chief|general|admiral|office|coalition government|administration|authorities|junta|regime"
)
TITLE_RE = re.compile(rf"\b(?:{_TITLE_WORDS})\b", re.IGNORECASE)
_BACK_RE = re.compile(
    rf"\b(?:he|she|they|He|She|They)\b|\b(?:[Tt]he|[Hh]is|[Hh]er|[Tt]heir|[Ii]ts)\s+(?:own\s+)?(?:{_TITLE_WORDS}|aides?)\b"
    # "The four governments promised ...": the governments the last sentence listed
    r"|\b(?:[Tt]he|[Bb]oth|[Aa]ll)\s+(?:two|three|four|five|six|seven|eight|nine|ten|\d+)\s+"
    r"(?:governments|countries|states|nations|allies|capitals)\b"
)
NONGOV_RE = re.compile(
    r"\b(?:analysts?|experts?|critics?|opposition|professors?|researchers?|scholars?|commentators?|observers?|"
    r"think[- ]tank|newspapers?|editorials?|polls?|surveys?|campaigners?|activists?|athletes?|Olympic committee|"
    r"[Nn]ational Olympic Committee|Olympic Committee|Olympic Association|union leaders?|civil society|human rights|"
    r"NGOs?|aid groups?|charit(?:y|ies)|rights groups?|an MP|a lawmaker|a legislator|a senator|backbench\w*|"
    r"members? of (?:the )?(?:parliament|Bundestag|House of Commons|House|Congress|Senate|Riksdag|Storting|Sejm|"
    r"Knesset|Duma|Diet|National Assembly|assembly|legislature|European Parliament)|business leaders?|industry(?!\s+(?:minister|ministry|secretary))|veterans?|"
    r"former (?:[\w.]+ ){0,2}(?:minister|ambassador|general|official|officer|diplomat|president|prime minister)s?)\b",
    re.IGNORECASE,
)
_PARTICLES = ("van", "von", "zu", "de", "der", "den", "da", "di", "du", "le", "la", "al", "bin", "ter")
_NAME_RE = re.compile(
    rf"\b[A-Z][a-zà-ÿ'’\-]+(?:\s+(?:(?:{'|'.join(_PARTICLES)})\s+)?[A-Z][a-zà-ÿ'’\-]+){{1,5}}"
)
_NAME_STOP = {
    "Minister", "Prime", "Foreign", "Defence", "Defense", "Secretary", "Chancellor", "President", "Vice", "Deputy",
    "Spokesperson", "Spokesman", "Spokeswoman", "Ambassador", "Envoy", "General", "Admiral", "Premier", "Senator",
    "King", "Queen", "Taoiseach", "State", "Home", "Finance", "Interior", "Affairs", "Chief", "Staff", "Opposition",
    "Leader", "Lieutenant", "Colonel", "Commander", "Head", "Director", "Press", "Government", "Cabinet", "Mr",
    "Mrs", "Ms", "Dr", "The", "A", "An", "Asked", "But", "And", "In", "On", "At", "After", "When", "While",
    "Speaking", "Meanwhile", "However", "Earlier", "Later", "Last", "This", "That", "His", "Her", "Their",
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January", "February", "March",
    "April", "May", "June", "July", "August", "September", "October", "November", "December", "Parliament",
    "Ministry", "Department", "Office", "Army", "Navy", "Air", "Force", "Forces", "Minister's", "Social", "Democrat",
    "Democrats", "Party", "Labour", "Liberal", "Conservative", "Republican", "Democratic", "Christian", "Union",
    "Committee", "Council", "Assembly", "House", "Senate", "Congress", "National", "Federal", "Security",
    "Defence's", "Secretary-General", "General's", "Special", "Envoy's", "Representative", "Under", "Permanent",
}
_ADJUNCT_START = re.compile(
    r"^(?:asked|speaking|responding|answering|replying|writing|addressing|visiting|meeting|after|before|despite|"
    r"unlike|like|while|when|whereas|as|although|though|in|at|on|during|following|with|without|since|if|because|"
    r"for|from|under|amid|who|which|whose|where|later|earlier|meanwhile|however|separately|instead|still|"
    r"yet|also|by|to|asked by|in a|\w+ing)\b",
    re.IGNORECASE,
)
# "officials in Ottawa", "the government in Beirut": a government's people named by their place.
_OFFICIALS_IN = re.compile(rf"\b(?:{_TITLE_WORDS}|diplomats|sources)\s+(?:(?:in|at|from)\s+)(?:the\s+)?$", re.IGNORECASE)
_PLACE_BEFORE = re.compile(r"\b(?:in|at|to|from|with|on|for|against|into|over|toward|towards|across|near)\s+(?:the\s+)?$",
                           re.IGNORECASE)
_PREPOSITION_BEFORE = re.compile(
    r"(?:\b(?:to|at|in|with|on|for|toward|towards|against|by|over|about|from|of|into|than|across|near|under|"
    r"between|among|join|joining|asked|urged|told|letter|letters)\s+(?:the\s+)?)$",
    re.IGNORECASE,
)

# Reporting verbs: speech ("said"), and decisions announced by a government subject ("will send").
SPEECH_VERBS = (
    r"said|says|say|saying|told|tells|telling|confirmed|confirms|confirming|announced|announces|announcing|"
    r"added|adds|adding|stated|states|insisted|insists|insisting|dismissed|dismisses|dismissing|rejected|rejects|"
    r"rejecting|ruled out|rules out|ruling out|declined|declines|declining|refused|refuses|refusing|agreed|agrees|"
    r"pledged|pledges|promised|promises|warned|warns|noted|notes|explained|explains|indicated|indicates|"
    r"signalled|signaled|signals|argued|argues|replied|replies|responded|responds|wrote|writes|tweeted|posted|"
    r"acknowledged|acknowledges|vowed|vows|stressed|stresses|maintained|maintains|reiterated|reiterates|"
    r"suggested|suggests|conceded|concedes|offered|offers|repeated|repeats|informed|assured|made clear|"
    r"made it clear|answered|countered|cautioned|hinted|welcomed|welcomes|declared|declares|emphasised|"
    r"emphasized|underlined|underscored|affirmed|admitted|pointed out|committed|commits|approved|approves|"
    r"voted|votes|decided|decides|expelled|expels|ordered|ratified|ratifies|announce|confirm|brushed aside|"
    r"brushed off|shrugged off|waved away|turned down|turns down|spurned|snubbed|backed|backs|endorsed|endorses|"
    r"urged|urges|called on|calls on|called for|calls for|pressed|appealed to|appealed for|"
    # Answers reported by what the government did ("Indonesia and Qatar abstained").
    r"abstained|abstains|vetoed|volunteered|opposed|supported|sided with|"
    # ... or by doing what was asked ("Norway and South Africa signed next", "Laos and Mongolia followed").
    r"signed|followed suit|followed|suspended|recognised|recognized|deposited"
)
_DECISION = (
    r"(?:will|would|shall|won['’]t|wouldn['’]t|cannot|can['’]t|could not|is to|are to|plans to|planned to|intends to|"
    r"is set to|are set to|is ready to|are ready to|stands ready to|is prepared to|are prepared to|is willing to|"
    r"has agreed to|have agreed to|has decided to|have decided to|has offered to|has chosen to|is unwilling to|"
    r"has no plans to|had no plans to|has no intention of|is not in a position to)\s+(?:not\s+|also\s+|now\s+|soon\s+|"
    r"still\s+|only\s+|be\s+)?[a-z]+|(?:is|are|was|were|has been|have been|remains|remain)\s+(?:still\s+|now\s+|also\s+|"
    r"not\s+|carefully\s+)?(?:considering|reviewing|studying|weighing|examining|assessing|looking at|discussing|"
    r"preparing|sending|deploying|withdrawing|pulling|sticking|ready|open|committed|unwilling|willing|reluctant)"
    r"|(?:has|have) (?:already )?(?:sent|deployed|dispatched|expelled|approved|ratified|declined|refused|rejected|"
    r"withdrawn|pulled out|committed|signed|joined)"
)
REPORTING_CUE = re.compile(rf"\b(?:according to|{SPEECH_VERBS})\b|\b(?:{_DECISION})\b")
_ACCORDING = re.compile(r"\baccording to\b")
_AUDIENCE_CUE = re.compile(r"(?:told|tells|telling|informed|assured|urged|urges|called on|calls on|pressed|appealed to)$")
_CONJ = re.compile(r"(?:['’]s)?(?:\s*,\s*(?:the\s+)?|,?\s+and\s+(?:the\s+)?|,?\s+(?:as well as|along with)\s+(?:the\s+)?)")
# A clause piece that holds only the verb's auxiliary ("Sweden, Britain and Belgium, along with
# Brazil, have promised"): the subject is in the pieces before it.
_AUXILIARY_ONLY = re.compile(r"\s*(?:(?:has|have|had|is|are|was|were|will|would|also|since|now|all|both|then|so far|"
                             r"still|each|already)\s*)+")
# A description set off by commas that names no government ("the council's three African members").
_DESCRIPTION = re.compile(r"\s*(?:the|a|an)\s+(?:[a-z]|[A-Z][\w.]*['’]s\s)")
# "..., as did Bosnia, Colombia and Portugal": governments that answered the same way.
_AS_DID = re.compile(r",\s+as\s+(?:did|have|has|had|do|does|were|was|would|will)\s+(?:the\s+)?(?=[A-Z])")
_OBJECT_PREPOSITION = re.compile(r"\b(?:to|with|against|on|for|about|toward|towards|into|over|by|at|than|of)\s+(?:the\s+)?$")
_QUOTE_SPAN = re.compile(r"“[^”]*”?|\"[^\"]*\"?")


def mask_quotes(text: str) -> str:
    """``text`` with the inside of every quotation blanked, so nothing quoted is read as a speaker."""
    return _QUOTE_SPAN.sub(lambda m: m.group(0)[0] + " " * (len(m.group(0)) - 2) + m.group(0)[-1]
                           if len(m.group(0)) > 1 else m.group(0), text)


def quoted_words(text: str) -> int:
    """How many words of ``text`` stand inside quotation marks."""
    return sum(len(m.group(0).split()) for m in _QUOTE_SPAN.finditer(text))


@dataclass
class Speaker:
    """Who a statement is attributed to: governments (empty for a non-government voice) and how."""

    actors: tuple[str, ...]
    phrase: str
    how: str  # alias, person, back-reference, title, sentence, context, non-government
    start: int = -1  # where the naming mention starts in the sentence (aliases only)
    definite: bool = False  # a back-reference by a noun ("the government"), weaker than a pronoun
    located: bool = False  # named only as a place after a preposition ("the former colonial power in Chad")


@dataclass
class _Context:
    """What the article has told so far: named people and the last speaker."""

    people: dict[str, tuple[str, ...]] = field(default_factory=dict)
    last_speaker: Speaker | None = None
    last_paragraph: int | None = None
    last_statement_index: int | None = None


def _segments(span: str, offset: int) -> list[tuple[int, str]]:
    """Clause-like pieces of a speaker span, split at commas and dashes, with their offsets."""
    pieces, start = [], 0
    for match in re.finditer(r",|\s[—–]\s|\s-\s|\(|\)", span):
        pieces.append((offset + start, span[start:match.start()]))
        start = match.end()
    pieces.append((offset + start, span[start:]))
    return [(o, s) for o, s in pieces if s.strip()]


def _person_name(text: str) -> str | None:
    """A person's name in ``text`` once titles are taken off ("Defence Minister Harjit Sajjan" → "Harjit Sajjan")."""
    for match in _NAME_RE.finditer(text):
        tokens = match.group(0).split()
        while tokens and tokens[0] in _NAME_STOP:
            tokens.pop(0)
        if len(tokens) >= 2 and tokens[-1] not in _NAME_STOP:
            return " ".join(tokens)
    return None


def _is_appositive(segment: str) -> bool:
    """A bare name or title ("Harjit Sajjan"): the government may be named in the piece before it."""
    words = segment.split()
    return bool(words) and all(w[0].isupper() or w.lower() in ("the", "of", "and", "for", *_PARTICLES) for w in words)


class Attributor:
    """Finds the speaker of one sentence, learning names and back-references as it reads."""

    def __init__(self, gazetteer: Gazetteer, requesters: Sequence[str]) -> None:
        self.gazetteer = gazetteer
        self.requesters = set(requesters)
        self.context = _Context()
        self.paragraph = 0
        self._people_re: re.Pattern[str] | None = None

    # -- learning ------------------------------------------------------------------------------
    def learn_people(self, text: str, people: Sequence[str] = ()) -> None:
        """Names introduced with a government ("Canada's defence minister, Harjit Sajjan"): found by
        the name pattern, and also ``people`` (a spaCy pipeline's PERSON entities) where given."""
        masked = mask_quotes(text)
        for known in self.gazetteer.find_people(masked):
            self._remember(known.text.split(), known.actors)
        matches = [(m.start(), m.group(0)) for m in _NAME_RE.finditer(masked)]
        for name in people:
            at = masked.find(name)
            if at >= 0 and not any(start <= at < start + len(found) for start, found in matches):
                matches.append((at, name))
        for start, matched in matches:
            tokens = [t for t in matched.split()]
            while tokens and (tokens[0] in _NAME_STOP or self.gazetteer.aliases.get(tokens[0])
                              or tokens[0].rstrip("'’s") in self.gazetteer.aliases):
                tokens.pop(0)
            if len(tokens) < 2 or any(self.gazetteer.aliases.get(t) for t in tokens) or tokens[-1] in _NAME_STOP:
                continue
            window = masked[max(0, start - 60):start + len(matched) - len(" ".join(tokens))]
            window = window.split(".")[-1]
            nongov = NONGOV_RE.search(window)
            # "restore ousted President Mohamed Bazoum in Niger, President Alassane Ouattara said":
            # a place named after a preposition (other than "of") is not the official's government.
            mentions = [m for m in self.gazetteer.find(window) if not _PLACE_BEFORE.search(window[:m.start])]
            # The government nearest the name, but only if a title sits between them.
            if nongov and (not mentions or nongov.start() > mentions[-1].start):
                self._remember(tokens, ())
            elif mentions and TITLE_RE.search(window[mentions[-1].start:]):
                self._remember(tokens, mentions[-1].actors)

    def learn_speaker(self, speaker: Speaker) -> None:
        """Remember the name in a speaker phrase resolved another way ("Chancellor Sebastian Kurz")."""
        for match in _NAME_RE.finditer(speaker.phrase):
            tokens = match.group(0).split()
            while tokens and tokens[0] in _NAME_STOP:
                tokens.pop(0)
            if len(tokens) >= 2 and not any(self.gazetteer.aliases.get(t) for t in tokens) and tokens[-1] not in _NAME_STOP:
                self._remember(tokens, speaker.actors)

    def note_subject(self, masked: str, paragraph: int) -> None:
        """A sentence that reports no statement but opens with a known person ("Prime Minister David
        Cameron lost the vote.") makes that person the one a following "he" refers to."""
        opening = re.match(r"\s*(?:(?:[A-Z][\w'’-]*|the|of)\s+){0,4}", masked)
        people = self._people_mentions(masked[:opening.end() + 40] if opening else "", 0)
        if people and people[0].start <= (opening.end() if opening else 0):
            self.context.last_speaker = Speaker(people[0].actors, people[0].text, "person")
            self.context.last_paragraph = paragraph

    def restore(self, context: _Context) -> None:
        """Go back to an earlier context (a clause split that did not hold): the people learnt since
        are forgotten, and so is the pattern that matched them."""
        self.context = context
        self._people_re = None

    def _remember(self, tokens: Sequence[str], actors: tuple[str, ...]) -> None:
        name = " ".join(tokens)
        for key in (name, tokens[-1]):
            if key not in self.context.people:
                self.context.people[key] = actors
                self._people_re = None

    def _people_mentions(self, text: str, offset: int) -> list[Mention]:
        if not self.context.people:
            return []
        if self._people_re is None:
            self._people_re = alternation(self.context.people)
        return [Mention(offset + m.start(), offset + m.end(), m.group(0), "person", self.context.people[m.group(0)])
                for m in self._people_re.finditer(text)]

    # -- resolving -----------------------------------------------------------------------------
    def _segment_speaker(self, segment: str, offset: int) -> Speaker | None:
        """The speaker one clause piece names: a non-government voice, a government alias, a known
        person, or a back-reference to the last speaker, in that order."""
        nongov = NONGOV_RE.search(segment)
        aliases = self.gazetteer.find(segment)
        # "an analyst in Singapore" is the analyst; "analysts said Germany would" names a government.
        if nongov and not any(a.start > nongov.end() and a.kind != "capitals"
                              and not _PREPOSITION_BEFORE.search(segment[:a.start]) for a in aliases):
            return Speaker((), segment.strip(), "non-government")
        direct = [a for a in aliases if not _PREPOSITION_BEFORE.search(segment[:a.start])]
        if direct:
            chain = _conjoined(segment, aliases, aliases.index(direct[-1]))
            return Speaker(tuple(dict.fromkeys(a.actors[0] for a in chain)), segment.strip(), "alias",
                           start=offset + chain[0].start)
        people = self._people_mentions(segment, offset)
        if people:
            return Speaker(people[-1].actors, segment.strip(), "person" if people[-1].actors else "non-government")
        back = _BACK_RE.search(segment)
        if back and any(a.start > back.start() for a in aliases):  # "the government in Ottawa"
            return Speaker(aliases[-1].actors, segment.strip(), "alias", start=offset + aliases[-1].start)
        if back and self.context.last_speaker is not None:
            last = self.context.last_speaker
            pronoun = back.group(0).split()[0].lower() in ("he", "she", "they")
            return Speaker(last.actors, segment.strip(), "back-reference" if last.actors else "non-government",
                           definite=not pronoun)
        if aliases:  # "officials in Ottawa said"
            return Speaker(aliases[-1].actors, segment.strip(), "alias", start=offset + aliases[-1].start,
                           located=not _OFFICIALS_IN.search(segment[:aliases[-1].start]))
        return None

    def _span_speaker(self, span: str, offset: int) -> Speaker | None:
        """The speaker named before a reporting verb: the nearest clause piece that names one."""
        pieces = _segments(span, offset)
        if len(pieces) > 1 and (_AUXILIARY_ONLY.fullmatch(pieces[-1][1]) or span.rstrip().endswith(",")):
            # "Germany, which has soldiers in Afghanistan, Bosnia and Kosovo, has refused": the
            # subject is what the relative clause hangs on, not the places listed inside it.
            relative = [j for j, (_, piece) in enumerate(pieces) if re.match(r"\s*(?:which|who)\b", piece)]
            if relative and relative[0] > 0:
                pieces = pieces[:relative[0]]
        for i in range(len(pieces) - 1, -1, -1):
            seg_offset, segment = pieces[i]
            if len(pieces) > 1 and _ADJUNCT_START.match(segment.strip()):
                continue  # "Asked about the US request, ...", "..., speaking in Washington, ..."
            if i > 0 and i == len(pieces) - 1 and _AUXILIARY_ONLY.fullmatch(segment):
                continue  # "..., have promised troops"
            if i > 0 and (i < len(pieces) - 1 or span.rstrip().endswith(",")) and _DESCRIPTION.match(segment) and not self.gazetteer.find(segment):
                continue  # "Algeria, the strongest military power in the region, has ruled out"
            found = self._segment_speaker(segment, seg_offset)
            if found is not None and found.how == "alias" and i > 0 and _is_appositive(pieces[i - 1][1]) and re.match(
                    r"\s*(?:(?:the|a|an)\s+[a-z]|[A-Z][\w.]*(?:\s[A-Z][\w.]*)?['’]s?\s+[a-z])", segment):
                # "France, the former colonial power in Chad, asked", "Lithuania, Belarus's neighbour,
                # had pressed": the name before the appositive is the speaker, not what it mentions.
                earlier = self._segment_speaker(*pieces[i - 1][::-1])
                if earlier is not None and earlier.how == "alias" and not earlier.located:
                    found = earlier
            if found is not None:
                if found.how == "alias" and len(found.actors) > 1:  # "Britain, Australia and Canada have"
                    mentions = self.gazetteer.find(span)
                    first = next((k for k, m in enumerate(mentions) if m.start + offset == found.start), None)
                    if first is not None:
                        chain = _conjoined(span, mentions, first)
                        found.actors = tuple(dict.fromkeys([*(m.actors[0] for m in chain), *found.actors]))
                return found
            if not _is_appositive(segment):
                return None
        return None

    def as_did(self, masked: str, after: int) -> tuple[str, ...]:
        """The governments that answered as the subject did ("voted for it, as did Bosnia, Colombia and
        Portugal"), named in the list that follows "as did" after position ``after``."""
        match = _AS_DID.search(masked, after)
        if match is None:
            return ()
        return tuple(dict.fromkeys(m.actors[0] for m in leading_list(masked[match.end():], self.gazetteer)))

    def _after_speaker(self, span: str, offset: int) -> Speaker | None:
        """The speaker named after the verb: ``“...,” said Rachel Lind, a security analyst``."""
        for seg_offset, segment in _segments(span, offset):
            if re.match(r"\s*(?:who|which|whose|where|adding|saying|as|after|while|when)\b", segment):
                break
            found = self._segment_speaker(segment, seg_offset)
            if found is not None:
                return found
            if not _is_appositive(segment):
                break
        return None

    def speaker(self, sentence: str, masked: str, cue: re.Match[str]) -> Speaker | None:
        """The speaker of ``sentence`` for reporting cue ``cue``, or None when none can be named."""
        start = max(masked.rfind(q, 0, cue.start()) for q in ("”", '"', ";", ":"))
        before = masked[start + 1:cue.start()]
        if _ACCORDING.match(cue.group(0)) or (before.strip(" ,") == "" and start >= 0):
            # "according to officials in Ottawa"; “...,” said Defence Minister Harjit Sajjan.
            after = re.split(r"[.;:“\"]", masked[cue.end():], maxsplit=1)[0]
            nearest = _segments(after, 0)[0][1] if after.strip() else ""
            return self._with_fallbacks(self._after_speaker(after, cue.end()), nearest, masked, cue)
        nearest = _segments(before, 0)[-1][1] if before.strip() else ""
        found = self._span_speaker(before, start + 1)
        if found is not None and found.definite:
            # "In Berlin, the government said ..." / "the government said Germany would ...": a
            # government named beside the verb beats "the government" meaning the last speaker.
            located = self._located(masked, cue)
            if located is not None:
                return located
        return self._with_fallbacks(found, nearest, masked, cue)

    def _located(self, masked: str, cue: re.Match[str]) -> Speaker | None:
        """A government named where the speaker is ("In Ottawa, ...") or just after the verb ("said
        in Berlin", "said Germany would"), but not an audience ("told Canadian reporters")."""
        lead = re.match(r"\s*(?:In|From|At)\s+([^,]{1,40}),", masked)
        if lead and lead.end() <= cue.start():
            mentions = self.gazetteer.find(lead.group(1))
            if mentions:
                return Speaker(mentions[-1].actors, lead.group(0).strip(" ,"), "sentence")
        if _AUDIENCE_CUE.search(cue.group(0)):
            return None
        window = masked[cue.end():cue.end() + 40]
        for mention in self.gazetteer.find(window):
            if not _OBJECT_PREPOSITION.search(window[:mention.start]):
                return Speaker(mention.actors, window.strip(), "sentence")
        return None

    def _with_fallbacks(self, found: Speaker | None, nearest: str, masked: str, cue: re.Match[str]) -> Speaker | None:
        if found is not None:
            return found
        titles = self.gazetteer.find_titles(nearest)
        if not (TITLE_RE.search(nearest) or titles or _person_name(nearest)):
            return None
        # An official the article does not tie to a government: where they speak, else the
        # government a country-specific title names ("Chancellor"), else the last speaker of the
        # same paragraph ("Defence Minister Lubomír Metnar said" after "The Czech government ...").
        located = self._located(masked, cue)
        if located is not None:
            located.phrase = nearest.strip()
            return located
        if titles:
            return Speaker(titles[-1].actors, nearest.strip(), "title")
        last = self.context.last_speaker
        if last is not None and self.context.last_paragraph == self.paragraph:
            return Speaker(last.actors, nearest.strip(), "context")
        return None


def leading_list(text: str, gazetteer: Gazetteer) -> list[Mention]:
    """The governments listed at the very start of ``text`` ("Bosnia, Colombia and Portugal voted",
    "Croatia and Slovenia on Wednesday"), capitals left out: none when ``text`` does not open with one."""
    mentions = [m for m in gazetteer.find(text) if m.kind != "capitals"]
    if not mentions or mentions[0].start != 0:
        return []
    chain = [mentions[0]]
    for mention in mentions[1:]:
        if not _CONJ.fullmatch(text[chain[-1].end:mention.start]):
            break
        chain.append(mention)
    return chain


def _conjoined(text: str, mentions: Sequence[Mention], index: int) -> list[Mention]:
    """``mentions[index]`` with the mentions listed before it ("Germany and France", "the German and French")."""
    chain = [mentions[index]]
    for k in range(index - 1, -1, -1):
        if _CONJ.fullmatch(text[mentions[k].end:chain[0].start]):
            chain.insert(0, mentions[k])
        else:
            break
    return chain
