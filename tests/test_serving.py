"""Serving: `stance export --format onnx` (fp32 and static int8) and `stance predict --engine onnxruntime`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import LABELS, toy_frame, train_toy_run

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from stance.cli import app  # noqa: E402
from stance.errors import ModelError, StanceError  # noqa: E402
from stance.predict import predict_file, predict_texts  # noqa: E402

runner = CliRunner()
pytest.importorskip("transformers.utils.logging").get_logger("transformers")

NEW_STATEMENTS = [
    "The cabinet will not send any more troops.",
    "Officials are still weighing the request from Washington.",
    "The navy will deploy a frigate next week.",
    "No decision has been taken on the aircraft, a spokesman said on Tuesday evening after the meeting.",
]


@pytest.fixture(scope="module")
def pair_run(tmp_path_factory, tiny_model_dir) -> Path:
    """A tiny BERT trained on the toy statements, reading (request, statement) pairs."""
    return train_toy_run(tmp_path_factory.mktemp("serving"), tiny_model_dir, input_mode="request_text",
                         epochs=20, batch_size=4)


@pytest.fixture(scope="module")
def inputs_file(pair_run: Path) -> Path:
    frame = toy_frame()
    extra = pd.DataFrame({"id": [f"new-{i}" for i in range(len(NEW_STATEMENTS))], "text": NEW_STATEMENTS,
                          "request": "ships for the coalition mission"})
    path = pair_run.parent / "inputs.csv"
    pd.concat([frame[["id", "text", "request", "label"]], extra]).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def fp32_export(pair_run: Path) -> Path:
    result = runner.invoke(app, ["export", str(pair_run), "--format", "onnx"])
    assert result.exit_code == 0, result.output
    return pair_run / "export" / "onnx"


@pytest.fixture(scope="module")
def int8_export(pair_run: Path) -> Path:
    result = runner.invoke(app, ["export", str(pair_run), "--format", "onnx", "--quantize", "int8",
                                 "--calibration", "8"])
    assert result.exit_code == 0, result.output
    assert "calibrated on 8 training statements" in result.output
    return pair_run / "export" / "onnx-int8"


def test_export_folder_holds_graph_tokenizer_and_card(fp32_export: Path, pair_run: Path):
    card = json.loads((fp32_export / "stance_model.json").read_text())
    assert card["kind"] == "onnx" and card["labels"] == LABELS
    assert card["input_mode"] == "request_text" and card["quantization"] is None
    assert card["source_run"] == pair_run.name
    assert {"input_ids", "attention_mask"} <= set(card["inputs"])
    assert (fp32_export / "model.onnx").is_file() and (fp32_export / "tokenizer.json").is_file()
    assert not list(fp32_export.parent.glob("*.tmp"))


def test_onnxruntime_matches_torch_probabilities_and_labels(fp32_export: Path, pair_run: Path, inputs_file: Path):
    torch_out = predict_file(pair_run, inputs_file, engine="torch")
    onnx_out = predict_file(pair_run, inputs_file, engine="onnxruntime", batch_size=3)  # padded batches
    assert list(onnx_out.columns) == list(torch_out.columns)
    probabilities = [f"p_{label}" for label in LABELS]
    np.testing.assert_allclose(onnx_out[probabilities].to_numpy(), torch_out[probabilities].to_numpy(), atol=1e-4)
    assert onnx_out["prediction"].tolist() == torch_out["prediction"].tolist()
    # the model tells the toy labels apart, so identical labels mean something
    assert len(set(torch_out["prediction"])) == 3


def test_the_export_tokenizer_encodes_as_autotokenizer_does(fp32_export: Path):
    """FastTokenizer (tokenizers alone) gives AutoTokenizer's ids, masks and segments, pairs and single
    texts, with longest-first truncation."""
    from transformers import AutoTokenizer

    from stance.models.onnx import FastTokenizer

    reference, fast = AutoTokenizer.from_pretrained(fp32_export), FastTokenizer(fp32_export)
    requests = ["ships for the coalition mission", "a very long request " * 30, "", "Vote for the resolution"]
    for max_length in (128, 12):
        for args in ((requests, NEW_STATEMENTS), (NEW_STATEMENTS,)):
            expected = reference(*args, truncation=True, max_length=max_length)
            got = fast(*args, truncation=True, max_length=max_length)
            for name in ("input_ids", "attention_mask", "token_type_ids"):
                assert got[name] == expected[name], (name, max_length)
    assert fast.pad_token_id == reference.pad_token_id


def test_onnx_prediction_runs_without_importing_torch(fp32_export: Path):
    import subprocess
    import sys

    code = ("import sys; from stance.models.onnx import OnnxClassifier; from stance.models import TextInputs; "
            f"c = OnnxClassifier.load({str(fp32_export)!r}); print(c.predict(TextInputs(['We will send ships'], "
            "['ships for the mission']))[0]); print('torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] in LABELS and out[1:] == ["False", "False"]


def test_export_folder_can_stand_in_for_the_run(fp32_export: Path, pair_run: Path):
    requests = ["ships for the coalition mission"] * len(NEW_STATEMENTS)
    from_folder = predict_texts(fp32_export, NEW_STATEMENTS, requests, engine="onnxruntime")
    from_run = predict_texts(pair_run, NEW_STATEMENTS, requests, engine="onnxruntime")
    pd.testing.assert_frame_equal(from_folder, from_run)


def test_int8_export_is_calibrated_on_the_train_split_and_predicts(int8_export: Path, pair_run: Path,
                                                                   inputs_file: Path, tmp_path: Path):
    card = json.loads((int8_export / "stance_model.json").read_text())
    assert card["quantization"] == "int8" and card["quantized_nodes"] > 0
    # activations are quantised too (not weights alone, which dequantise at every call: slower than fp32),
    # and the feed-forward down-projections stay fp32
    import onnx

    graph = onnx.load(str(int8_export / "model.onnx")).graph
    quantized_inputs = {n.input[0] for n in graph.node if n.op_type == "QuantizeLinear"}
    assert quantized_inputs, "no activation is quantised"
    matmuls = [n for n in graph.node if n.op_type == "MatMul"]
    down = [n for n in matmuls if "/output/dense/" in n.name and "/attention/" not in n.name]
    assert down and all(n.input[0] not in {q.output[0] for q in graph.node if q.op_type == "DequantizeLinear"}
                        for n in down)
    assert card["calibration"] == {"statements": 8, "split": "train", "seed": 0}
    out = tmp_path / "int8.csv"
    result = runner.invoke(app, ["predict", str(pair_run), "--engine", "onnxruntime", "--precision", "int8",
                                 "--input", str(inputs_file), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "int8" in result.output
    predicted = pd.read_csv(out)
    proba = predicted[[f"p_{label}" for label in LABELS]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert set(predicted["prediction"]) <= set(LABELS)
    fp32 = predict_file(pair_run, inputs_file, engine="onnxruntime")
    assert (predicted["prediction"] == fp32["prediction"]).mean() >= 0.75  # 28 statements, a tiny model


def test_predict_without_an_export_says_how_to_make_one(tmp_path_factory, tiny_model_dir, pair_run: Path):
    import shutil

    bare = tmp_path_factory.mktemp("bare") / pair_run.name
    shutil.copytree(pair_run, bare, ignore=shutil.ignore_patterns("export"))
    with pytest.raises(ModelError, match=r"has no int8 ONNX export \(run `stance export .* --quantize int8` first\)"):
        predict_texts(bare, ["a statement"], ["a request"], engine="onnxruntime", precision="int8")


def test_export_refuses_an_existing_folder_without_force(fp32_export: Path, pair_run: Path):
    result = runner.invoke(app, ["export", str(pair_run)])
    assert result.exit_code == 1
    assert "already exists (pass --force to overwrite it)" in result.output
    assert runner.invoke(app, ["export", str(pair_run), "--force"]).exit_code == 0


def test_unknown_engine_is_a_usage_error(pair_run: Path):
    result = runner.invoke(app, ["predict", str(pair_run), "a statement", "--engine", "tensorrt"])
    assert result.exit_code == 2
    assert "unknown engine 'tensorrt'" in result.output


def test_exporting_a_missing_run_names_it(tmp_path):
    from stance.serving import export_run

    with pytest.raises(StanceError, match="does not exist"):
        export_run(tmp_path / "nope")
