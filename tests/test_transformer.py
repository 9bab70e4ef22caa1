import dataclasses

import numpy as np
import pytest

from stance.config import validate_config
from stance.models import TextInputs, build_classifier, load_classifier
from stance.models.transformer import TransformerClassifier

LABELS = ["decline", "consider", "comply"]


def _transformer(model_dir, *, pooling="cls", **train) -> TransformerClassifier:
    """A transformer built as a run builds it: settings not given are the config's defaults (the builder
    is the only source of defaults)."""
    config = validate_config({"data": {"labels": LABELS}, "model": {"name": str(model_dir), "params": {"pooling": pooling}},
                              "train": train})
    return build_classifier(config)


def _fit(model_dir, statements, tmp_path, mode="text", **kwargs):
    clf = _transformer(model_dir, learning_rate=2e-3, epochs=kwargs.pop("epochs", 12), batch_size=8, warmup_ratio=0.0,
                       **kwargs)
    x = TextInputs.from_frame(statements, mode)
    history = clf.fit(x, statements["label"].tolist(), seed=0)
    return clf, x, history


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_tiny_model_overfits_saves_and_reloads_identically(tiny_model_dir, statements, tmp_path, pooling):
    clf, x, history = _fit(tiny_model_dir, statements, tmp_path, pooling=pooling)
    assert any("loss" in h for h in history)
    predicted = clf.predict(x)
    accuracy = np.mean(np.array(predicted) == statements["label"].to_numpy())
    assert accuracy >= 0.9
    proba = clf.predict_proba(x)
    assert proba.shape == (24, 3) and np.allclose(proba.sum(axis=1), 1)
    clf.save(tmp_path / "model")
    assert (tmp_path / "model" / "model.safetensors").is_file()
    reloaded = load_classifier(tmp_path / "model")
    assert isinstance(reloaded, TransformerClassifier) and reloaded.labels == LABELS
    assert reloaded.pooling == pooling
    np.testing.assert_array_equal(reloaded.predict_proba(x), proba)


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_saved_folder_works_with_transformers_pipeline(tiny_model_dir, statements, tmp_path, pooling):
    from transformers import pipeline

    clf, _, _ = _fit(tiny_model_dir, statements, tmp_path, epochs=1, pooling=pooling)
    clf.save(tmp_path / "model")
    texts = ["We will send two frigates.", "Berlin is still weighing the request from Washington."]
    result = pipeline("text-classification", model=str(tmp_path / "model"), top_k=None)(texts)
    ours = clf.predict_proba(TextInputs(texts))
    for row, proba in zip(result, ours, strict=True):
        scores = {item["label"]: item["score"] for item in row}
        np.testing.assert_allclose([scores[label] for label in LABELS], proba, atol=1e-5)


def test_mean_pooling_averages_only_the_tokens_the_mask_keeps():
    import torch

    from stance.models.pooling import mean_pool

    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [101.0, 102.0]]])
    assert mean_pool(hidden, torch.tensor([[1, 1, 0]])).tolist() == [[2.0, 3.0]]
    assert mean_pool(hidden, None).tolist() == [[35.0, 36.0]]


def test_mean_pooling_model_has_no_unused_pooler(tiny_model_dir):
    """DDP with find_unused_parameters=False needs every parameter in the graph."""
    import torch

    from stance.models.pooling import MeanPoolingForSequenceClassification

    model = MeanPoolingForSequenceClassification.from_encoder(
        str(tiny_model_dir), id2label=dict(enumerate(LABELS)), label2id={k: i for i, k in enumerate(LABELS)})
    out = model(input_ids=torch.tensor([[101, 2000, 102]]), attention_mask=torch.tensor([[1, 1, 1]]),
                labels=torch.tensor([1]))
    out.loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_unknown_pooling_is_a_config_error(toy_experiment):
    from stance.config import load_config
    from stance.errors import ConfigError

    with pytest.raises(ConfigError, match="pooling"):
        load_config(toy_experiment, ["model.params.pooling=max"])


def test_request_text_mode_reads_pairs_and_differs_from_text_mode(tiny_model_dir, statements, tmp_path):
    clf, _, _ = _fit(tiny_model_dir, statements, tmp_path, mode="request_text", epochs=2)
    pairs = TextInputs.from_frame(statements, "request_text")
    alone = TextInputs.from_frame(statements, "text")
    assert clf.predict_proba(pairs).shape == (24, 3)
    assert not np.allclose(clf.predict_proba(pairs), clf.predict_proba(alone))


def test_same_seed_same_model(tiny_model_dir, statements, tmp_path):
    a, x, _ = _fit(tiny_model_dir, statements, tmp_path, epochs=2)
    b, _, _ = _fit(tiny_model_dir, statements, tmp_path, epochs=2)
    np.testing.assert_array_equal(a.predict_proba(x), b.predict_proba(x))


def test_model_path_that_is_not_a_model_is_a_clear_error(tmp_path, statements):
    from stance.errors import ModelError

    (tmp_path / "empty").mkdir()
    clf = _transformer(tmp_path / "empty")
    with pytest.raises(ModelError, match="config.json is missing"):
        clf.fit(TextInputs.from_frame(statements), statements["label"].tolist())


@pytest.mark.slow
def test_real_packaged_minilm_trains_predicts_and_reloads(statements, tmp_path):
    """The embedded default model: a few steps on a handful of statements, then new text."""
    clf = _transformer("default", learning_rate=5e-5, epochs=1, max_steps=4, batch_size=8)
    clf.fit(TextInputs.from_frame(statements), statements["label"].tolist(), seed=1)
    new = TextInputs(["The government confirmed it will not extend the mission.",
                      "Officials are still weighing the request from Washington."])
    proba = clf.predict_proba(new)
    assert proba.shape == (2, 3)
    clf.save(tmp_path / "minilm")
    np.testing.assert_array_equal(load_classifier(tmp_path / "minilm").predict_proba(new), proba)


def test_head_learning_rate_applies_to_the_head_alone(tiny_model_dir, statements, tmp_path):
    """The classifier layer gets head_learning_rate; every encoder parameter keeps learning_rate."""
    from transformers import TrainingArguments

    from stance.models.finetuning import head_learning_rate_optimizer

    clf = _transformer(tiny_model_dir, learning_rate=1e-5, head_learning_rate=1e-3, pooling="mean")
    clf._load_pretrained()
    optimizer_cls, kwargs = head_learning_rate_optimizer(
        clf.model, TrainingArguments(output_dir=str(tmp_path), weight_decay=0.01), clf.training)
    optimizer = optimizer_cls(kwargs.pop("params"), **kwargs)
    rate = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    decay = {id(p): group["weight_decay"] for group in optimizer.param_groups for p in group["params"]}
    head = {name: p for name, p in clf.model.named_parameters() if name.startswith("classifier.")}
    assert set(head) == {"classifier.weight", "classifier.bias"}
    assert len(rate) == sum(1 for _ in clf.model.parameters())
    assert {rate[id(p)] for p in head.values()} == {1e-3}
    assert {rate[id(p)] for name, p in clf.model.named_parameters() if name not in head} == {1e-5}
    assert decay[id(head["classifier.weight"])] == 0.01 and decay[id(head["classifier.bias"])] == 0.0


def test_training_with_a_head_learning_rate_learns(tiny_model_dir, statements, tmp_path):
    clf, x, _ = _fit(tiny_model_dir, statements, tmp_path, pooling="mean", head_learning_rate=1e-2)
    assert np.mean(np.array(clf.predict(x)) == statements["label"].to_numpy()) >= 0.9


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_linear_probe_head_is_the_logistic_regression_on_frozen_features(tiny_model_dir, statements, pooling):
    """LP-FT's first step: before any fine-tuning the model's logits are exactly the decision function
    of a logistic regression fitted on the pretrained encoder's pooled features."""
    from sklearn.linear_model import LogisticRegression

    clf = _transformer(tiny_model_dir, pooling=pooling, head_init="linear_probe")
    clf._load_pretrained()
    x, y = TextInputs.from_frame(statements, "text"), statements["label"].tolist()
    encoder_before = {k: v.clone() for k, v in clf.model.base_model.state_dict().items()}
    clf._linear_probe(x, y)
    features = clf.head_features(x)
    targets = np.array([LABELS.index(label) for label in y])
    probe = LogisticRegression(max_iter=5000).fit(features, targets)
    clf.model.eval()  # a freshly built mean-pooling model starts in training mode (dropout on)
    logits = np.log(clf.predict_proba(x))  # log-softmax: equal to the logits up to a per-row constant
    expected = probe.decision_function(features)
    np.testing.assert_allclose(logits - logits.mean(axis=1, keepdims=True),
                               expected - expected.mean(axis=1, keepdims=True), atol=1e-4)
    assert all(np.array_equal(v, clf.model.base_model.state_dict()[k]) for k, v in encoder_before.items())


def test_linear_probe_then_fine_tune_learns_and_config_checks_the_name(tiny_model_dir, statements, toy_experiment):
    # A random tiny encoder's features hardly vary, so its probe is near zero and learning starts slowly:
    # what matters here is that fine-tuning after the probe moves the encoder and beats chance (1/3).
    clf = _transformer(tiny_model_dir, head_init="linear_probe")
    clf._load_pretrained()
    before = {k: v.clone() for k, v in clf.model.base_model.state_dict().items()}
    clf, x, _ = _fit(tiny_model_dir, statements, None, head_init="linear_probe")
    assert np.mean(np.array(clf.predict(x)) == statements["label"].to_numpy()) >= 0.5
    assert any(not np.array_equal(v, clf.model.base_model.state_dict()[k]) for k, v in before.items())
    with pytest.raises(Exception, match="head_init"):
        _transformer(tiny_model_dir, head_init="zeros")
    with pytest.raises(Exception, match="head_init"):
        TransformerClassifier(LABELS, str(tiny_model_dir), max_length=128, pooling="cls",
                              training=dataclasses.replace(clf.training, head_init="zeros"))
    from stance.config import load_config
    from stance.errors import ConfigError

    with pytest.raises(ConfigError, match="head_init"):
        load_config(toy_experiment, overrides=["train.head_init=zeros"])
