import numpy as np
import pytest

from stance.config import load_config
from stance.errors import ConfigError
from stance.recipes import run_experiment
from stance.models import TextInputs, build_classifier, load_classifier
from stance.models.ensemble import SeedEnsemble

LABELS = ["decline", "consider", "comply"]


def _config(toy_experiment, *overrides):
    return load_config(toy_experiment, ["model.type=seed_ensemble", "train.epochs=2", *overrides])


def test_members_are_the_seeded_single_models_and_probabilities_their_mean(toy_experiment, statements, tmp_path):
    config = _config(toy_experiment, "model.params.seeds=[3,7]")
    x, y = TextInputs.from_frame(statements), statements["label"].tolist()
    ensemble = build_classifier(config)
    history = ensemble.fit(x, y, seed=0)
    assert {row["member_seed"] for row in history} == {3, 7}

    single = load_config(toy_experiment, ["train.epochs=2"])
    members = []
    for seed in (3, 7):
        member = build_classifier(single)
        member.fit(x, y, seed=seed)
        members.append(member.predict_proba(x))
    np.testing.assert_array_equal(ensemble.members[0].predict_proba(x), members[0])
    np.testing.assert_array_equal(ensemble.members[1].predict_proba(x), members[1])
    assert not np.array_equal(members[0], members[1])  # the seeds make different members
    np.testing.assert_allclose(ensemble.predict_proba(x), (members[0] + members[1]) / 2)

    ensemble.save(tmp_path / "model")
    assert (tmp_path / "model" / "members" / "seed-3" / "model.safetensors").is_file()
    reloaded = load_classifier(tmp_path / "model")
    assert isinstance(reloaded, SeedEnsemble) and reloaded.seeds == [3, 7]
    np.testing.assert_array_equal(reloaded.predict_proba(x), ensemble.predict_proba(x))
    # A member is an ordinary saved classifier.
    np.testing.assert_array_equal(load_classifier(tmp_path / "model" / "members" / "seed-7").predict_proba(x), members[1])


@pytest.mark.parametrize(("override", "message"), [
    ("model.params.seeds=[1]", "seeds"),
    ("model.params.seeds=[1,1]", "distinct"),
    ("model.params.member=seed_ensemble", "cannot be ensembles"),
    ("model.params.member=nonsense", "unknown member type"),
    ("model.params.member_params={pooling: max}", "pooling"),
])
def test_bad_ensemble_params_are_config_errors(toy_experiment, override, message):
    overrides = [override] if "seeds" in override else ["model.params.seeds=[1,2]", override]
    with pytest.raises(ConfigError, match=message):
        _config(toy_experiment, *overrides)


def test_stance_run_trains_evaluates_and_predicts_with_an_ensemble(toy_experiment, statements):
    config = _config(toy_experiment, "model.params.seeds=[1,2]", "model.params.member_params={pooling: mean}",
                     "evaluate.baselines=[majority]")
    run, _ = run_experiment(config)
    assert "test" in run.metrics()
    assert (run.path / "reports" / "test" / "predictions.csv").is_file()
    model = load_classifier(run.model_dir)
    assert [m.pooling for m in model.members] == ["mean", "mean"]
    assert model.prepare_inference("int8") == "int8" and model.precision == "int8"
    assert all(member.precision == "int8" for member in model.members)
    proba = model.predict_proba(TextInputs.from_frame(statements))
    assert proba.shape == (len(statements), 3) and np.allclose(proba.sum(axis=1), 1)


@pytest.mark.parametrize("sweep", ["seeds=[1,2]", "sweep={train.seed: [1, 2]}"])
def test_a_seeds_sweep_over_an_ensemble_is_refused(toy_experiment, sweep):
    """Members take model.params.seeds; train.seed changes nothing, so the runs would be identical."""
    with pytest.raises(ConfigError, match="vary model.params.seeds"):
        _config(toy_experiment, "model.params.seeds=[1,2]", sweep)
    _config(toy_experiment, "model.params.seeds=[1,2]", "sweep={train.learning_rate: [1.0e-3, 2.0e-3]}")
