from pathlib import Path

import pytest

from stance.config import expand, load_config
from stance.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted((REPO / "configs").rglob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(REPO)))
def test_every_shipped_config_loads_and_says_how_to_run_it(path):
    config = load_config(path)
    header = path.read_text().splitlines()[:2]
    if path.relative_to(REPO).parts[1] == "benchmarks":  # a public dataset: its own labels; the import step comes first
        assert header[0].startswith("# Run: stance data import ") and f"stance run {path.relative_to(REPO)}" in header[1]
        assert "f_avg" in config.evaluate.metrics and "keyword" not in config.evaluate.baselines
        return
    # The answer step's config (stance analyze) has its own label set; every other the stance labels.
    other_labels = {"answers.yaml": ["answer", "not_answer"]}
    assert config.data.labels == other_labels.get(path.name, ["decline", "consider", "comply"])
    assert header[0].startswith("# Run: stance run configs/")


def test_labels_must_differ_ignoring_case_and_official_metrics_need_their_classes(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("data: {labels: [FAVOR, favor]}\n")
    with pytest.raises(ConfigError, match="distinct ignoring case"):
        load_config(path)
    path.write_text("data: {labels: [favor, against, none]}\nevaluate: {metrics: [f_avg]}\n")
    assert load_config(path).evaluate.metrics == ["f_avg"]  # FAVOR and AGAINST matched case-insensitively
    path.write_text("data: {labels: [FAVOR, AGAINST]}\nevaluate: {metrics: [f1_favor]}\n")
    with pytest.raises(ConfigError, match="unknown metric 'f1_favor'; known: f_avg"):
        load_config(path)
    path.write_text("data: {labels: [FAVOR, AGAINST]}\nmodel: {type: keyword}\n")
    with pytest.raises(ConfigError, match="model.type keyword: its built-in lexicon has cues for comply"):
        load_config(path)
    path.write_text("evaluate: {baseline_params: {majority: {group_by: actor}}}\n")
    with pytest.raises(ConfigError, match="evaluate.baseline_params.majority.group_by"):
        load_config(path)


def test_base_is_merged_under_the_file_and_overrides_win(tmp_path):
    (tmp_path / "base.yaml").write_text("name: base\ntrain: {epochs: 2, learning_rate: 1.0e-4}\n")
    (tmp_path / "child.yaml").write_text("base: base.yaml\nname: child\ntrain: {epochs: 4}\n")
    config = load_config(tmp_path / "child.yaml", ["train.learning_rate=3e-5", "input.mode=request_text"])
    assert config.name == "child"
    assert config.train.epochs == 4
    assert config.train.learning_rate == pytest.approx(3e-5)
    assert config.input.mode == "request_text"


def test_typo_names_file_key_and_closest_valid_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train: {learnin_rate: 0.1}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message and "train.learnin_rate" in message and "train.learning_rate" in message


def test_wrong_type_names_key_and_value(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train: {epochs: many}\n")
    with pytest.raises(ConfigError, match=r"train\.epochs.*many"):
        load_config(path)


def test_unknown_model_type_suggests_registered_one(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model: {type: tfidf_logrge}\n")
    with pytest.raises(ConfigError, match="tfidf_logreg"):
        load_config(path)


def test_bad_override_and_missing_file_and_circular_base(tmp_path):
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        load_config(REPO / "configs/default.yaml", ["train.epochs"])
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "a.yaml").write_text("base: b.yaml\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    with pytest.raises(ConfigError, match="circular"):
        load_config(tmp_path / "a.yaml")


def test_yaml_is_read_safely(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_seeds_and_sweep_expand_to_one_config_per_point(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text("seeds: [1, 2]\nsweep: {train.learning_rate: [1.0e-5, 2.0e-5], input.mode: [text, request_text]}\n")
    points = expand(load_config(path))
    assert len(points) == 8
    assignments = [p for p, _ in points]
    assert {"train.learning_rate": 1e-5, "input.mode": "request_text", "train.seed": 2} in assignments
    for point, config in points:
        assert config.train.seed == point["train.seed"]
        assert config.input.mode == point["input.mode"]
        assert config.sweep is None and config.seeds is None


def test_cross_validation_needs_at_least_two_folds(tmp_path):
    path = tmp_path / "cv.yaml"
    path.write_text("evaluate: {cross_validation: 5}\n")
    assert load_config(path).evaluate.cross_validation == 5
    assert load_config(tmp_path / "cv.yaml", ["evaluate.cross_validation=null"]).evaluate.cross_validation is None
    with pytest.raises(ConfigError, match="evaluate.cross_validation"):
        load_config(path, ["evaluate.cross_validation=1"])
