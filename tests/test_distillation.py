"""Distillation: the loss against hand-computed cases, a student that follows its teacher, and
`stance distill` making an ordinary run that predict, evaluate and reproduce accept."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from test_transformer import LABELS, _transformer
from typer.testing import CliRunner

from stance.cli import app
from stance.config import load_config
from stance.errors import ConfigError
from stance.models import TextInputs, load_classifier
from stance.models.distillation import NO_LABEL, TeacherTargets, distillation_loss, gold_of, one_hot_packed

runner = CliRunner()


class _Outputs:
    def __init__(self, logits):
        self.logits = torch.tensor(logits, dtype=torch.float32)


def test_loss_is_zero_when_the_student_is_the_teacher_and_cross_entropy_when_hard():
    teacher = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    packed = torch.tensor(TeacherTargets(teacher, temperature=1.0, hard_weight=0.0).packed([0, None]))
    assert packed[1, -1] == NO_LABEL
    loss = distillation_loss(temperature=1.0, hard_weight=0.0)
    assert float(loss(_Outputs(np.log(teacher)), packed)) == pytest.approx(0.0, abs=1e-6)
    # Uniform student, certain one-hot targets: KL = log 3 per row; the hard part reads row 0 only.
    uniform = _Outputs(np.zeros((2, 3)))
    one_hot = torch.tensor(one_hot_packed([0, 2], 3))
    assert float(loss(uniform, one_hot)) == pytest.approx(math.log(3), abs=1e-6)
    hard = distillation_loss(temperature=1.0, hard_weight=1.0)
    assert float(hard(uniform, packed)) == pytest.approx(math.log(3), abs=1e-6)
    np.testing.assert_array_equal(gold_of(one_hot.numpy()), [0, 2])


def test_loss_scales_with_the_temperature_squared_and_softens_the_targets():
    teacher = np.array([[0.9, 0.05, 0.05]])
    soft = TeacherTargets(teacher, temperature=2.0, hard_weight=0.0).packed([0])[0][:3]
    # softmax(log p / 2) ∝ sqrt(p): hand-computed
    expected = np.sqrt(teacher[0]) / np.sqrt(teacher[0]).sum()
    np.testing.assert_allclose(soft, expected, rtol=1e-9)
    student = _Outputs(np.log(expected)[None, :] * 2.0)  # logits / 2 reproduce the softened teacher
    assert float(distillation_loss(2.0, 0.0)(student, torch.tensor([[*expected, 0.0]]))) == pytest.approx(0.0, abs=1e-6)


def test_student_follows_the_teacher_not_the_gold_labels(tiny_model_dir, statements):
    x = TextInputs.from_frame(statements)
    gold = statements["label"].tolist()
    # A teacher that always says the next label round: the student must learn the teacher's argmax.
    shifted = [(LABELS.index(label) + 1) % 3 for label in gold]
    proba = np.full((len(gold), 3), 0.1)
    proba[np.arange(len(gold)), shifted] = 0.8
    student = _transformer(tiny_model_dir, learning_rate=2e-3, epochs=12, batch_size=8, warmup_ratio=0.0)
    history = student.fit(x, gold, seed=0, teacher=TeacherTargets(proba, temperature=1.0, hard_weight=0.0))
    assert any("loss" in row for row in history)
    agreement = np.mean(student.predict_proba(x).argmax(axis=1) == np.array(shifted))
    assert agreement >= 0.9


def test_unlabelled_statements_train_with_a_hard_weight(tiny_model_dir, statements):
    x = TextInputs.from_frame(statements)
    gold = statements["label"].tolist()[:12] + [None] * 12  # half only the teacher labelled
    proba = np.full((24, 3), 1 / 3)
    student = _transformer(tiny_model_dir, learning_rate=1e-3, epochs=1, batch_size=8)
    history = student.fit(x, gold, seed=0, teacher=TeacherTargets(proba, temperature=2.0, hard_weight=0.5))
    assert all(math.isfinite(row["loss"]) for row in history if "loss" in row)


@pytest.fixture
def teacher_run(toy_experiment):
    from stance.recipes import train

    run, _ = train(load_config(toy_experiment, ["train.epochs=4"]))
    return run


def test_distill_command_makes_a_run_that_predict_evaluate_and_reproduce_accept(
        teacher_run, toy_experiment, statements, tmp_path):
    from stance.recipes import reproduce_run
    from stance.runs import open_run

    unlabelled = tmp_path / "unlabelled.jsonl"
    statements[["text"]].assign(text=statements["text"] + " Officials confirmed it.").to_json(
        unlabelled, orient="records", lines=True)
    result = runner.invoke(app, ["distill", str(teacher_run.path), str(toy_experiment), "--unlabelled",
                                 str(unlabelled), "--set", "evaluate.baselines=[]", "--set", "train.epochs=2"])
    assert result.exit_code == 0, result.output
    student = open_run(next(p for p in load_config(toy_experiment).output.dir.iterdir() if "distilled" in p.name))
    config = student.config()
    assert config.distill.teacher == teacher_run.path and config.distill.unlabelled == unlabelled
    teacher = student.manifest()["teacher"]
    assert teacher["run_id"] == teacher_run.id and teacher["statements"] == 12 and teacher["unlabelled"] == 24
    assert "model.safetensors" in teacher["model_sha256"]
    assert str(unlabelled) in student.manifest()["data"]["files_sha256"]
    assert {"dev", "test"} <= set(student.metrics())
    again = reproduce_run(student)  # before `stance evaluate` adds a set the rerun would not have
    assert again.ok and again.predictions_identical
    predicted = runner.invoke(app, ["predict", str(student.path), "Ottawa will send two frigates."])
    assert predicted.exit_code == 0, predicted.output
    evaluated = runner.invoke(app, ["evaluate", str(student.path), "--split", "test"])
    assert evaluated.exit_code == 0, evaluated.output


def test_distilling_needs_a_student_that_can_learn_probabilities(teacher_run, toy_experiment):
    from stance.recipes import distill

    with pytest.raises(ConfigError, match="cannot be trained on a teacher's probabilities"):
        distill(teacher_run.path, load_config(toy_experiment, ["model.type=tfidf_logreg"]))
    with pytest.raises(ConfigError, match="do not go together"):
        load_config(toy_experiment, [f"distill={{teacher: {teacher_run.path}}}", "evaluate.cross_validation=2"])


def test_a_student_whose_teacher_is_gone_says_it_needs_the_teacher(teacher_run, toy_experiment, tmp_path):
    from stance.errors import RunError
    from stance.recipes import train

    config = load_config(toy_experiment, [f"distill={{teacher: {tmp_path / 'gone'}}}"])
    with pytest.raises(RunError, match="needs its teacher run"):
        train(config)


def test_the_teacher_labels_the_student_fits_are_the_teachers_predictions(teacher_run, toy_experiment, statements):
    from stance.recipes.steps import teacher_targets

    config = load_config(toy_experiment, [f"distill={{teacher: {teacher_run.path}, temperature: 1.0}}"])
    train = statements[statements["episode"].isin(["e1", "e2"])].reset_index(drop=True)
    inputs, gold, targets, provenance = teacher_targets(config, train)
    teacher = load_classifier(teacher_run.model_dir)
    np.testing.assert_allclose(targets.proba, teacher.predict_proba(TextInputs.from_frame(train)))
    assert gold == train["label"].tolist() and inputs.texts == train["text"].tolist()
    assert provenance["temperature"] == teacher.temperature == json.loads(
        (teacher_run.model_dir / "stance_model.json").read_text())["temperature"]
