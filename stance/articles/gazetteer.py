"""The gazetteer: the aliases that name governments (names, demonyms, capitals used as metonyms,
institutions, alliances), country-specific titles and well-known officials.

:func:`load_gazetteer` reads the packaged ``stance/gazetteer.yaml``, adds every other country
pycountry knows and merges a user's file on top; :meth:`Gazetteer.find` returns the aliases in a text.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from stance.errors import DataError


#: Kinds of alias a gazetteer entry may list, in the order they are read from the file.
ALIAS_KINDS: tuple[str, ...] = ("names", "demonyms", "capitals", "institutions")

#: Phrases that contain a government's alias without naming the government. Matched like aliases
#: (longest first), so "Latin American" is never read as "American".
NOT_GOVERNMENTS: tuple[str, ...] = (
    "Latin America", "Latin American", "North America", "North American", "South America", "South American",
    "Central America", "Central American", "Washington Post", "New York Times", "Ottawa Citizen",
    "Canberra Times", "Sydney Morning Herald", "Globe and Mail", "Times of India", "Berliner Zeitung",
    "Financial Times", "Deutsche Welle", "Associated Press", "Agence France-Presse", "Moscow Olympics",
    "Moscow Games", "Moscow Summer Games", "Washington Consensus", "German Marshall Fund", "Minsk agreements",
    "Minsk accords", "Minsk Protocol", "Lima Group", "Indian Ocean", "Rome Statute", "Helsinki Final Act",
    "Helsinki Accords", "Helsinki accords",
    # Groups of member governments, not the alliance or union speaking.
    "NATO allies", "NATO members", "NATO member states", "NATO partners", "NATO countries", "EU members",
    "EU member states", "EU countries", "EU governments",
)


@dataclass(frozen=True)
class Mention:
    """A stretch of text that names a speaker or a government."""

    start: int
    end: int
    text: str
    kind: str  # names/demonyms/capitals/institutions, title, person, back, nongov
    actors: tuple[str, ...] = ()


@dataclass
class Gazetteer:
    """Aliases that name governments: ``alias -> (government, kind)``, plus country-specific titles.

    Build one with :func:`load_gazetteer`; :meth:`find` returns the aliases in a text.
    """

    aliases: dict[str, tuple[str, str]]
    titles: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._alias_re = alternation([*self.aliases, *NOT_GOVERNMENTS])
        self._title_re = alternation(self.titles) if self.titles else None
        self._people_re = alternation(self.people) if self.people else None

    def find_people(self, text: str) -> list[Mention]:
        """Well-known officials listed in the gazetteer ("Angela Merkel"), by full name."""
        if self._people_re is None:
            return []
        return [Mention(m.start(), m.end(), m.group(0), "person", (self.people[m.group(0)],))
                for m in self._people_re.finditer(text)]

    @property
    def governments(self) -> list[str]:
        """Every government the gazetteer can name, sorted."""
        return sorted({government for government, _ in self.aliases.values()})

    def find(self, text: str) -> list[Mention]:
        """Aliases of governments in ``text``, left to right, longest match first.

        An institution right after another government's demonym is that government's, not its own
        ("the Honduran Congress" is Honduras, not the United States): only the demonym is kept.
        """
        found: list[Mention] = []
        for match in self._alias_re.finditer(text):
            entry = self.aliases.get(match.group(0))
            if entry is None:
                continue
            before = found[-1] if found else None
            if (entry[1] == "institutions" and before is not None and before.kind == "demonyms"
                    and text[before.end:match.start()] == " " and before.actors != (entry[0],)):
                continue
            found.append(Mention(match.start(), match.end(), match.group(0), entry[1], (entry[0],)))
        return found

    def find_titles(self, text: str) -> list[Mention]:
        """Offices that name one government by themselves ("Chancellor", "Taoiseach")."""
        if self._title_re is None:
            return []
        return [Mention(m.start(), m.end(), m.group(0), "title", (self.titles[m.group(0)],))
                for m in self._title_re.finditer(text)]

    def resolve(self, name: str) -> str | None:
        """The canonical government for an alias or canonical name, or ``None``."""
        if name in self.kinds:
            return name
        entry = self.aliases.get(name)
        return entry[0] if entry else None


def alternation(words: Iterable[str]) -> re.Pattern[str]:
    """A pattern matching any of ``words`` as a whole word, the longest first ("West German" before "German")."""
    ordered = sorted(set(words), key=lambda w: (-len(w), w))
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(w) for w in ordered) + r")(?![\w-])")


def load_gazetteer(extra: str | Path | None = None, *, use_pycountry: bool = True) -> Gazetteer:
    """The packaged gazetteer, every other country pycountry knows, and ``extra`` merged on top.

    ``extra`` is a YAML (or JSON) file of the packaged file's shape: a government's aliases are
    added to the entry of the same name, a new name creates an entry. Without pycountry the
    packaged list alone is used.
    """
    packaged = importlib.resources.files("stance").joinpath("gazetteer.yaml").read_text(encoding="utf-8")
    entries = _parse_gazetteer(yaml.safe_load(packaged), "stance/gazetteer.yaml")
    if use_pycountry:
        _add_pycountry(entries)
    if extra is not None:
        entries = _merge_entries(entries, _parse_gazetteer(_read_yaml(Path(extra)), str(extra)))
    aliases: dict[str, tuple[str, str]] = {}
    titles: dict[str, str] = {}
    kinds: dict[str, str] = {}
    people: dict[str, str] = {}
    for government, entry in entries.items():
        kinds[government] = entry.get("kind", "country")
        aliases.setdefault(government, (government, "names"))
        for kind in ALIAS_KINDS:
            for alias in entry.get(kind, []):
                aliases[alias] = (government, kind)
        for title in entry.get("titles", []):
            titles[title] = government
        for person in entry.get("people", []):
            people[person] = government
    return Gazetteer(aliases, titles, kinds, people)


def _read_yaml(path: Path) -> object:
    if not path.is_file():
        raise DataError(f"gazetteer {path} does not exist", hint="check the path")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise DataError(f"gazetteer {path} is not valid YAML: {str(err).splitlines()[0]}") from None


def _parse_gazetteer(raw: object, source: str) -> dict[str, dict]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise DataError(f"gazetteer {source}: expected a mapping of government names to their aliases")
    known = {*ALIAS_KINDS, "titles", "people", "kind"}
    entries: dict[str, dict] = {}
    for government, entry in raw.items():
        entry = entry or {}
        if not isinstance(entry, Mapping):
            raise DataError(f"gazetteer {source}: entry {government!r} must be a mapping",
                            hint="e.g. Canada: {demonyms: [Canadian], capitals: [Ottawa]}")
        unknown = set(entry) - known
        if unknown:
            raise DataError(f"gazetteer {source}: entry {government!r} has unknown key(s) {', '.join(sorted(unknown))}",
                            hint=f"use {', '.join(sorted(known))}")
        clean: dict = {}
        for key, value in entry.items():
            if key == "kind":
                clean[key] = str(value)
            elif isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
                clean[key] = [v.strip() for v in value]
            else:
                raise DataError(f"gazetteer {source}: {government}.{key} must be a list of non-empty strings")
        entries[str(government)] = clean
    return entries


def _merge_entries(under: dict[str, dict], over: dict[str, dict]) -> dict[str, dict]:
    merged = {name: {k: (list(v) if isinstance(v, list) else v) for k, v in entry.items()} for name, entry in under.items()}
    for government, entry in over.items():
        target = merged.setdefault(government, {})
        for key, value in entry.items():
            if key == "kind":
                target[key] = value
            else:
                target[key] = [*target.get(key, []), *[v for v in value if v not in target.get(key, [])]]
    # An alias the user gives to one government is taken away from any other that had it.
    for government, entry in over.items():
        claimed = {v for key in (*ALIAS_KINDS, "titles", "people") for v in entry.get(key, [])}
        for other, other_entry in merged.items():
            if other != government:
                for key in (*ALIAS_KINDS, "titles", "people"):
                    if key in other_entry:
                        other_entry[key] = [v for v in other_entry[key] if v not in claimed]
    return merged


def _add_pycountry(entries: dict[str, dict]) -> None:
    try:
        import pycountry
    except ImportError:  # the packaged list still covers the governments of the corpus
        return
    known = {alias for name, entry in entries.items() for alias in [name, *entry.get("names", [])]}
    for country in pycountry.countries:
        names = [getattr(country, attr, None) for attr in ("common_name", "name")]
        names = [n for n in names if n and "," not in n and "(" not in n]
        if not names or any(n in known for n in names):
            continue
        entries[names[0]] = {"names": list(dict.fromkeys(names))}
        known.update(names)
