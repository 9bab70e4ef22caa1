"""Temperature scaling: the fit against hand-computed cases, the model card, runs and `stance calibrate`."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from stance.cli import app
from stance.config import load_config
from stance.errors import ModelError
from stance.models import TextInputs, load_classifier
from stance.models.calibration import (
    TEMPERATURE_RANGE,
    card_temperature,
    fit_temperature,
    negative_log_likelihood,
    temper,
)
from stance.runs import open_run

runner = CliRunner()


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_fit_recovers_a_hand_computed_temperature():
    # Two classes, every statement with logits (0, 2 ln 3), three of four gold in class 1. The NLL is
    # least where sigmoid(2 ln 3 / T) = 3/4, i.e. 2 ln 3 / T = ln 3: T = 2.
    proba = _softmax(np.tile([0.0, 2 * math.log(3)], (4, 1)))
    assert fit_temperature(proba, [1, 1, 1, 0]) == pytest.approx(2.0, abs=1e-4)
    assert temper(proba, 2.0)[0] == pytest.approx([0.25, 0.75])


def test_fit_recovers_the_temperature_that_generated_the_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=4.0, size=(20_000, 3))
    gold = [rng.choice(3, p=p) for p in _softmax(logits / 2.5)]  # a model 2.5 times too confident
    fitted = fit_temperature(_softmax(logits), gold)
    assert fitted == pytest.approx(2.5, rel=0.05)
    assert negative_log_likelihood(temper(_softmax(logits), fitted), gold) < negative_log_likelihood(_softmax(logits), gold)


def test_fit_stays_inside_its_range_when_dev_is_fitted_perfectly_and_is_one_for_nothing():
    proba = _softmax(np.array([[3.0, 0.0], [0.0, 3.0]]))
    assert fit_temperature(proba, [0, 1]) == TEMPERATURE_RANGE[0]
    assert fit_temperature(np.zeros((0, 2)), []) == 1.0


def test_temper_keeps_the_argmax_and_undoes_itself():
    proba = _softmax(np.random.default_rng(1).normal(scale=3, size=(50, 3)))
    scaled = temper(proba, 1.7)
    np.testing.assert_array_equal(scaled.argmax(axis=1), proba.argmax(axis=1))
    assert scaled.max(axis=1).mean() < proba.max(axis=1).mean()  # T > 1 softens
    np.testing.assert_allclose(temper(scaled, 1 / 1.7), proba, atol=1e-12)


@pytest.mark.parametrize("value", [0, -1.5, "2", float("nan"), True])
def test_a_card_temperature_that_is_not_a_positive_number_is_refused(value, tmp_path):
    with pytest.raises(ModelError, match="temperature must be a positive number"):
        card_temperature({"temperature": value}, tmp_path)
    assert card_temperature({}, tmp_path) == 1.0


def test_saved_temperature_changes_probabilities_but_not_the_argmax(toy_experiment, statements, tmp_path):
    from stance.recipes import train

    run, _ = train(load_config(toy_experiment, ["evaluate.calibrate=false"]))
    model = load_classifier(run.model_dir)
    assert model.temperature == 1.0
    x = TextInputs.from_frame(statements)
    before = model.predict_proba(x)
    model.temperature = 3.0
    model.save(tmp_path / "scaled")
    reloaded = load_classifier(tmp_path / "scaled")
    assert json.loads((tmp_path / "scaled" / "stance_model.json").read_text())["temperature"] == 3.0
    after = reloaded.predict_proba(x)
    assert not np.allclose(after, before)
    np.testing.assert_array_equal(after.argmax(axis=1), before.argmax(axis=1))
    np.testing.assert_allclose(after, temper(before, 3.0), atol=1e-9)


def test_a_run_with_calibrate_writes_ece_before_and_after(toy_experiment):
    from stance.recipes import run_experiment

    run, evaluation = run_experiment(load_config(toy_experiment, ["evaluate.baselines=[]"]))
    temperature = json.loads((run.model_dir / "stance_model.json").read_text())["temperature"]
    assert temperature != 1.0 and run.manifest()["calibration"] == {"temperature": temperature, "fitted_on": "dev"}
    for split in ("dev", "test"):
        metrics = run.metrics()[split]
        assert {"ece", "ece_uncalibrated", "log_loss_uncalibrated"} <= set(metrics)
        assert metrics["temperature"] == temperature
        reliability = pd.read_csv(run.reports_dir(split) / "reliability.csv")
        assert {"confidence_uncalibrated", "accuracy_uncalibrated", "count_uncalibrated"} <= set(reliability.columns)
        assert reliability["count_uncalibrated"].sum() == reliability["count"].sum() == metrics["n"]
        assert "before temperature scaling" in (run.reports_dir(split) / "report.html").read_text()
    # Temperature scaling minimises the dev NLL, so the dev log loss cannot rise.
    assert run.metrics()["dev"]["log_loss"] <= run.metrics()["dev"]["log_loss_uncalibrated"] + 1e-9
    # The predictions file holds the scaled probabilities; predict gives the same.
    from stance.predict import predict_texts

    saved = evaluation.tables["predictions"]
    again = predict_texts(run.path, saved["text"].tolist()[:3])
    np.testing.assert_allclose(again["p_comply"].to_numpy(), saved["p_comply"].to_numpy()[:3], atol=1e-6)


def test_calibrate_command_fits_the_temperature_training_would_have_fitted(toy_experiment, tmp_path):
    from stance.recipes import train

    uncalibrated, _ = train(load_config(toy_experiment, ["evaluate.calibrate=false"]))
    calibrated, _ = train(load_config(toy_experiment))
    copy = tmp_path / "copy"
    shutil.copytree(uncalibrated.path, copy)
    result = runner.invoke(app, ["calibrate", str(copy)])
    assert result.exit_code == 0, result.output
    card = json.loads((copy / "model" / "stance_model.json").read_text())
    expected = json.loads((calibrated.model_dir / "stance_model.json").read_text())["temperature"]
    assert card["temperature"] == expected  # same rounded dev probabilities, same bisection
    metrics = open_run(copy).metrics()["dev"]
    assert metrics["ece_uncalibrated"] == pytest.approx(uncalibrated.metrics()["dev"]["ece"], abs=1e-5)
    assert metrics["ece"] == pytest.approx(calibrated.metrics()["dev"]["ece"], abs=1e-5)
    assert open_run(copy).config().evaluate.calibrate is True
    assert open_run(copy).manifest()["calibration"]["fitted_on"] == "reports/dev/predictions.csv"
    again = runner.invoke(app, ["calibrate", str(copy)])
    assert again.exit_code == 1 and "already calibrated" in again.output


def test_a_run_saved_before_calibration_existed_reads_as_uncalibrated(toy_experiment):
    from stance.recipes import train

    run, _ = train(load_config(toy_experiment, ["evaluate.calibrate=false"]))
    saved = yaml.safe_load(run.config_path.read_text())
    del saved["evaluate"]["calibrate"]
    run.config_path.write_text(yaml.safe_dump(saved))
    assert run.config().evaluate.calibrate is False
    assert load_config(toy_experiment).evaluate.calibrate is True  # a config without the key: on


def test_seed_ensemble_scales_its_average(toy_experiment, statements):
    from stance.recipes import train

    run, _ = train(load_config(toy_experiment, ["model.type=seed_ensemble", "model.params={seeds: [1, 2]}",
                                                "train.epochs=1"]))
    ensemble = load_classifier(run.model_dir)
    assert ensemble.temperature != 1.0
    assert all(member.temperature == 1.0 for member in ensemble.members)
    x = TextInputs.from_frame(statements)
    average = np.mean([member.predict_proba(x) for member in ensemble.members], axis=0)
    np.testing.assert_allclose(ensemble.predict_proba(x), temper(average, ensemble.temperature), atol=1e-12)
