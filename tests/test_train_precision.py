"""``train.precision``: bf16 mixed-precision training where the CPU multiplies bf16 natively, and a clear
stop before any work where it does not.

The machine these tests run on may or may not have AMX or AVX-512 BF16, so every test decides what the
CPU "has" by replacing :func:`stance.models.inference.cpu_flags` (and says there is no GPU).
"""

from __future__ import annotations

import math

import pytest
import torch
import yaml
from typer.testing import CliRunner

from stance.cli import app
from stance.config import validate_config
from stance.errors import ConfigError, ModelError
from stance.models import TextInputs, build_classifier
from stance.models import inference as inference_module
from stance.models.transformer import TransformerClassifier

runner = CliRunner()

# Two processors of /proc/cpuinfo as Linux writes it, trimmed: an AVX2-only EPYC and a Xeon with AMX.
CPUINFO_AVX2 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme de pse tsc msr sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2
bogomips\t: 4899.99

processor\t: 1
vendor_id\t: AuthenticAMD
flags\t\t: fpu vme de pse tsc msr sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2
"""
CPUINFO_AMX = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
flags\t\t: fpu sse2 avx avx2 avx512f avx512bw avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8
"""


def _cpu(monkeypatch, cpuinfo: str, tmp_path) -> None:
    """Make this process believe its CPU is the one ``cpuinfo`` describes, and that it has no GPU."""
    path = tmp_path / "cpuinfo"
    path.write_text(cpuinfo)
    real = inference_module.cpu_flags
    monkeypatch.setattr(inference_module, "cpu_flags", lambda: real(str(path)))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_cpu_flags_are_read_from_cpuinfo_text(tmp_path):
    (tmp_path / "avx2").write_text(CPUINFO_AVX2)
    (tmp_path / "amx").write_text(CPUINFO_AMX)
    avx2 = inference_module.cpu_flags(str(tmp_path / "avx2"))
    assert "avx2" in avx2 and "fma" in avx2 and not avx2 & {"amx_bf16", "avx512_bf16"}
    assert {"amx_bf16", "avx512_bf16", "amx_tile"} <= inference_module.cpu_flags(str(tmp_path / "amx"))
    assert inference_module.cpu_flags(str(tmp_path / "missing")) is None


@pytest.mark.parametrize("cpuinfo, native", [(CPUINFO_AVX2, False), (CPUINFO_AMX, True),
                                              (CPUINFO_AMX.replace(" amx_bf16", ""), True),  # AVX-512 BF16 alone
                                              (CPUINFO_AMX.replace(" avx512_bf16", ""), True)])  # AMX alone
def test_bf16_training_is_allowed_only_on_a_cpu_with_native_bf16(monkeypatch, tmp_path, cpuinfo, native):
    _cpu(monkeypatch, cpuinfo, tmp_path)
    assert inference_module.check_training_precision("fp32") is None
    if native:
        assert inference_module.training_precision_problem("bf16") is None
    else:
        with pytest.raises(ModelError, match=r"train.precision bf16: this CPU has no native bf16 .*set "
                                             r"train.precision=fp32"):
            inference_module.check_training_precision("bf16")


def test_config_takes_fp32_or_bf16_and_defaults_to_fp32():
    assert validate_config({}).train.precision == "fp32"
    assert validate_config({"train": {"precision": "bf16"}}).train.precision == "bf16"
    with pytest.raises(ConfigError, match=r"key 'train.precision': input should be 'fp32' or 'bf16' \(got 'fp16'\)"):
        validate_config({"train": {"precision": "fp16"}})


def test_bf16_on_a_cpu_without_it_stops_before_a_run_folder_exists(monkeypatch, tmp_path, toy_experiment):
    _cpu(monkeypatch, CPUINFO_AVX2, tmp_path)
    for command in (["train", str(toy_experiment)], ["run", str(toy_experiment)],
                    ["run", str(toy_experiment), "--set", "evaluate.cross_validation=2"]):
        result = runner.invoke(app, [*command, "--set", "train.precision=bf16"])
        assert result.exit_code == 1 and "this CPU has no native bf16" in result.output
    assert not (tmp_path / "experiments").exists()


def test_bf16_training_runs_under_autocast_and_keeps_fp32_weights(monkeypatch, tmp_path, tiny_model_dir, statements):
    """Forced on (the CPU "has" AMX): the forward passes of training run in bf16, the weights stay fp32,
    and prediction after training runs in fp32."""
    _cpu(monkeypatch, CPUINFO_AMX, tmp_path)
    config = validate_config({"data": {"labels": ["decline", "consider", "comply"]},
                              "model": {"name": str(tiny_model_dir)},
                              "train": {"precision": "bf16", "epochs": 2, "batch_size": 8, "learning_rate": 1e-3,
                                        "logging_steps": 1}})
    dtypes: list = []
    load = TransformerClassifier._load_pretrained

    def load_and_watch(self) -> None:
        load(self)
        self.model.classifier.register_forward_hook(lambda module, args, out: dtypes.append(out.dtype))

    monkeypatch.setattr(TransformerClassifier, "_load_pretrained", load_and_watch)
    classifier = build_classifier(config)
    x = TextInputs.from_frame(statements, "text")
    history = classifier.fit(x, statements["label"].tolist(), x, statements["label"].tolist(), seed=0)
    losses = [h["loss"] for h in history if "loss" in h]
    assert losses and all(math.isfinite(loss) for loss in losses) and any("eval_macro_f1" in h for h in history)
    assert torch.bfloat16 in dtypes
    assert {p.dtype for p in classifier.model.parameters()} == {torch.float32}
    dtypes.clear()
    proba = classifier.predict_proba(x)
    assert dtypes == [torch.float32] and abs(proba.sum(axis=1) - 1).max() < 1e-9


def test_a_bf16_run_records_its_precision(monkeypatch, tmp_path, toy_experiment):
    _cpu(monkeypatch, CPUINFO_AMX, tmp_path)
    result = runner.invoke(app, ["train", str(toy_experiment), "--set", "train.precision=bf16",
                                 "--set", "train.epochs=1"])
    assert result.exit_code == 0, result.output
    [run] = [p for p in (tmp_path / "experiments").iterdir()]
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["precision"] == "bf16"
