"""The gazetteer: packaged aliases, pycountry's countries, and a user's file merged on top."""

from __future__ import annotations

import pytest

from stance.articles import load_gazetteer
from stance.errors import DataError


def test_gazetteer_names_demonyms_capitals_institutions_and_alliances(gazetteer):
    assert gazetteer.resolve("Ottawa") == "Canada"
    assert gazetteer.resolve("Canadian") == "Canada"
    assert gazetteer.resolve("Bundestag") == "Germany"
    assert gazetteer.resolve("Dutch") == "Netherlands"
    assert gazetteer.resolve("NATO") == "NATO" and gazetteer.kinds["NATO"] == "alliance"
    # Longest alias wins: "West German" is not "German".
    assert [m.actors for m in gazetteer.find("West German officials")] == [("West Germany",)]
    # pycountry adds countries the packaged file does not list.
    assert gazetteer.resolve("Bhutan") == "Bhutan"


def test_gazetteer_names_governments_by_their_names_of_the_time(gazetteer):
    # Reports from the 1950s-1980s name governments as they were then called; gold uses today's entry.
    then = {"Zaire": "Democratic Republic of the Congo", "Ceylon": "Sri Lanka", "Rumania": "Romania",
            "UAR": "Egypt", "Peking": "China", "Kampuchea": "Cambodia", "Upper Volta": "Burkina Faso",
            "Dahomey": "Benin", "Tanganyika": "Tanzania", "Burma": "Myanmar"}
    assert {name: gazetteer.resolve(name) for name in then} == then
    assert [m.actors for m in gazetteer.find("Zairean troops and the People's Republic of China")] == [
        ("Democratic Republic of the Congo",), ("China",)]


def test_gazetteer_ignores_phrases_that_only_contain_an_alias(gazetteer):
    assert gazetteer.find("Latin American leaders and the Washington Post") == []
    assert gazetteer.find("across the Indian Ocean under the Rome Statute") == []
    # Another government's demonym before an institution names that government ("Honduran Congress").
    assert [m.actors for m in gazetteer.find("The Honduran Congress voted")] == [("Honduras",)]
    assert [m.actors for m in gazetteer.find("the US Congress voted")] == [("United States",), ("United States",)]


def test_gazetteer_knows_the_warsaw_pact_as_an_alliance_and_short_names(gazetteer):
    assert gazetteer.resolve("Warsaw Pact") == "Warsaw Pact" and gazetteer.kinds["Warsaw Pact"] == "alliance"
    assert [m.actors for m in gazetteer.find("Warsaw Pact states")] == [("Warsaw Pact",)]  # not Poland
    assert {n: gazetteer.resolve(n) for n in ("Putrajaya", "Honiara", "Port Vila", "Antigua", "Trinidad")} == {
        "Putrajaya": "Malaysia", "Honiara": "Solomon Islands", "Port Vila": "Vanuatu",
        "Antigua": "Antigua and Barbuda", "Trinidad": "Trinidad and Tobago"}


def test_user_gazetteer_adds_governments_and_aliases(tmp_path):
    extra = tmp_path / "extra.yaml"
    extra.write_text("Ruritania: {demonyms: [Ruritanian], capitals: [Strelsau]}\nCanada: {capitals: [Hull]}\n")
    gazetteer = load_gazetteer(extra)
    assert gazetteer.resolve("Strelsau") == "Ruritania"
    assert gazetteer.resolve("Hull") == "Canada"
    assert gazetteer.resolve("Ottawa") == "Canada"  # packaged aliases are kept


def test_user_gazetteer_errors_name_the_file_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("Ruritania: {capital: [Strelsau]}\n")
    with pytest.raises(DataError, match="bad.yaml.*capital"):
        load_gazetteer(bad)
    with pytest.raises(DataError, match="does not exist"):
        load_gazetteer(tmp_path / "missing.yaml")


def test_every_country_has_its_usual_demonyms_and_capitals(gazetteer):
    for alias, government in [("Ivory Coast", "Côte d'Ivoire"), ("Ivorian", "Côte d'Ivoire"), ("Cape Verde", "Cabo Verde"),
                              ("Kuwaiti", "Kuwait"), ("Manama", "Bahrain"), ("Beirut", "Lebanon"), ("Kosovo", "Kosovo"),
                              ("Accra", "Ghana"), ("Nigerien", "Niger"), ("Republic of Congo", "Congo")]:
        assert gazetteer.resolve(alias) == government, alias
    assert gazetteer.kinds["Arab League"] == "organisation" and gazetteer.resolve("GCC") == "Gulf Cooperation Council"
