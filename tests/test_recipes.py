import json

import pandas as pd
import pytest

from stance.config import load_config
from stance.errors import ConfigError
from stance.evaluate import evaluate_predictions
from stance.recipes import evaluate_run, run_experiment
from stance.runs import list_runs, open_run


def test_run_experiment_writes_a_complete_reviewable_run(toy_experiment):
    run, evaluation = run_experiment(load_config(toy_experiment))
    assert run.complete and not run.path.name.endswith(".incomplete")
    for name in ("config.yaml", "manifest.json", "metrics.json", "history.csv", "model/model.safetensors",
                 "model/stance_model.json", "model/tokenizer.json"):
        assert (run.path / name).is_file(), name
    manifest = json.loads((run.path / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["wall_time_s"] > 0
    assert manifest["environment"]["packages"]["torch"].startswith("2.")
    assert len(manifest["data"]["split_membership_sha256"]) == 64
    assert manifest["data"]["split_sizes"] == {"train": 12, "dev": 6, "test": 6}
    reports = run.reports_dir("test")
    for table in ("summary", "per_class", "confusion", "predictions", "errors", "by_episode"):
        # CSV is the data; Markdown is only the one-page report.md.
        assert (reports / f"{table}.csv").is_file() and not (reports / f"{table}.md").exists()
    assert (reports / "report.md").is_file()
    predictions = pd.read_csv(reports / "predictions.csv")
    assert len(predictions) == 6 and set(predictions["label"]) <= {"decline", "consider", "comply"}
    assert {"p_decline", "p_consider", "p_comply"} <= set(predictions.columns)
    summary = pd.read_csv(reports / "summary.csv").set_index("metric")
    assert 0 <= summary.loc["macro_f1", "ci_low"] <= summary.loc["macro_f1", "value"] <= summary.loc["macro_f1", "ci_high"] <= 1
    assert evaluation.metrics["n"] == 6
    assert set(run.metrics()) == {"dev", "test"}
    comparison = pd.read_csv(reports / "comparison.csv")
    assert comparison["model"].tolist() == ["transformer", "majority", "keyword", "tfidf_logreg", "embedding_logreg"]
    assert comparison["p_value"].iloc[1:].between(0, 1).all() and comparison["p_value"].iloc[:1].isna().all()
    for baseline in comparison["model"].iloc[1:]:
        assert len(pd.read_csv(reports / "baselines" / f"{baseline}_predictions.csv")) == 6


def test_same_config_gives_identical_predictions(toy_experiment):
    config = load_config(toy_experiment)
    first, _ = run_experiment(config)
    second, _ = run_experiment(config)
    assert first.path != second.path
    a = pd.read_csv(first.reports_dir("test") / "predictions.csv")
    b = pd.read_csv(second.reports_dir("test") / "predictions.csv")
    pd.testing.assert_frame_equal(a, b)
    runs = list_runs(config.output.dir)
    assert len(runs) == 2 and set(runs["status"]) == {"complete"}


def test_evaluate_run_on_a_file_and_on_a_split(toy_experiment, statements_file):
    run, _ = run_experiment(load_config(toy_experiment))
    whole = evaluate_run(run, statements_file)
    assert whole.metrics["n"] == 24 and (run.reports_dir(whole.name) / "summary.csv").is_file()
    dev = evaluate_run(run, statements_file, split="dev")
    assert dev.metrics["n"] == 6


def test_failed_run_stays_incomplete_and_is_refused(toy_experiment, monkeypatch):
    import stance.recipes.training as experiment

    def explode(*args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(experiment, "save_evaluation", explode)
    with pytest.raises(RuntimeError):
        run_experiment(load_config(toy_experiment))
    [folder] = list((toy_experiment.parent / "experiments").iterdir())
    assert folder.name.endswith(".incomplete")
    assert json.loads((folder / "manifest.json").read_text())["status"] == "failed"
    from stance.errors import RunError

    with pytest.raises(RunError, match="incomplete run"):
        open_run(folder)
    assert list_runs(toy_experiment.parent / "experiments")["status"].tolist() == ["failed"]


def test_evaluate_predictions_tables_follow_the_label_order(statements):
    import numpy as np

    proba = np.tile([0.2, 0.3, 0.5], (len(statements), 1))  # always "comply"
    evaluation = evaluate_predictions(statements, proba, ["decline", "consider", "comply"], bootstrap=0,
                                      breakdowns=["actor"])
    assert evaluation.metrics["accuracy"] == pytest.approx(8 / 24)
    assert evaluation.tables["per_class"]["label"].tolist() == ["decline", "consider", "comply"]
    assert len(evaluation.tables["errors"]) == 16
    assert "by_actor" in evaluation.tables


def test_reproduce_gets_identical_metrics_and_reports_a_changed_data_file(toy_experiment, statements_file):
    from stance.recipes import reproduce_run

    run, _ = run_experiment(load_config(toy_experiment))
    result = reproduce_run(run)
    assert result.ok and result.predictions_identical and result.warnings == []
    assert set(result.metrics["split"]) == {"dev", "test"} and result.metrics["ok"].all()
    # a planted change in the data is reported as a hash mismatch
    with statements_file.open("a") as handle:
        handle.write('{"id": "extra", "text": "Lisbon will send a frigate.", "actor": "Portugal", "requester": "US",'
                     ' "request": "ships", "episode": "e4", "date": "2015-12", "label": "comply"}\n')
    changed = reproduce_run(run)
    assert any("has changed" in w and str(statements_file) in w for w in changed.warnings)
    assert not changed.ok


def test_reproduce_evaluates_the_rerun_on_the_files_the_original_was_evaluated_on(toy_experiment, statements_file):
    from stance.recipes import reproduce_run

    run, _ = run_experiment(load_config(toy_experiment, ["model.type=majority", "evaluate.bootstrap=20"]))
    other = toy_experiment.parent / "second.jsonl"
    other.write_text(statements_file.read_text())
    evaluate_run(run, other)
    assert run.manifest()["evaluations"]["second"]["data"] == str(other)
    result = reproduce_run(run)
    assert result.ok and result.warnings == []
    assert set(result.metrics["split"]) == {"dev", "test", "second"}
    assert (result.rerun.reports_dir("second") / "predictions.csv").is_file()
    # A run evaluated before the file was recorded: the rerun lacks that set, and the warning says how to add it.
    manifest = run.manifest()
    del manifest["evaluations"]
    run.manifest_path.write_text(json.dumps(manifest))
    unrecorded = reproduce_run(run)
    assert not unrecorded.ok and any("second was evaluated after" in w for w in unrecorded.warnings)


def test_seeds_run_once_each_and_aggregate(toy_experiment):
    from stance.config import load_config as load
    from stance.recipes import run_many

    config = load(toy_experiment, ["seeds=[1, 2]", "evaluate.baselines=[]", "sweep={train.learning_rate: [1.0e-3, 2.0e-3]}"])
    folder, runs = run_many(config)
    assert len(runs) == 4 and runs["train.seed"].tolist() == [1, 2, 1, 2]
    aggregate = pd.read_csv(folder / "aggregate.csv")
    assert len(aggregate) == 2 and (aggregate["test_macro_f1_count"] == 2).all()
    assert {"test_macro_f1_mean", "test_macro_f1_std"} <= set(aggregate.columns)


def test_cross_validation_holds_out_each_episode_once_with_a_dev_slice(toy_experiment):
    from stance.errors import DataError
    from stance.recipes import cross_validate, reproduce_run

    config = load_config(toy_experiment, ["model.type=majority", "evaluate.bootstrap=20"])
    result = cross_validate(config, folds=4)
    folds = result.folds
    assert folds["fold"].tolist() == [1, 2, 3, 4] and (folds["episodes"] == 1).all()
    # each fold: one episode (6 statements) tested, one of the other three held out as dev
    assert (folds["test"] == 6).all() and (folds["dev"] == 6).all() and (folds["train"] == 12).all()
    held_out = result.run.manifest()["folds"]
    assert sorted(e for episodes in held_out.values() for e in episodes) == ["e1", "e2", "e3", "e4"]
    # Every training slice holds two statements per label, so majority predicts one label everywhere:
    # accuracy 2/6 and macro-F1 (2*2/(2+6))/3 = 1/6 in every fold (std 0), and the same pooled.
    aggregate = result.aggregate.set_index("metric")
    assert aggregate.loc["macro_f1", "mean"] == pytest.approx(1 / 6) and aggregate.loc["macro_f1", "std"] == 0
    assert aggregate.loc["accuracy", "mean"] == pytest.approx(1 / 3)
    assert result.evaluation.metrics["macro_f1"] == pytest.approx(1 / 6) and result.evaluation.metrics["n"] == 24
    reports = result.run.reports_dir("cross_validation")
    predictions = pd.read_csv(reports / "predictions.csv")
    assert sorted(predictions["id"]) == sorted(pd.read_json(config.data.path, lines=True)["id"])
    for name in ("folds.csv", "mean_std.csv", "summary.csv", "confusion.png", "report.html"):
        assert (reports / name).is_file(), name
    assert result.run.config().evaluate.cross_validation == 4 and result.run.manifest()["kind"] == "cross_validation"
    assert result.run.metrics()["cross_validation"]["macro_f1_fold_std"] == 0
    assert reproduce_run(result.run).ok
    with pytest.raises(DataError, match="5 folds need 5 episodes, found 4"):
        cross_validate(config, folds=5)


def test_stance_run_cross_validates_when_the_config_asks(toy_experiment):
    from typer.testing import CliRunner

    from stance.cli import app

    result = CliRunner().invoke(app, ["run", str(toy_experiment), "--set", "model.type=tfidf_logreg",
                                      "--set", "evaluate.cross_validation=2", "--set", "evaluate.bootstrap=20"])
    assert result.exit_code == 0, result.output
    assert "2-fold cross-validation by episode" in result.output and "mean ± std" in result.output
    [run] = list((toy_experiment.parent / "experiments").iterdir())
    assert len(pd.read_csv(run / "reports" / "cross_validation" / "folds.csv")) == 2
    assert not (run / "reports" / "test").exists() and not (run / "model").exists()
    refit = CliRunner().invoke(app, ["run", str(toy_experiment), "--set", "model.type=tfidf_logreg",
                                     "--set", "evaluate.cross_validation=2", "--set", "evaluate.bootstrap=0",
                                     "--set", "evaluate.refit=true"])
    assert refit.exit_code == 0, refit.output
    assert "fitted on every episode" in refit.output


def test_a_refitted_cross_validation_saves_a_model_fitted_on_every_episode(toy_experiment):
    from stance.errors import ConfigError
    from stance.predict import load_predictor
    from stance.recipes import cross_validate

    config = load_config(toy_experiment, ["model.type=tfidf_logreg", "evaluate.bootstrap=0",
                                          "evaluate.cross_validation=4", "evaluate.refit=true"])
    result = cross_validate(config)
    refit = result.run.manifest()["refit"]
    # The refit model sees all four episodes: one as its dev slice (6 statements), three to train on.
    assert refit["train"] == 18 and refit["dev"] == 6 and len(refit["dev_episodes"]) == 1
    classifier, mode = load_predictor(result.run.path)
    assert classifier.labels == config.data.labels and mode == config.input.mode
    # The figures stay the out-of-fold ones: the same as a cross-validation without refit.
    plain = cross_validate(load_config(toy_experiment, ["model.type=tfidf_logreg", "evaluate.bootstrap=0"]), folds=4)
    assert result.evaluation.metrics["macro_f1"] == plain.evaluation.metrics["macro_f1"]
    assert not plain.run.model_dir.exists() and "refit" not in plain.run.manifest()
    with pytest.raises(ConfigError, match="evaluate.refit needs evaluate.cross_validation"):
        load_config(toy_experiment, ["evaluate.refit=true"])


def test_seeds_with_cross_validation_aggregate_the_pooled_figures(toy_experiment):
    from stance.recipes import run_many

    config = load_config(toy_experiment, ["seeds=[1, 2]", "model.type=majority", "evaluate.cross_validation=2",
                                          "evaluate.bootstrap=0"])
    folder, runs = run_many(config)
    assert runs["cross_validation_macro_f1"].tolist() == pytest.approx([1 / 6, 1 / 6])
    aggregate = pd.read_csv(folder / "aggregate.csv")
    assert aggregate["cross_validation_macro_f1_count"].tolist() == [2]


def test_every_run_kind_maps_to_one_recipe_and_resuming_follows_the_map(toy_experiment):
    from stance.errors import RunError
    from stance.recipes import RECIPES, resume_run
    from stance.recipes.kinds import DEFAULT_KIND, run_kind
    from stance.runs import new_run

    assert set(RECIPES) == {"train", "run", "cross_validation"} and DEFAULT_KIND in RECIPES
    run = new_run(load_config(toy_experiment))
    assert run_kind(run) == DEFAULT_KIND  # a manifest that names no kind
    run.update_manifest(kind="annotation")
    with pytest.raises(RunError, match="annotation run"):
        resume_run(run)


def test_an_interrupted_cross_validation_resumes_from_its_last_finished_fold(toy_experiment, monkeypatch):
    import json

    import stance.recipes.cross_validation as cv
    from stance.recipes import cross_validate, resume_run
    from stance.runs import Run

    config = load_config(toy_experiment, ["model.type=tfidf_logreg", "evaluate.bootstrap=20", "evaluate.baselines=[]"])
    fitted = []
    real_fit = cv.fit

    def fit_then_stop_at_fold_3(config, parts, *args, **kwargs):
        if len(fitted) == 2:
            raise KeyboardInterrupt
        fitted.append(sorted(parts["test"]["episode"].unique()))
        return real_fit(config, parts, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(cv, "fit", fit_then_stop_at_fold_3)
        with pytest.raises(KeyboardInterrupt):
            cross_validate(config, folds=4)
    [folder] = [p for p in (toy_experiment.parent / "experiments").iterdir()]
    assert json.loads((folder / "manifest.json").read_text())["status"] == "interrupted"
    assert sorted(p.name for p in (folder / "folds").iterdir()) == [
        "fold-1.json", "fold-1.npz", "fold-2.json", "fold-2.npz"]

    refitted = []
    monkeypatch.setattr(cv, "fit", lambda config, parts, *a, **k: (refitted.append(1), real_fit(config, parts, *a, **k))[1])
    resumed, evaluations = resume_run(Run(folder))
    assert len(refitted) == 2  # folds 3 and 4 only
    assert resumed.complete and not (resumed.path / "folds").exists()
    assert [r["after"] for r in resumed.manifest()["resumed"]] == ["interrupted"]
    uninterrupted = cross_validate(config, folds=4)
    for name in ("predictions.csv", "folds.csv", "summary.csv"):
        assert (resumed.reports_dir("cross_validation") / name).read_text() == \
            (uninterrupted.run.reports_dir("cross_validation") / name).read_text(), name


@pytest.mark.parametrize("error, status", [(RuntimeError("disk full"), "failed"), (KeyboardInterrupt(), "interrupted")])
def test_recording_marks_a_run_that_stops_and_lets_the_error_through(toy_experiment, error, status):
    from stance.runs import new_run, recording

    run = new_run(load_config(toy_experiment))
    with pytest.raises(type(error)), recording(run):
        raise error
    manifest = run.manifest()
    assert manifest["status"] == status and manifest["error"].startswith(type(error).__name__)
    assert run.path.name.endswith(".incomplete")
    quiet = new_run(load_config(toy_experiment))
    with pytest.raises(RuntimeError), recording(quiet, writer=False):  # not rank 0: records nothing
        raise RuntimeError("elsewhere")
    assert quiet.manifest()["status"] == "running"


def _extra_statements(path, episode: str = "article-1", label: str = "consider", n: int = 30, prefix: str = "x"):
    rows = [{"id": f"{prefix}{i}", "text": f"Officials said the request was still being studied ({i}).",
             "request": "ships", "episode": episode, "label": label} for i in range(n)]
    pd.DataFrame(rows).to_json(path, orient="records", lines=True)
    return path


def test_extra_train_statements_join_the_train_split_only(toy_experiment):
    from stance.recipes.steps import load_data, training_parts

    extra = _extra_statements(toy_experiment.parent / "extra.jsonl")
    plain = load_config(toy_experiment, ["model.type=majority"])
    config = load_config(toy_experiment, ["model.type=majority", f"data.extra_train=[{extra}]"])
    before = training_parts(plain, *load_data(plain))
    after = training_parts(config, *load_data(config))
    assert len(after["train"]) == len(before["train"]) + 30
    for split in ("dev", "test"):
        assert after[split].equals(before[split])
    # A majority model trained with 30 more 'consider' statements predicts 'consider' everywhere;
    # the run records the extra file's hash beside the corpus's.
    run, evaluation = run_experiment(load_config(toy_experiment, ["model.type=majority", f"data.extra_train=[{extra}]",
                                                                  "evaluate.baselines=[majority]", "evaluate.bootstrap=20"]))
    assert set(evaluation.tables["predictions"]["prediction"]) == {"consider"}
    assert str(extra) in run.manifest()["data"]["files_sha256"]
    comparison = evaluation.tables["comparison"].set_index("model")
    assert comparison.loc["majority", "macro_f1"] == pytest.approx(evaluation.metrics["macro_f1"])  # same training data


def test_extra_train_refuses_an_episode_of_dev_or_test_and_a_repeated_id(toy_experiment):
    from stance.errors import DataError
    from stance.recipes.steps import load_data, training_parts

    leaking = _extra_statements(toy_experiment.parent / "leak.jsonl", episode="e4")  # e4 is the test split
    config = load_config(toy_experiment, ["model.type=majority", f"data.extra_train=[{leaking}]"])
    with pytest.raises(DataError, match="episode 'e4' is also in dev or test"):
        training_parts(config, *load_data(config))
    taken = str(load_data(config)[0]["id"].iloc[0])
    clash = _extra_statements(toy_experiment.parent / "clash.jsonl")
    frame = pd.read_json(clash, lines=True, dtype={"id": str})
    frame.loc[0, "id"] = taken
    frame.to_json(clash, orient="records", lines=True)
    config = load_config(toy_experiment, ["model.type=majority", f"data.extra_train=[{clash}]"])
    with pytest.raises(DataError, match="is already in"):
        training_parts(config, *load_data(config))


def test_a_negated_request_drops_a_leading_not_or_adds_one():
    from stance.recipes.steps import negate_request

    assert negate_request("send troops to Kabul") == "not send troops to Kabul"
    assert negate_request("not to recognise the republic") == "recognise the republic"
    assert negate_request("Never sell arms to Turkey") == "sell arms to Turkey"


def test_negated_requests_add_swapped_copies_to_train_only(toy_experiment):
    from stance.recipes.steps import load_data, training_parts

    plain = load_config(toy_experiment, ["model.type=majority", "input.mode=request_text"])
    config = load_config(toy_experiment, ["model.type=majority", "input.mode=request_text",
                                          "data.negated_requests=1.0"])
    before = training_parts(plain, *load_data(plain))
    after = training_parts(config, *load_data(config))
    for split in ("dev", "test"):
        assert after[split].equals(before[split])
    train = after["train"]
    copies = train[train["id"].str.endswith("~neg")].set_index("id")
    assert len(copies) == len(before["train"]) and len(train) == 2 * len(before["train"])
    originals = before["train"].set_index("id").loc[copies.index.str.removesuffix("~neg")]
    swapped = {"comply": "decline", "decline": "comply", "consider": "consider"}
    assert list(copies["label"]) == [swapped[label] for label in originals["label"]]
    assert set(copies["request"]) == {"not ships, aircraft or troops for the coalition mission"}
    assert set(copies["episode"]) <= set(before["train"]["episode"])  # never a new episode beside dev or test


def test_negated_requests_need_a_request_and_comply_and_decline(toy_experiment):
    with pytest.raises(ConfigError, match="data.negated_requests needs input.mode request_text"):
        load_config(toy_experiment, ["data.negated_requests=0.5"])
    with pytest.raises(ConfigError, match="data.negated_requests"):
        load_config(toy_experiment, ["data.negated_requests=0.5", "input.mode=request_text",
                                     "data.labels=[FAVOR, AGAINST, NONE]"])
