"""Prediction: precision paths on a trained run, streaming files in chunks, and the CLI over them
(batching and the CPU probes themselves: tests/test_inference.py)."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from conftest import LABELS, toy_frame, train_toy_run
from stance.cli import app
from stance.data import read_table_chunks
from stance.errors import DataError, ModelError, StanceError
from stance.models import TextInputs
from stance.models import inference as inference_module
from stance.models.inference import CompileWarning, PrecisionWarning, int8_engine, quantize_int8
from stance.predict import load_predictor, predict_file, predict_texts, stream_predictions

runner = CliRunner()

# transformers makes its log handler on first use, bound to the sys.stderr of that moment: made inside
# a CliRunner call it would later write to a closed stream. Make it now, outside any call.
pytest.importorskip("transformers.utils.logging").get_logger("transformers")

EXTRA = [
    "The cabinet will not send any more troops.",
    "Officials are still weighing the request from Washington.",
    "The navy will deploy a frigate next week.",
    "No decision has been taken on the aircraft.",
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_model_dir) -> Path:
    return train_toy_run(tmp_path_factory.mktemp("predict-run"), tiny_model_dir)


def _inputs() -> pd.DataFrame:
    """The toy statements plus a few new ones, with an extra column that must be carried through."""
    frame = toy_frame()
    extra = pd.DataFrame({"id": [f"x{i}" for i in range(len(EXTRA))], "text": EXTRA})
    frame = pd.concat([frame, extra], ignore_index=True).fillna("")
    frame["note"] = [f"n{i}" for i in range(len(frame))]
    return frame


# ----------------------------------------------------------------------------------------------
# Precision


def test_fp32_labels_are_identical_to_the_transformers_pipeline(run_dir):
    from transformers import pipeline

    texts = _inputs()["text"].tolist()
    ours = predict_texts(run_dir, texts, precision="fp32")
    pipe = pipeline("text-classification", model=str(run_dir / "model"), device=-1)
    theirs = [r["label"] for r in pipe(texts, batch_size=32, truncation=True, max_length=128)]
    assert ours["prediction"].tolist() == theirs
    assert len(set(theirs)) > 1  # a model that tells labels apart, so the comparison means something


def test_no_statements_give_an_empty_probability_table(run_dir):
    classifier, _ = load_predictor(run_dir)
    assert classifier.predict_proba(TextInputs([])).shape == (0, 3)


def test_int8_quantises_the_encoder_but_not_the_ffn_down_projection_or_the_head(run_dir):
    import torch

    classifier, _ = load_predictor(run_dir)
    fp32 = classifier.predict_proba(TextInputs(_inputs()["text"].tolist()))
    names = quantize_int8(classifier.model)
    # 2 layers x (query, key, value, attention output, intermediate); not output.dense (input 64 wide).
    assert len(names) == 10
    assert all(".layer." in n and not (n.endswith("output.dense") and "attention" not in n) for n in names)
    assert isinstance(classifier.model.classifier, torch.nn.Linear)  # the head stays fp32
    int8 = classifier.predict_proba(TextInputs(_inputs()["text"].tolist()))
    assert np.allclose(int8.sum(axis=1), 1) and np.abs(int8 - fp32).max() < 0.05


@pytest.mark.parametrize("amx", [True, False])
def test_int8_packs_for_onednn_on_amx_cpus_and_leaves_the_process_engine_alone(run_dir, monkeypatch, amx):
    import torch

    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    before = torch.backends.quantized.engine
    assert int8_engine() == ("onednn" if amx else before)
    classifier, _ = load_predictor(run_dir)
    fp32 = classifier.predict_proba(TextInputs(_inputs()["text"].tolist()))
    quantize_int8(classifier.model)
    assert torch.backends.quantized.engine == before
    # The layers packed for oneDNN run with oneDNN's kernels whatever the process-wide engine is.
    int8 = classifier.predict_proba(TextInputs(_inputs()["text"].tolist()))
    assert np.abs(int8 - fp32).max() < 0.05


def test_int8_through_load_predictor_and_the_config(run_dir, tmp_path):
    import shutil

    import yaml

    run = tmp_path / run_dir.name
    shutil.copytree(run_dir, run)
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["predict"].update(precision="int8", batch_size=5)
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    classifier, _ = load_predictor(run)
    assert classifier.precision == "int8" and classifier.eval_batch_size == 5
    assert load_predictor(run, precision="fp32")[0].precision == "fp32"  # the call overrides the config


def test_bf16_falls_back_to_fp32_with_a_warning_on_a_cpu_without_native_bf16(run_dir, monkeypatch):
    monkeypatch.setattr(inference_module, "cpu_flags", lambda: {"avx2", "fma"})
    with pytest.warns(PrecisionWarning, match="no native bf16"):
        classifier, _ = load_predictor(run_dir, precision="bf16")
    assert classifier.precision == "fp32"
    with pytest.warns(PrecisionWarning, match="GPUs only"):
        assert load_predictor(run_dir, precision="fp16")[0].precision == "fp32"


def test_bf16_casts_the_model_where_the_cpu_has_amx(run_dir, monkeypatch):
    monkeypatch.setattr(inference_module, "cpu_flags", lambda: {"avx512f", "amx_tile", "amx_bf16"})
    texts = TextInputs(_inputs()["text"].tolist())
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrecisionWarning)
        classifier, _ = load_predictor(run_dir, precision="bf16")
    assert classifier.precision == "bf16"
    fp32 = load_predictor(run_dir)[0].predict_proba(texts)
    bf16 = classifier.predict_proba(texts)
    assert not np.array_equal(bf16, fp32) and np.abs(bf16 - fp32).max() < 0.05
    assert {p.dtype for p in classifier.model.parameters()} == {torch.bfloat16}
    with pytest.raises(ModelError, match="converted to bf16"):
        classifier.prepare_inference("fp32")


# ----------------------------------------------------------------------------------------------
# torch.compile


def test_compile_predicts_what_the_eager_model_predicts(run_dir):
    texts = TextInputs(_inputs()["text"].tolist())
    eager = load_predictor(run_dir)[0].predict_proba(texts)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)  # g++ is on this machine: no fallback
        classifier, _ = load_predictor(run_dir, compile=True)
    assert classifier.compiled and classifier._compiled is not classifier.model
    # Batches of other sizes and lengths, with padding and without, run through the same compiled model.
    for batch_size in (4, 7):
        compiled = classifier.predict_proba(texts, batch_size=batch_size)
        assert np.abs(compiled - eager).max() < 1e-4 and (compiled.argmax(1) == eager.argmax(1)).all()
    assert "_orig_mod" not in "".join(classifier.model.state_dict())  # the plain module is kept to save


def test_compile_falls_back_to_eager_with_a_warning_without_a_cpp_compiler_or_with_int8(run_dir, monkeypatch):
    from torch._inductor import cpp_builder, exc

    def no_compiler():
        raise exc.InvalidCxxCompiler()

    monkeypatch.setattr(cpp_builder, "get_cpp_compiler", no_compiler)
    with pytest.warns(CompileWarning, match="needs a C\\+\\+ compiler"):
        classifier, _ = load_predictor(run_dir, compile=True)
    assert not classifier.compiled
    monkeypatch.undo()
    with pytest.warns(CompileWarning, match="int8's quantised layers split the compiled graph"):
        classifier, _ = load_predictor(run_dir, precision="int8", compile=True)
    assert classifier.precision == "int8" and not classifier.compiled
    result = runner.invoke(app, ["predict", str(run_dir), "We will send ships.", "--precision", "int8", "--compile"])
    assert result.exit_code == 0, result.output
    assert "warning: int8's quantised layers split the compiled graph" in result.output
    assert "predicting without torch.compile" in result.output


def test_compile_comes_from_the_config_and_the_call_overrides_it(run_dir, tmp_path, monkeypatch):
    import shutil

    import yaml

    from stance.models.transformer import TransformerClassifier

    asked = []
    monkeypatch.setattr(TransformerClassifier, "prepare_inference",
                        lambda self, precision, **options: asked.append(options["compile"]) or precision)
    run = tmp_path / run_dir.name
    shutil.copytree(run_dir, run)
    load_predictor(run)
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["predict"]["compile"] = True
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    load_predictor(run)
    load_predictor(run, compile=False)
    assert asked == [False, True, False]


# ----------------------------------------------------------------------------------------------
# Streaming


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.name.endswith((".jsonl", ".jsonl.gz")):
        frame.to_json(path, orient="records", lines=True, force_ascii=False)  # .gz: gzip, as pandas infers
    else:
        frame.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("ext", ["csv", "jsonl", "jsonl.gz", "parquet"])
def test_streamed_output_in_chunks_equals_the_one_shot_output(run_dir, tmp_path, ext):
    source = _write(_inputs(), tmp_path / f"in.{ext}")
    one_shot = tmp_path / f"one.{ext}"
    predict_file(run_dir, source, one_shot)
    streamed = tmp_path / f"streamed.{ext}"
    summary = stream_predictions(run_dir, source, streamed, chunk_size=5)  # 28 rows: 6 chunks
    assert summary.rows == 28 and summary.precision == "fp32" and summary.processes == 1
    if ext == "parquet":
        pd.testing.assert_frame_equal(pd.read_parquet(streamed), pd.read_parquet(one_shot))
    elif ext == "jsonl.gz":  # the streamed file is one gzip member per chunk: the same text inside
        assert gzip.decompress(streamed.read_bytes()) == gzip.decompress(one_shot.read_bytes())
    else:
        assert streamed.read_bytes() == one_shot.read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_read_table_chunks_gives_slices_with_file_line_numbers(tmp_path):
    path = tmp_path / "in.csv"
    # The second record's quoted cell spans two lines, so records start on lines 2, 3, 5, 6, 7.
    path.write_text('id,text\na,one\nb,"two\nlines"\nc,three\nd,four\ne,five\n', encoding="utf-8")
    chunks = list(read_table_chunks(path, 2))
    assert [c["id"].tolist() for c in chunks] == [["a", "b"], ["c", "d"], ["e"]]
    assert [c["_line"].tolist() for c in chunks] == [[2, 3], [5, 6], [7]]
    middle = list(read_table_chunks(path, 2, start=1, stop=4))
    assert [c["id"].tolist() for c in middle] == [["b"], ["c", "d"]]


def test_stream_refuses_an_existing_output_and_finds_duplicate_ids_across_chunks(run_dir, tmp_path):
    frame = _inputs()
    frame.loc[20, "id"] = frame.loc[1, "id"]  # rows 1 and 20: JSONL lines 2 and 21, in different chunks
    source = _write(frame, tmp_path / "in.jsonl")
    out = tmp_path / "out.csv"
    with pytest.raises(DataError, match=r"duplicate id\(s\) on line\(s\) 2, 21"):
        stream_predictions(run_dir, source, out, chunk_size=10)
    assert not out.exists() and not list(tmp_path.glob("*.tmp"))
    out.write_text("keep me")
    with pytest.raises(StanceError, match="already exists"):
        stream_predictions(run_dir, _write(_inputs(), tmp_path / "ok.jsonl"), out)
    assert out.read_text() == "keep me"
    stream_predictions(run_dir, tmp_path / "ok.jsonl", out, force=True)
    assert len(pd.read_csv(out)) == 28


def test_stream_reports_a_missing_text_column_and_an_empty_file(run_dir, tmp_path):
    (tmp_path / "no_text.csv").write_text("id,body\n1,hello\n")
    with pytest.raises(DataError, match="missing column"):
        stream_predictions(run_dir, tmp_path / "no_text.csv", tmp_path / "a.csv")
    (tmp_path / "empty.csv").write_text("id,text\n")
    with pytest.raises(DataError, match="no statements"):
        stream_predictions(run_dir, tmp_path / "empty.csv", tmp_path / "b.csv")
    assert not list(tmp_path.glob("*.tmp"))


# ----------------------------------------------------------------------------------------------
# CLI


def test_cli_predict_streams_a_file_with_a_precision(run_dir, tmp_path):
    source = _write(_inputs(), tmp_path / "in.csv")
    result = runner.invoke(app, ["predict", str(run_dir), "--input", str(source), "--output", str(tmp_path / "o.jsonl"),
                                 "--precision", "int8", "--chunk-size", "10", "--batch-size", "4"])
    assert result.exit_code == 0, result.output
    assert "wrote 28 predictions" in result.output and "int8 on cpu" in result.output
    written = pd.read_json(tmp_path / "o.jsonl", lines=True)
    assert written["id"].tolist() == _inputs()["id"].tolist() and set(written["prediction"]) <= set(LABELS)
    assert written["note"].tolist() == _inputs()["note"].tolist()  # other columns kept


def test_cli_predict_prints_one_warning_line_when_bf16_falls_back(run_dir, monkeypatch):
    monkeypatch.setattr(inference_module, "cpu_flags", lambda: {"avx2"})
    result = runner.invoke(app, ["predict", str(run_dir), "We will send ships.", "--precision", "bf16"])
    assert result.exit_code == 0, result.output
    assert "warning: this CPU has no native bf16 matmul" in result.output and "predicting in fp32" in result.output


def test_cli_predict_rejects_an_unknown_precision_or_device(run_dir):
    assert runner.invoke(app, ["predict", str(run_dir), "hello", "--precision", "int4"]).exit_code == 2
    assert runner.invoke(app, ["predict", str(run_dir), "hello", "--device", "tpu"]).exit_code == 2
