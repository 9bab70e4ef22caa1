"""Tests for stance.models.baselines and stance.models.logreg: overfit, save, reload; the keyword rules; the builders."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from pydantic import ValidationError

from stance.errors import ModelError
from stance.models.base import MODELS, TextInputs, read_card
from stance.models.baselines import DEFAULT_LEXICON, KeywordRules, MajorityClass
from stance.models.logreg import EmbeddingLogReg, TfidfLogReg

LABELS = ["decline", "consider", "comply"]

# Written for the tests: four obvious statements per class.
TOY = [
    ("We will send two frigates to the mission.", "comply"),
    ("The government agreed to deploy four aircraft.", "comply"),
    ("Parliament approved the deployment of troops.", "comply"),
    ("We will contribute a field hospital.", "comply"),
    ("We are reviewing the request.", "consider"),
    ("The request is under review with our allies.", "consider"),
    ("We are studying the options.", "consider"),
    ("No decision has been made yet.", "consider"),
    ("We will not join the mission.", "decline"),
    ("The minister ruled out sending troops.", "decline"),
    ("We reject the request.", "decline"),
    ("We have no plans to send ships.", "decline"),
]
TEXTS = TextInputs([text for text, _ in TOY])
GOLD = [label for _, label in TOY]


def make(kind: str, labels=LABELS):
    """An unfitted baseline with settings that overfit the toy data quickly."""
    if kind == "majority":
        return MajorityClass(labels)
    if kind == "keyword":
        return KeywordRules(labels)
    if kind == "tfidf_logreg":
        return TfidfLogReg(labels, C_grid=[100.0], min_df=1)
    return EmbeddingLogReg(labels, pretrained="default", C_grid=[10.0], max_length=32)


# The embedding baseline runs the real packaged MiniLM: marked slow (still run by CI).
KINDS = ["majority", "keyword", "tfidf_logreg", pytest.param("embedding_logreg", marks=pytest.mark.slow)]
KIND_NAMES = ["majority", "keyword", "tfidf_logreg", "embedding_logreg"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """``saved(kind) -> (model, folder)``: the baseline fitted once on the toy data and saved.

    Fitted on first use, so the fast tests never load the encoder.
    """
    cache: dict[str, tuple] = {}

    def fitted(kind: str) -> tuple:
        if kind not in cache:
            model = make(kind)
            model.fit(TEXTS, GOLD, seed=0)
            folder = tmp_path_factory.mktemp(kind)
            model.save(folder)
            cache[kind] = (model, folder)
        return cache[kind]

    return fitted


# ---------------------------------------------------------------------------------------------
# Every baseline


@pytest.mark.parametrize("kind", KINDS)
def test_overfit_save_reload_gives_identical_probabilities(saved, kind):
    model, folder = saved(kind)
    card = read_card(folder)
    assert card["kind"] == kind and card["labels"] == LABELS
    reloaded = type(model).load(folder)
    assert reloaded.labels == LABELS
    np.testing.assert_array_equal(reloaded.predict_proba(TEXTS), model.predict_proba(TEXTS))


@pytest.mark.parametrize("kind", KINDS)
def test_proba_has_one_row_per_input_summing_to_one(saved, kind):
    model, _ = saved(kind)
    proba = model.predict_proba(TEXTS)
    assert proba.shape == (len(TOY), len(LABELS))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba >= 0).all()


@pytest.mark.parametrize("kind", KINDS)
def test_saved_folder_holds_no_pickle(saved, kind):
    _, folder = saved(kind)
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert not [p for p in files if p.suffix in {".pkl", ".pickle", ".joblib"}]
    for path in files:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as arrays:
                assert all(arrays[name].dtype != object for name in arrays.files)
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", ["majority", "keyword", "tfidf_logreg"])
def test_proba_columns_follow_the_given_label_order(saved, kind):
    shuffled = ["comply", "decline", "consider"]
    model = make(kind, shuffled)
    model.fit(TEXTS, GOLD, seed=0)
    expected = saved(kind)[0].predict_proba(TEXTS)[:, [LABELS.index(lab) for lab in shuffled]]
    np.testing.assert_allclose(model.predict_proba(TEXTS), expected)
    if kind != "majority":  # the toy data is balanced: the majority is a tie, in column order
        assert model.predict(TEXTS) == saved(kind)[0].predict(TEXTS)


def test_loading_a_folder_of_another_kind_fails(saved):
    with pytest.raises(ModelError, match="not 'keyword'"):
        KeywordRules.load(saved("majority")[1])


@pytest.mark.parametrize("kind", ["majority", "tfidf_logreg"])
def test_training_labels_outside_the_label_set_are_rejected(kind):
    with pytest.raises(ModelError, match="not in the label set"):
        make(kind).fit(TEXTS, GOLD[:-1] + ["maybe"])


# ---------------------------------------------------------------------------------------------
# Majority class


def test_majority_predicts_the_training_majority_with_its_frequencies():
    model = MajorityClass(LABELS)
    model.fit(TextInputs(["a", "b", "c", "d"]), ["comply", "comply", "comply", "decline"])
    proba = model.predict_proba(TextInputs(["anything", "else"]))
    np.testing.assert_allclose(proba, [[0.25, 0.0, 0.75]] * 2)
    assert model.predict(TextInputs(["x"])) == ["comply"]


def test_majority_per_request_is_each_targets_training_majority(tmp_path):
    labels = ["FAVOR", "AGAINST", "NONE"]
    model = MajorityClass(labels, group_by="request")
    train = TextInputs(["a", "b", "c", "d", "e"], ["Atheism", "Atheism", "Atheism", "Hillary", "Hillary"])
    model.fit(train, ["AGAINST", "AGAINST", "FAVOR", "FAVOR", "FAVOR"])
    proba = model.predict_proba(TextInputs(["x", "y", "z"], ["Hillary", "Atheism", "unseen target"]))
    # Hillary: 2/2 FAVOR; Atheism: 1/3 FAVOR, 2/3 AGAINST; an unseen target: the global 3/5, 2/5.
    np.testing.assert_allclose(proba, [[1, 0, 0], [1 / 3, 2 / 3, 0], [0.6, 0.4, 0]])
    model.save(tmp_path / "m")
    np.testing.assert_allclose(MajorityClass.load(tmp_path / "m").predict_proba(TextInputs(["x"], ["Atheism"])),
                               [[1 / 3, 2 / 3, 0]])
    with pytest.raises(ModelError, match="needs the requests"):
        model.predict_proba(TextInputs(["text only"]))


def test_keyword_says_before_training_that_it_cannot_serve_another_label_set():
    problem = MODELS["keyword"].label_problem
    assert problem(["decline", "consider", "comply"], {}) is None
    assert "built-in lexicon has cues for comply, consider, decline" in problem(["FAVOR", "AGAINST", "NONE"], {})
    assert problem(["FAVOR", "AGAINST"], {"lexicon": {"FAVOR": ["love"], "AGAINST": ["hate"]}}) is None


# ---------------------------------------------------------------------------------------------
# Keyword rules


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("We will send two frigates.", "comply"),  # comply cue "will send"
        ("Ottawa has pledged six aircraft.", "comply"),  # cues run on into inflections
        ("We are reviewing the request.", "consider"),  # consider cue "review"
        ("We will not join the mission.", "decline"),  # decline cue "will not"
        ("Madrid rejected the call.", "decline"),  # "reject" matches "rejected"
        ("We will not rule out sending ships.", "consider"),  # longest cue wins over "will not"
        ("We have not agreed to the request.", "decline"),  # negated comply cue
        ("We are not considering it.", "decline"),  # negated consider cue
        ("Deployment is under review.", "consider"),  # tie (1 comply, 1 consider) -> consider
        ("Not at this time, but we are looking at options.", "consider"),  # codebook hard case
        ("Not at this time.", "decline"),  # codebook hard case
        ("We won't deploy; we offer humanitarian aid instead.", "decline"),
    ],
)
def test_keyword_rules_fire_as_documented(text, label):
    assert KeywordRules(LABELS).decide(text)[0] == label


def test_keyword_matches_report_the_cues_that_counted():
    rules = KeywordRules(LABELS)
    assert rules.matches("We will not rule out sending ships.") == [
        ("not rule out", "consider"), ("sending", "decline"),
    ]
    assert rules.decide("We will send ships and agreed to deploy.")[1].tolist() == [0, 0, 3]


def test_keyword_without_a_cue_falls_back_to_the_training_majority():
    rules = KeywordRules(LABELS)
    assert rules.predict(TextInputs(["The weather is fine."])) == ["consider"]  # before fit
    rules.fit(TextInputs(["a", "b", "c"]), ["decline", "decline", "comply"])
    assert rules.predict(TextInputs(["The weather is fine."])) == ["decline"]


def test_keyword_proba_is_smoothed_counts_with_the_decision_on_top():
    # "will send" + "agreed": counts (0, 0, 2) + 1 smoothing, +1 for the decision -> (1, 1, 4)/6.
    # A tie, "Deployment is under review": (0, 1, 1) + 1, +1 on consider -> (1, 3, 2)/6.
    proba = KeywordRules(LABELS).predict_proba(
        TextInputs(["We will send ships, as agreed.", "Deployment is under review."])
    )
    np.testing.assert_allclose(proba, [[1 / 6, 1 / 6, 4 / 6], [1 / 6, 3 / 6, 2 / 6]])


def test_keyword_reads_the_statement_not_the_request():
    x = TextInputs(["We are reviewing the request."], ["asked to send and deploy troops"])
    assert KeywordRules(LABELS).predict(x) == ["consider"]


def test_keyword_saves_the_lexicon_it_used(saved):
    _, folder = saved("keyword")
    assert json.loads((folder / "lexicon.json").read_text(encoding="utf-8")) == DEFAULT_LEXICON


def test_keyword_custom_lexicon_must_use_known_labels():
    with pytest.raises(ModelError, match="not in the labels"):
        KeywordRules(["yes", "no"])
    rules = KeywordRules(["yes", "no"], lexicon={"yes": ["sure"], "no": ["never"]})
    assert rules.predict(TextInputs(["Sure thing.", "Never."])) == ["yes", "no"]


# ---------------------------------------------------------------------------------------------
# TF-IDF + logistic regression


def test_tfidf_fits_its_training_data(saved):
    model, _ = saved("tfidf_logreg")
    assert model.predict(TEXTS) == GOLD


def test_tfidf_chooses_C_on_dev_and_records_each_score():
    model = TfidfLogReg(LABELS, C_grid=[100.0, 0.01, 1.0], min_df=1)
    history = model.fit(TEXTS, GOLD, TEXTS, GOLD, seed=0)
    assert [entry["C"] for entry in history] == [0.01, 1.0, 100.0]
    assert all(0.0 <= entry["dev_macro_f1"] <= 1.0 for entry in history)
    best = max(entry["dev_macro_f1"] for entry in history)
    selected = [entry for entry in history if entry["selected"]]
    # One winner: the smallest C among those with the best dev score.
    assert len(selected) == 1
    assert selected[0]["C"] == min(e["C"] for e in history if e["dev_macro_f1"] == best)
    assert model.pipeline["logreg"].C == selected[0]["C"]


def test_tfidf_without_dev_uses_the_middle_C():
    history = TfidfLogReg(LABELS, min_df=1).fit(TEXTS, GOLD, seed=0)
    assert history == [{"C": 1.0, "selected": True}]


def test_tfidf_needs_two_training_classes():
    with pytest.raises(ModelError, match="at least two classes"):
        TfidfLogReg(LABELS, min_df=1).fit(TEXTS, ["comply"] * len(TOY))


def test_tfidf_gives_zero_probability_to_a_label_absent_from_training():
    keep = [i for i, label in enumerate(GOLD) if label != "consider"]
    model = TfidfLogReg(LABELS, min_df=1)
    model.fit(TEXTS.subset(keep), [GOLD[i] for i in keep], seed=0)
    proba = model.predict_proba(TEXTS)
    assert (proba[:, LABELS.index("consider")] == 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_tfidf_reads_request_and_statement_together(tmp_path):
    x = TextInputs(TEXTS.texts, ["ships for the mission"] * len(TOY))
    model = TfidfLogReg(LABELS, C_grid=[100.0], min_df=1)
    model.fit(x, GOLD, seed=0)
    assert model.predict(x) == GOLD
    model.save(tmp_path)
    np.testing.assert_array_equal(TfidfLogReg.load(tmp_path).predict_proba(x), model.predict_proba(x))


# ---------------------------------------------------------------------------------------------
# Frozen embeddings + logistic regression (the real packaged MiniLM)


@pytest.mark.slow
def test_embedding_follows_the_sentence_transformers_recipe(saved):
    from sentence_transformers import SentenceTransformer

    model, _ = saved("embedding_logreg")
    texts = ["Short.", "A much longer statement about sending frigates to the mission."]
    ours = model.embed(texts)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-6)
    reference = SentenceTransformer(model.pretrained_path, device="cpu").encode(
        texts, normalize_embeddings=True
    )
    np.testing.assert_allclose(ours, reference, atol=1e-5)
    # Length sorting must put every embedding back in its own row.
    np.testing.assert_allclose(ours[1], model.embed(texts[1:])[0], atol=1e-5)


@pytest.mark.slow
def test_embedding_model_learns_the_toy_data_and_records_its_encoder(saved):
    model, folder = saved("embedding_logreg")
    assert np.mean(np.array(model.predict(TEXTS)) == np.array(GOLD)) >= 0.9
    card = read_card(folder)
    assert card["pretrained"] == "default"
    assert Path(card["pretrained_path"], "config.json").is_file()


# ---------------------------------------------------------------------------------------------
# Registry and builders


def config(params=None, labels=LABELS, name="default", max_length=64):
    """The attributes of an experiment config that the builders read."""
    return SimpleNamespace(
        data=SimpleNamespace(labels=list(labels)),
        model=SimpleNamespace(name=name, params=params or {}),
        input=SimpleNamespace(max_length=max_length),
    )


def test_builders_turn_the_config_into_plain_arguments():
    assert isinstance(MODELS["majority"].builder(config()), MajorityClass)
    assert MODELS["keyword"].builder(config({"smoothing": 0.5})).smoothing == 0.5
    tfidf = MODELS["tfidf_logreg"].builder(config({"ngram_range": [1, 3], "C_grid": [2]}))
    assert (tfidf.ngram_range, tfidf.C_grid, tfidf.min_df) == ((1, 3), [2.0], 2)
    embedding = MODELS["embedding_logreg"].builder(config({"batch_size": 8}, max_length=48))
    assert (embedding.max_length, embedding.batch_size, embedding.pretrained) == (48, 8, "default")
    for kind in KIND_NAMES:
        assert MODELS[kind].loader.__self__.kind == kind
        assert MODELS[kind].builder(config()).labels == LABELS


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("majority", {"C": 1}),
        ("keyword", {"smoothing": 0}),
        ("tfidf_logreg", {"ngram_range": [2, 1]}),
        ("tfidf_logreg", {"C_grid": []}),
        ("embedding_logreg", {"batchsize": 8}),
    ],
)
def test_params_are_validated_with_unknown_keys_forbidden(kind, params):
    with pytest.raises(ValidationError):
        MODELS[kind].params.model_validate(params)
    with pytest.raises(ValidationError):
        MODELS[kind].builder(config(params))


def test_every_params_field_is_documented():
    for kind in KIND_NAMES:
        for name, field in MODELS[kind].params.model_fields.items():
            assert field.description, f"{kind}.{name} has no description"
