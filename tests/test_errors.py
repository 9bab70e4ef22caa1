"""Every bad input in docs/errors.md, tried through the CLI exactly as the table says.

The table is the specification: each row names a case id, the command to try and the one line the
user sees. :func:`test_bad_input` runs each row's command (after :data:`SETUPS` has written the files
it needs into a fresh folder) and checks the exit status, that the line appears as written (``…``
stands for text that varies, such as absolute paths) and that no traceback is printed.
:func:`test_the_table_and_the_tests_match_one_to_one` keeps the two in step.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shlex
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import toy_frame
from stance.cli import app

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "errors.md"
runner = CliRunner()

# transformers makes its log handler on first use, bound to the sys.stderr of that moment: made
# inside a CliRunner call, it would later write to that call's closed stream and print a
# "--- Logging error --- Traceback" into another command's output. Make it now, outside any call.
transformers_logging = pytest.importorskip("transformers.utils.logging")
transformers_logging.get_logger("transformers")

_ROW = re.compile(r"^\| `(?P<id>[a-z0-9_]+)` \| (?P<case>[^|]+?) \| `(?P<command>[^`]+)` \| (?P<message>.+?) \| "
                  r"(?P<exit>\d+) \|$")


def doc_rows() -> dict[str, dict[str, str]]:
    """The bad-input rows of docs/errors.md by id: case, command, message (code span removed), exit."""
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line.strip())
        if match:
            row = match.groupdict()
            message = row["message"].strip()
            for fence in ("`` ", "`"):
                if message.startswith(fence) and message.endswith(fence[::-1]):
                    message = message[len(fence):-len(fence)]
                    break
            row["message"] = message
            assert row["id"] not in rows, f"case {row['id']} is in the table twice"
            rows[row["id"]] = row
    return rows


def _pattern(message: str) -> re.Pattern:
    return re.compile(".*?".join(re.escape(part) for part in message.split("…")))


def _lines(output: str) -> list[str]:
    # Usage errors come in a box drawn with │; the message is the text inside it.
    return [line.strip().strip("│").strip() for line in output.splitlines()]


# ----------------------------------------------------------------------------------------------
# Fixtures: a trained tiny run and a baseline run, made once for the module


def _write_experiment(folder: Path, model: str, model_type: str = "transformer") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    toy_frame().to_json(folder / "statements.jsonl", orient="records", lines=True)
    (folder / "splits.json").write_text(json.dumps({
        "method": "fixed for tests", "seed": 0, "dev_fraction": 0.25, "test_fraction": 0.25,
        "episodes": {"train": ["e1", "e2"], "dev": ["e3"], "test": ["e4"]},
    }))
    config = folder / "toy.yaml"
    config.write_text(
        "name: toy\n"
        "data: {path: statements.jsonl, splits: splits.json}\n"
        f"model: {{type: {model_type}, name: {model}}}\n"
        "train: {epochs: 1, learning_rate: 1.0e-3, batch_size: 4, logging_steps: 2}\n"
        "evaluate: {bootstrap: 20, baselines: []}\n"
        "output: {dir: experiments}\n"
    )
    return config


def _train(folder: Path, model: str, model_type: str) -> Path:
    from stance.config import load_config
    from stance.recipes import train

    _write_experiment(folder, model, model_type)
    cwd = Path.cwd()
    os.chdir(folder)  # the config's relative paths are relative to where a command runs
    try:
        run, _ = train(load_config("toy.yaml"))
    finally:
        os.chdir(cwd)
    return (folder / run.path).resolve()


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, tiny_model_dir) -> Path:
    return _train(tmp_path_factory.mktemp("trained"), str(tiny_model_dir), "transformer")


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory) -> Path:
    return _train(tmp_path_factory.mktemp("baseline"), "default", "tfidf_logreg")


class Evil:
    """Unpickling this creates ``marker``: proof that code from a file was executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (str(self.marker),))


# ----------------------------------------------------------------------------------------------
# What each row needs in the folder its command runs in


def _csv(name: str, edits: dict[tuple[int, str], str]) -> Callable[[Path, dict], None]:
    """The toy statements as CSV with ``edits`` ({(row, column): value}; row 0 is file line 2)."""
    def setup(folder: Path, ctx: dict) -> None:
        out = toy_frame()
        for (row, column), value in edits.items():
            out.loc[row, column] = value
        out.to_csv(folder / name, index=False)
    return setup


def _edit(frame_edit: Callable[[pd.DataFrame], pd.DataFrame], name: str) -> Callable[[Path, dict], None]:
    def setup(folder: Path, ctx: dict) -> None:
        frame_edit(toy_frame()).to_csv(folder / name, index=False)
    return setup


def _file(name: str, content: str | bytes) -> Callable[[Path, dict], None]:
    def setup(folder: Path, ctx: dict) -> None:
        data = content.encode() if isinstance(content, str) else content
        (folder / name).write_bytes(data)
    return setup


def _gold_answers(folder: Path, ctx: dict) -> None:
    (folder / "arts").mkdir()
    (folder / "arts" / "a.txt").write_text("NATO asked allies to send ships.\nCanada said it would send one ship.\n")
    (folder / "arts" / "answers.csv").write_text(
        "article,actor,label,quote\na,Canada,comply,said it would send one\na,Canada,comply,send one\n")


def _toy(folder: Path, ctx: dict) -> None:
    _write_experiment(folder, str(ctx["tiny_model_dir"]))


def _run(folder: Path, ctx: dict, name: str = "RUN") -> Path:
    run = folder / name
    shutil.copytree(ctx["trained_run"], run)
    return run


def _with(*setups: Callable[[Path, dict], None]) -> Callable[[Path, dict], None]:
    def setup(folder: Path, ctx: dict) -> None:
        for step in setups:
            step(folder, ctx)
    return setup


def _latin1(folder: Path, ctx: dict) -> None:
    frame = toy_frame().iloc[:2].copy()
    frame.loc[1, "text"] = "Le ministre a refusé la demande."
    frame.to_csv(folder / "latin1.csv", index=False, encoding="latin-1")


def _broken_jsonl(folder: Path, ctx: dict) -> None:
    good = "\n".join(json.dumps(row) for row in toy_frame().iloc[:2].to_dict("records"))
    (folder / "broken.jsonl").write_text(good + '\n{"id": "x", "text": "unterminated\n')


def _nan_cells(folder: Path, ctx: dict) -> None:
    _csv("nan_label.csv", {(2, "label"): "NaN"})(folder, ctx)
    # The same cell left blank, as JSON null and as a Parquet null reads the same way.
    frame = toy_frame()
    frame.loc[2, "label"] = ""
    frame.to_csv(folder / "blank_label.csv", index=False)
    frame.loc[2, "label"] = None
    frame.to_json(folder / "null_label.jsonl", orient="records", lines=True)
    frame.to_parquet(folder / "null_label.parquet")


def _incomplete_run(folder: Path, ctx: dict) -> None:
    run = _run(folder, ctx, "RUN.incomplete")
    manifest = json.loads((run / "manifest.json").read_text())
    manifest.update(status="interrupted", error="KeyboardInterrupt: ")
    (run / "manifest.json").write_text(json.dumps(manifest))


def _run_without_card(folder: Path, ctx: dict) -> None:
    (_run(folder, ctx) / "model" / "stance_model.json").unlink()


def _pickled_weights(folder: Path, ctx: dict) -> None:
    model = _run(folder, ctx) / "model"
    (model / "model.safetensors").unlink()
    (model / "pytorch_model.bin").write_bytes(pickle.dumps(Evil(folder / "PWNED")))


def _pickled_baseline(folder: Path, ctx: dict) -> None:
    model = folder / "RUN" / "model"
    shutil.copytree(ctx["baseline_run"], folder / "RUN")
    np.savez(model / "logreg.npz", coef=np.array([Evil(folder / "PWNED")], dtype=object), intercept=np.zeros(3))


def _bin_only(folder: Path, ctx: dict) -> None:
    import torch
    from safetensors.torch import load_file

    _toy(folder, ctx)
    shutil.copytree(ctx["tiny_model_dir"], folder / "bin_only")
    weights = load_file(folder / "bin_only" / "model.safetensors")
    (folder / "bin_only" / "model.safetensors").unlink()
    torch.save(weights, folder / "bin_only" / "pytorch_model.bin")


def _custom_code(folder: Path, ctx: dict) -> None:
    _toy(folder, ctx)
    model = folder / "custom_code"
    shutil.copytree(ctx["tiny_model_dir"], model)
    config = json.loads((model / "config.json").read_text())
    config.update(model_type="evilbert", auto_map={"AutoConfig": "evil.EvilConfig",
                                                    "AutoModelForSequenceClassification": "evil.EvilModel"})
    (model / "config.json").write_text(json.dumps(config))
    (model / "evil.py").write_text(f"import os\nos.makedirs({str(folder / 'PWNED')!r})\n"
                                   "from transformers import BertConfig as EvilConfig\n")


def _empty_model_cache(folder: Path, ctx: dict) -> None:
    _toy(folder, ctx)
    ctx["monkeypatch"].setenv("STANCE_HOME", str(folder / "stance-home"))


def _cpu_without_bf16(folder: Path, ctx: dict) -> None:
    import torch

    from stance.models import inference

    _toy(folder, ctx)
    ctx["monkeypatch"].setattr(inference, "cpu_flags", lambda: {"avx2", "fma"})
    ctx["monkeypatch"].setattr(torch.cuda, "is_available", lambda: False)


def _bogus_folder(name: str) -> Callable[[Path, dict], None]:
    def setup(folder: Path, ctx: dict) -> None:
        (folder / name).mkdir()
        (folder / name / "notes.txt").write_text("not a model\n")
    return setup


def _leaky_dataset(folder: Path, ctx: dict) -> None:
    import datasets

    frame = toy_frame()
    # One statement of e2 sits in test, the rest of e2 in train.
    split = frame["episode"].map({"e1": "train", "e2": "train", "e3": "dev", "e4": "test"})
    split[frame.index[frame["episode"] == "e2"][0]] = "test"
    datasets.DatasetDict({
        name: datasets.Dataset.from_pandas(frame[split == name], preserve_index=False) for name in ("train", "dev", "test")
    }).save_to_disk(str(folder / "leaky"))


def _interrupt(folder: Path, ctx: dict) -> None:
    import stance.recipes.training

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    _toy(folder, ctx)
    ctx["monkeypatch"].setattr(stance.recipes.training, "fit", ctrl_c)


def _interrupt_prediction(ctx: dict) -> None:
    """Ctrl-C while the second chunk is predicted."""
    import stance.predict

    real, calls = stance.predict.predict_frame, []

    def ctrl_c_on_the_second_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    ctx["monkeypatch"].setattr(stance.predict, "predict_frame", ctrl_c_on_the_second_chunk)


_LONG_TEXT = "Officials said the request would be studied. " * 30

SETUPS: dict[str, Callable[[Path, dict], None]] = {
    "missing_file": lambda folder, ctx: None,
    "unsupported_format": _file("statements.xlsx", b"PK\x03\x04 a spreadsheet"),
    "not_utf8": _latin1,
    "not_json": _broken_jsonl,
    "not_parquet": _file("statements.parquet", "id,text\n1,We will send ships.\n"),
    "empty_file": _file("empty.csv", b""),
    "empty_dataset": _edit(lambda f: f.iloc[:0], "header_only.csv"),
    "missing_columns": _edit(lambda f: f.drop(columns=["label"]), "no_label.csv"),
    "unknown_label": _csv("typo_label.csv", {(3, "label"): "complies"}),
    "empty_text": _csv("blank_text.csv", {(2, "text"): "   "}),
    "nan_cell": _nan_cells,
    "duplicate_ids": _csv("duplicate_ids.csv", {(1, "id"): "e1-00"}),
    "conflicting_labels": _csv("conflicting.csv", {(1, "text"): toy_frame().loc[0, "text"].upper()}),
    "long_text": _csv("long.csv", {(3, "text"): _LONG_TEXT}),
    "dataset_shared_episode": _with(_toy, _leaky_dataset),
    "class_missing": _with(_run, _edit(lambda f: f[f["label"] != "consider"], "no_consider.csv")),
    "label_set_differs": _with(_run, _edit(lambda f: f.replace({"label": {"consider": "maybe"}}), "other_scheme.csv")),
    "no_label_column": _with(_run, _edit(lambda f: f.drop(columns="label"), "unlabelled.csv")),
    "unknown_split": _run,
    "config_missing": lambda folder, ctx: None,
    "config_not_yaml": _file("broken.yaml", "train: {epochs: 3\n"),
    "config_unsafe_yaml": _file("evil.yaml", 'name: !!python/object/apply:os.system ["echo pwned"]\n'),
    "config_unknown_key": _file("typo.yaml", "train: {learnin_rate: 0.1}\n"),
    "config_wrong_type": _file("wrong_type.yaml", "train: {epochs: many}\n"),
    "config_unknown_model": _file("bad_model.yaml", "model: {type: transformr}\n"),
    "config_refit_without_cross_validation": _file("refit.yaml", "evaluate: {refit: true}\n"),
    "config_government_step_without_refit": _file("government.yaml", "evaluate: {government_step: true}\n"),
    "config_circular_base": _with(_file("a.yaml", "base: b.yaml\n"), _file("b.yaml", "base: a.yaml\n")),
    "bad_override": _toy,
    "split_file_missing": _toy,
    "split_file_unknown_format": _with(_toy, _file("my_split.json", '{"training": "train.csv", "testing": "test.csv"}\n')),
    "metric_needs_labels": _file("fscore.yaml", "evaluate: {metrics: [f_avg]}\n"),
    "model_not_a_model": _with(_toy, _bogus_folder("notamodel")),
    "model_folder_missing": _toy,
    "model_without_safetensors": _bin_only,
    "model_custom_code": _custom_code,
    "model_not_installed": _empty_model_cache,
    "model_not_installable": lambda folder, ctx: None,
    "train_bf16_unsupported": _cpu_without_bf16,
    "run_missing": lambda folder, ctx: None,
    "not_a_run": _bogus_folder("notarun"),
    "incomplete_run": _incomplete_run,
    "run_model_not_a_model": _run_without_card,
    "pickled_weights": _pickled_weights,
    "pickled_baseline": _pickled_baseline,
    "resume_complete_run": _run,
    "card_without_model": lambda folder, ctx: shutil.rmtree(_run(folder, ctx) / "model"),
    "calibrate_baseline": lambda folder, ctx: shutil.copytree(ctx["baseline_run"], folder / "RUN"),
    "calibrate_twice": _run,
    "distill_missing_teacher": _toy,
    "distill_baseline_student": _with(_toy, _run),
    "output_exists": _with(_run, _file("predictions.csv", "kept,as,it,is\n")),
    "split_file_exists": _toy,
    "import_unknown_format": lambda folder, ctx: None,
    "import_split_unknown": _file("annotations.txt", "ID\tTarget\tTweet\tStance\n1\tAtheism\tGod is good.\tAGAINST\n"),
    "export_exists": _with(_toy, _bogus_folder("hf")),
    "no_onnx_export": _run,
    "prediction_parts_left": _with(_run, _toy, lambda folder, ctx: (folder / "predictions.csv.parts").mkdir()),
    "unknown_aggregation": _file("article.txt", "NATO asked allies to send ships.\nCanada said it would send one.\n"),
    "short_gold_quote": _gold_answers,
    "usage_missing_argument": lambda folder, ctx: None,
    "usage_bad_option": _toy,
    "usage_train_without_config": lambda folder, ctx: None,
    "usage_resume_with_config": _with(_toy, _run),
    "interrupted": _interrupt,
    "prediction_interrupted": _with(_run, _toy, lambda folder, ctx: _interrupt_prediction(ctx)),
}


class _Fixtures(dict):
    """What a setup may need, made only when it asks (the trained runs take seconds)."""

    def __init__(self, request) -> None:
        super().__init__()
        self.request = request

    def __missing__(self, name: str):
        self[name] = self.request.getfixturevalue(name)
        return self[name]


def test_the_table_and_the_tests_match_one_to_one():
    assert list(doc_rows()) == list(SETUPS)


@pytest.mark.parametrize("case", list(SETUPS))
def test_bad_input(case, tmp_path, monkeypatch, request):
    row = doc_rows()[case]
    ctx = _Fixtures(request)
    monkeypatch.chdir(tmp_path)
    SETUPS[case](tmp_path, ctx)
    argv = shlex.split(row["command"])
    assert argv[0] == "stance"
    result = runner.invoke(app, argv[1:])
    output = result.output
    assert result.exit_code == int(row["exit"]), output
    assert "Traceback" not in output
    expected = _pattern(row["message"])
    assert any(expected.fullmatch(line) for line in _lines(output)), f"{row['message']!r} not in:\n{output}"
    assert not (tmp_path / "PWNED").exists(), "code from a file was executed"
    check = EXTRA_CHECKS.get(case)
    if check:
        check(tmp_path, output)


# ----------------------------------------------------------------------------------------------
# What some rows promise beyond their one line


def _same_message_for_every_empty_cell(folder: Path, output: str) -> None:
    for name, line in (("blank_label.csv", 4), ("null_label.jsonl", 3), ("null_label.parquet", 3)):
        result = runner.invoke(app, ["data", "validate", name])
        assert result.exit_code == 1 and f"{name}: empty 'label' on line(s) {line}" in result.output


def _long_text_is_counted_in_the_overview(folder: Path, output: str) -> None:
    assert re.search(r"longer than 128 tokens \(truncated\)\s+│\s+1 ", output), output


def _metrics_stay_defined(folder: Path, output: str) -> None:
    metrics = json.loads((folder / "RUN" / "metrics.json").read_text())["no_consider"]
    assert np.isfinite(metrics["macro_f1"]) and np.isfinite(metrics["accuracy"]) and metrics["n"] == 16
    assert metrics["macro_f1"] <= 2 / 3 + 1e-12


def _nothing_was_overwritten(folder: Path, output: str) -> None:
    assert (folder / "predictions.csv").read_text() == "kept,as,it,is\n"


def _split_file_kept(folder: Path, output: str) -> None:
    assert json.loads((folder / "splits.json").read_text())["method"] == "fixed for tests"


def _interrupted_run_is_left_incomplete(folder: Path, output: str) -> None:
    [run] = (folder / "experiments").iterdir()
    assert run.name.endswith(".incomplete")
    assert json.loads((run / "manifest.json").read_text())["status"] == "interrupted"


def _failed_run_is_left_incomplete(folder: Path, output: str) -> None:
    [run] = (folder / "experiments").iterdir()
    assert run.name.endswith(".incomplete") and json.loads((run / "manifest.json").read_text())["status"] == "failed"


def _no_run_folder(folder: Path, output: str) -> None:
    assert not (folder / "experiments").exists()
def _complete_chunk_kept_and_no_temporary_files(folder: Path, output: str) -> None:
    assert sorted(p.name for p in (folder / "predictions.csv.parts").iterdir()) == ["000000.csv", "progress.json"]
    assert not list(folder.rglob("*.tmp")) and not (folder / "predictions.csv").exists()


EXTRA_CHECKS: dict[str, Callable[[Path, str], None]] = {
    "train_bf16_unsupported": _no_run_folder,
    "nan_cell": _same_message_for_every_empty_cell,
    "long_text": _long_text_is_counted_in_the_overview,
    "class_missing": _metrics_stay_defined,
    "output_exists": _nothing_was_overwritten,
    "split_file_exists": _split_file_kept,
    "interrupted": _interrupted_run_is_left_incomplete,
    "prediction_interrupted": _complete_chunk_kept_and_no_temporary_files,
    "model_not_a_model": _failed_run_is_left_incomplete,
    "model_custom_code": _failed_run_is_left_incomplete,
}


# ----------------------------------------------------------------------------------------------
# Exit codes and --debug


def test_exit_codes_0_1_2(tmp_path, monkeypatch, statements_file):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["data", "validate", str(statements_file)]).exit_code == 0
    assert runner.invoke(app, ["data", "validate", "nope.csv"]).exit_code == 1
    assert runner.invoke(app, ["data", "validate"]).exit_code == 2
    assert runner.invoke(app, ["no-such-command"]).exit_code == 2


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    from stance.errors import DataError

    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["--debug", "data", "validate", "nope.csv"])
    assert isinstance(result.exception, DataError) and "does not exist" in str(result.exception)


def test_messages_quoting_user_data_are_not_read_as_markup(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _csv("markup.csv", {(3, "label"): "[/bold]"})(tmp_path, {})
    result = runner.invoke(app, ["data", "validate", "markup.csv"])
    assert result.exit_code == 1 and "unknown label '[/bold]' on line(s) 5" in result.output


def test_evaluation_counts_truncated_statements(trained_run, tmp_path, monkeypatch):
    """Long texts are cut at input.max_length: the summary and metrics.json count them, with a warning."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(trained_run, tmp_path / "RUN")
    frame = toy_frame()
    frame.loc[[3, 7], "text"] = [_LONG_TEXT, "The minister said no. " * 60]
    frame.to_csv("long.csv", index=False)
    result = runner.invoke(app, ["evaluate", "RUN", "--data", "long.csv"])
    assert result.exit_code == 0, result.output
    assert ("warning: long: 2 of 24 statement(s) are longer than 128 tokens and were truncated (raise "
            "input.max_length to let the model read them whole)") in result.output
    assert json.loads((tmp_path / "RUN" / "metrics.json").read_text())["long"]["truncated"] == 2
    summary = pd.read_csv(tmp_path / "RUN" / "reports" / "long" / "summary.csv").set_index("metric")
    assert summary.loc["truncated", "value"] == 2


def test_csv_line_numbers_are_file_lines_with_multiline_cells_and_blank_lines(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    header = "id,text,actor,requester,request,episode,date,label\n"
    Path("multiline.csv").write_text(header + '1,"Ottawa said\nit will not send jets.",Canada,US,jets,e1,2015,decline\n'
                                     "\n" + "2,Berlin is studying it.,Germany,US,jets,e1,2015,considers\n")
    result = runner.invoke(app, ["data", "validate", "multiline.csv"])
    assert result.exit_code == 1 and "unknown label 'considers' on line(s) 5" in result.output

