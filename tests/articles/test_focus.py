"""A government's own clause of a sentence that answers for several."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stance.articles import analyze_text
from stance.articles.extraction import classify_statements
from stance.articles.focus import focus_texts, sentence_focus

HEADLINE = "Italy and Germany vote no; France and Spain abstain, Sweden votes yes"


def test_each_government_reads_its_own_clause(gazetteer):
    focus = sentence_focus(HEADLINE, ["Italy", "Germany", "France", "Spain", "Sweden"], gazetteer, 2017)
    assert focus == {"Italy": "Italy and Germany vote no", "Germany": "Italy and Germany vote no",
                     "France": "France and Spain abstain", "Spain": "France and Spain abstain",
                     "Sweden": "Sweden votes yes"}


def test_a_list_of_governments_is_not_cut(gazetteer):
    for text, actors in (
            ("U.S. team flies to Yerevan as France, Italy and Britain send rescuers",
             ["United States", "France", "Italy", "United Kingdom"]),
            ("Ten EU members voted in favour, but Germany, Spain and Greece abstained.", ["Germany", "Spain", "Greece"]),
            ("The prime ministers of Estonia, Latvia and Lithuania urged the IOC to ban Russian athletes.",
             ["Estonia", "Latvia", "Lithuania"])):
        assert sentence_focus(text, actors, gazetteer, 2000) == {actor: text for actor in actors}


def test_the_whole_sentence_where_a_clause_leans_on_another_or_all_stand_together(gazetteer):
    text = "Germany voted against the resolution; Italy did the same."
    assert sentence_focus(text, ["Germany", "Italy"], gazetteer, 2017) == {
        "Germany": "Germany voted against the resolution", "Italy": text}
    # The other clause names only the requester: its words are the answer's context.
    text = "Canada, Sweden and Norway recalled their envoys on Tuesday; Britain had asked them to."
    assert sentence_focus(text, ["Canada", "Sweden", "Norway"], gazetteer, 1989, ["United Kingdom"]) == {
        "Canada": text, "Sweden": text, "Norway": text}
    assert sentence_focus("Canada said no.", ["Canada"], gazetteer, 2015) == {"Canada": "Canada said no."}


def test_a_capital_names_the_government_of_its_era(gazetteer):
    focus = sentence_focus("Moscow and former allies vote for repeal; Egypt stays away", ["Soviet Union", "Egypt"],
                           gazetteer, 1991)
    assert focus == {"Soviet Union": "Moscow and former allies vote for repeal", "Egypt": "Egypt stays away"}


def test_focus_texts_reads_each_sentence_once_for_the_rows_that_share_it(gazetteer):
    frame = pd.DataFrame({"article": ["a", "a", "a", "b", "b"],
                          "actor": ["Italy", "Sweden", "France", "Sweden", "Egypt"],
                          "text": [HEADLINE, HEADLINE, "France abstained; Sweden voted yes.", HEADLINE,
                                   "Egypt said it would send no troops."]})
    focus = focus_texts(frame, gazetteer, {"a": 2017, "b": 2017}, {"b": ["Sweden"]})
    # France's row is the only one of its sentence, but Sweden answers in the other clause; in
    # article b, Sweden asked, so the clauses that name only Sweden are context, not another answer.
    assert focus.tolist() == ["Italy and Germany vote no", "Sweden votes yes", "France abstained", "Sweden votes yes",
                              "Egypt said it would send no troops."]


class _Recorder:
    """A stance classifier that says comply and remembers what it read."""

    labels = ("comply", "consider", "decline")

    def __init__(self):
        self.read = []

    def predict_proba(self, inputs):
        self.read.extend(inputs.texts)
        return np.tile([0.8, 0.1, 0.1], (len(inputs.texts), 1))


def test_the_classifier_reads_the_focus_and_the_evidence_keeps_the_sentence(gazetteer):
    recorder = _Recorder()
    frame = pd.DataFrame({"text": [HEADLINE], "focus": ["Sweden votes yes"], "actor": ["Sweden"]})
    out = classify_statements(frame, recorder)
    assert recorder.read == ["Sweden votes yes"] and out["text"].tolist() == [HEADLINE]

    article = ("Israel asks Europeans to vote against UNESCO text\n\n" + HEADLINE + "\n\n"
               "PARIS, May 2 (Reuters) - Israel asked European governments to vote against a UNESCO resolution on "
               "Jerusalem.\n\nThe board adopted the text on Tuesday.")
    recorder = _Recorder()
    analysis = analyze_text(article, "unesco", gazetteer=gazetteer, classifier=recorder, mode="request_text")
    # The rules take Sweden's answer from the sub-headline; it is read from Sweden's clause alone.
    assert analysis.statements["actor"].tolist() == ["Sweden"] and recorder.read == ["Sweden votes yes"]
    assert analysis.statements["text"].tolist() == [HEADLINE]
