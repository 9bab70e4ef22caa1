"""Nothing executed: opening a run, a model folder or a checkpoint someone sent runs none of their code.

Each planted file is a pickle whose unpickling would create a folder (``PWNED``): every test
checks the load is refused or the file ignored, and that the folder never appears. The source
checks at the end make sure no unsafe loader creeps into the package.
"""

from __future__ import annotations

import ast
import json
import os
import pickle
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import toy_frame
from stance.config import load_config
from stance.errors import ModelError, StanceError
from stance.recipes import resume_run, train
from stance.models import TextInputs, load_classifier
from stance.runs import Run

PACKAGE = Path(__file__).resolve().parents[1] / "stance"


class Evil:
    """Unpickling this creates ``marker``: proof that code from a file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (str(self.marker),))


def _config(folder: Path, model: str, model_type: str = "transformer", epochs: int = 2) -> Path:
    toy_frame().to_json(folder / "statements.jsonl", orient="records", lines=True)
    (folder / "splits.json").write_text(json.dumps({"method": "fixed for tests", "seed": 0, "dev_fraction": 0.25,
                                                    "test_fraction": 0.25,
                                                    "episodes": {"train": ["e1", "e2"], "dev": ["e3"], "test": ["e4"]}}))
    config = folder / "toy.yaml"
    config.write_text(
        f"data: {{path: {folder / 'statements.jsonl'}, splits: {folder / 'splits.json'}}}\n"
        f"model: {{type: {model_type}, name: {model}}}\n"
        f"train: {{epochs: {epochs}, learning_rate: 5.0e-3, batch_size: 4}}\n"
        "evaluate: {bootstrap: 0, baselines: []}\n"
        f"output: {{dir: {folder / 'experiments'}}}\n"
    )
    return config


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model_dir) -> Path:
    folder = tmp_path_factory.mktemp("untrusted")
    run, _ = train(load_config(_config(folder, str(tiny_model_dir))))
    return run.path


INPUTS = TextInputs(["We will send two frigates.", "The request is under review."])


def test_pickles_beside_the_safetensors_are_never_opened(trained, tmp_path):
    expected = load_classifier(trained / "model").predict_proba(INPUTS)
    model = tmp_path / "model"
    shutil.copytree(trained / "model", model)
    for name in ("pytorch_model.bin", "model.pkl", "training_args.bin", "optimizer.pt"):
        (model / name).write_bytes(pickle.dumps(Evil(tmp_path / "PWNED")))
    np.testing.assert_array_equal(load_classifier(model).predict_proba(INPUTS), expected)
    assert not (tmp_path / "PWNED").exists()


def test_pickled_weights_without_safetensors_are_refused(trained, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(trained / "model", model)
    (model / "model.safetensors").unlink()
    (model / "pytorch_model.bin").write_bytes(pickle.dumps(Evil(tmp_path / "PWNED")))
    with pytest.raises(ModelError, match="holds no model.safetensors"):
        load_classifier(model)
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("array_file", ["logreg.npz", "tfidf.npz"])
def test_pickled_arrays_in_a_baseline_are_refused(tmp_path, array_file):
    run, _ = train(load_config(_config(tmp_path, "default", "tfidf_logreg")))
    model = run.model_dir
    np.savez(model / array_file, coef=np.array([Evil(tmp_path / "PWNED")], dtype=object),
             intercept=np.zeros(3), idf=np.array([Evil(tmp_path / "PWNED")], dtype=object))
    with pytest.raises(ModelError, match="allow_pickle=False"):
        load_classifier(model)
    assert not (tmp_path / "PWNED").exists()


def test_a_pickle_planted_in_a_checkpoint_stops_the_resume(tmp_path, tiny_model_dir, monkeypatch):
    import stance.recipes.training as experiment

    config = load_config(_config(tmp_path, str(tiny_model_dir), epochs=1))

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash")

    with monkeypatch.context() as patch:  # a crash after training leaves the checkpoints behind
        patch.setattr(experiment, "write_atomic", crash)
        with pytest.raises(RuntimeError):
            train(config)
    [folder] = (tmp_path / "experiments").iterdir()
    [checkpoint] = (folder / "checkpoints").iterdir()
    (checkpoint / "optimizer.pt").write_bytes(pickle.dumps(Evil(tmp_path / "PWNED"), protocol=2))
    with pytest.raises(ModelError, match="refused to load a checkpoint file that holds more than tensors"):
        resume_run(Run(folder))
    assert not (tmp_path / "PWNED").exists()
    assert folder.name.endswith(".incomplete")

    # A checkpoint with pickled weights instead of safetensors is not resumed from at all.
    (checkpoint / "model.safetensors").unlink()
    (checkpoint / "pytorch_model.bin").write_bytes(pickle.dumps(Evil(tmp_path / "PWNED")))
    finished, _ = resume_run(Run(folder))  # nothing usable left: trains again from the start
    assert finished.complete and not (tmp_path / "PWNED").exists()


def test_transformers_is_always_told_not_to_run_remote_code(trained, tmp_path, tiny_model_dir, monkeypatch):
    """Every from_pretrained call stance makes, training and loading, says trust_remote_code=False."""
    import transformers

    calls = []
    for cls in (transformers.AutoTokenizer, transformers.AutoModel, transformers.AutoModelForSequenceClassification):
        original = cls.from_pretrained.__func__

        def spy(owner, *args, _original=original, **kwargs):
            calls.append((owner.__name__, kwargs.get("trust_remote_code", "unset")))
            return _original(owner, *args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", classmethod(spy))
    config = load_config(_config(tmp_path, str(tiny_model_dir), epochs=1), ["train.max_steps=1"])
    train(config)
    load_classifier(trained / "model").predict_proba(INPUTS)
    run, _ = train(load_config(_config(tmp_path, str(tiny_model_dir), "embedding_logreg")))
    load_classifier(run.model_dir).predict_proba(INPUTS)
    assert {name for name, _ in calls} == {"AutoTokenizer", "AutoModel", "AutoModelForSequenceClassification"}
    assert {value for _, value in calls} == {False}


# ----------------------------------------------------------------------------------------------
# The package source


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func)


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_source_never_trusts_remote_code_unpickles_or_loads_yaml_unsafely(source):
    tree = ast.parse(source.read_text(encoding="utf-8"))
    for call, name in _calls(tree):
        keywords = {k.arg: k.value for k in call.keywords}
        where = f"{source.name}:{call.lineno}: {name}"
        if "trust_remote_code" in keywords:
            assert isinstance(keywords["trust_remote_code"], ast.Constant) and keywords["trust_remote_code"].value is False, where
        if name.endswith("from_pretrained"):
            assert "trust_remote_code" in keywords, f"{where} must say trust_remote_code=False"
            if "Tokenizer" not in name:
                assert ast.unparse(keywords.get("use_safetensors", ast.Constant(None))) == "True", where
        assert not re.search(r"(^|\.)(pickle|dill|cloudpickle|joblib|marshal)\.loads?$", name), where
        assert name not in ("torch.load", "yaml.load", "yaml.unsafe_load", "yaml.full_load", "pd.read_pickle"), where
        if name in ("np.load", "numpy.load"):
            assert ast.unparse(keywords.get("allow_pickle", ast.Constant(True))) == "False", where
    text = source.read_text(encoding="utf-8")
    assert "trust_remote_code=True" not in text and "allow_pickle=True" not in text


def test_a_config_never_runs_python(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text(f"name: !!python/object/apply:os.makedirs [{str(tmp_path / 'PWNED')!r}]\n")
    with pytest.raises(StanceError, match="never run"):
        load_config(path)
    assert not (tmp_path / "PWNED").exists()
