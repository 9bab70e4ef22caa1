"""(c) Training throughput: `stance train` against a bare Trainer loop; the default experiment's wall time.

Three processes train the packaged MiniLM on the corpus's train split with the default config's
hyperparameters for ``--epochs`` (default 1): the bare ``Trainer`` (benchmarks/bare_trainer.py)
with random batches and with length-grouped batches, and ``stance train configs/default.yaml``.
Examples/s is the Trainer's own ``train_samples_per_second`` (examples × epochs / the training
loop's time); stance's loop also evaluates on dev and checkpoints each epoch, as a run does. The
process wall time and peak RSS of each are shown beside it. Then, unless ``--skip-experiment``,
the whole default experiment, ``stance run configs/default.yaml`` (all its epochs, test
evaluation, four baselines, bootstrap intervals), is timed; its run is recorded for the prediction benchmarks.

Then examples/s of ``stance train`` per model and training precision (``--models``, ``--precisions``):
each model with its own shipped config (MiniLM: configs/default.yaml; all-mpnet-base-v2:
configs/large.yaml, installed first with ``stance models install all-mpnet-base-v2``) for ``--epochs``,
in fp32 and in bf16 mixed precision (``train.precision``), with the speed-up over fp32 and the dev
macro-F1 each reached. bf16 runs only where the CPU has AMX or AVX-512 BF16 (stance refuses it
elsewhere); a model that is not installed, or a precision this machine cannot train in, gets a row
saying so.

    .venv/bin/python benchmarks/train_throughput.py [--epochs 1] [--skip-experiment] [--block train_throughput-xeon]
    .venv/bin/python benchmarks/train_throughput.py --skip-bare --skip-experiment --models default,all-mpnet-base-v2 \
        --precisions fp32,bf16 --block train_precision
"""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

import harness

TARGET_OVERHEAD = 0.10
RUNS = harness.OUT / "runs"
#: The shipped config each model of the per-model table trains with (``--models`` names them).
MODEL_CONFIGS = {"default": "configs/default.yaml", "all-mpnet-base-v2": "configs/large.yaml"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=float, default=1)
    parser.add_argument("--skip-experiment", action="store_true", help="do not time `stance run configs/default.yaml`")
    parser.add_argument("--experiment-run", metavar="RUN",
                        help="instead of running the default experiment again, report the wall time its run folder "
                             "RUN recorded (manifest.json: the run itself, without the process's imports)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        help="extra config override for both stance commands (for smoke tests, e.g. train.max_steps=5)")
    parser.add_argument("--no-readme", action="store_true", help="print only; leave benchmarks/RESULTS.md alone")
    parser.add_argument("--block", default="train_throughput", help="README block to rewrite (another machine's figures go "
                        "in a block of their own, e.g. train_throughput-xeon)")
    parser.add_argument("--models", default=",".join(MODEL_CONFIGS),
                        help=f"models of the per-model table, comma-separated, of {', '.join(MODEL_CONFIGS)}; '' for none")
    parser.add_argument("--precisions", default="fp32,bf16", help="training precisions of the per-model table (fp32, bf16)")
    parser.add_argument("--skip-bare", action="store_true",
                        help="leave out the comparison with the bare Trainer loop (only the per-model table)")
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m]
    unknown = [m for m in models if m not in MODEL_CONFIGS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(MODEL_CONFIGS)}")
    print(f"machine: {harness.machine()}", flush=True)
    extra = [item for override in args.overrides for item in ("--set", override)]
    sections, notes = [], []
    default_fp32 = None if args.skip_bare else bare_comparison(args, extra, sections, notes)
    if models:
        sections.append(("examples/s per model and training precision",
                         per_model(models, args.precisions.split(","), args.epochs, extra, default_fp32, notes)))
    if args.experiment_run:
        experiment = harness.resolve_run(args.experiment_run)[0]
        manifest = json.loads((experiment / "manifest.json").read_text())
        test = json.loads((experiment / "metrics.json").read_text()).get("test", {})
        sections.append(("the default experiment (wall time recorded by its run)", [{
            "command": manifest.get("command", ""), "wall s": manifest.get("wall_time_s"),
            "test macro-F1": test.get("macro_f1"), "run": experiment.name}]))
        harness.DEFAULT_RUN_RECORD.write_text(str(experiment.resolve()))
        notes.append(f"The default experiment's run ({experiment.name}) is recorded in "
                     f"benchmarks/out/default-run.txt: predict_throughput.py and predict_stream.py time it.")
    elif not args.skip_experiment:
        experiment, timed = new_run(["run", "configs/default.yaml", "--set", f"output.dir={RUNS}", *extra],
                                    "stance-run-default")
        harness.DEFAULT_RUN_RECORD.write_text(str(experiment))
        test = json.loads((experiment / "metrics.json").read_text()).get("test", {})
        sections.append(("the default experiment", [{
            "command": "stance run configs/default.yaml", "wall s": timed.seconds, "peak RSS MiB": timed.peak_rss_mib,
            "test macro-F1": test.get("macro_f1"), "run": experiment.name}]))
        notes.append(f"The default experiment's run ({experiment.name}) is recorded in "
                     f"benchmarks/out/default-run.txt: predict_throughput.py and predict_stream.py time it.")
    harness.report(args.block, sections, notes, write_readme=not args.no_readme)


def bare_comparison(args, extra: list[str], sections: list, notes: list[str]) -> dict:
    """`stance train` of the default config against bare Trainer loops: adds its section and notes;
    returns stance's own row (examples/s, dev macro-F1), the MiniLM fp32 row of the per-model table."""
    rows = []
    bare = {}
    variants = {"random": [], "length-grouped": ["--group-by-length"],
                "length-grouped + dev eval + checkpoint": ["--group-by-length", "--eval-each-epoch"]}
    for label, flags in variants.items():
        command = [sys.executable, str(harness.REPO / "benchmarks" / "bare_trainer.py"), "--epochs", str(args.epochs)]
        timed = harness.measure(command + flags, f"bare-trainer-{label}")
        metrics = json.loads([line for line in timed.output.splitlines() if line.startswith("{")][-1])
        bare[label] = metrics["train_samples_per_second"]
        rows.append(row(f"bare Trainer, {label}", metrics["examples"], args.epochs, metrics, timed))
    stance_run, timed = new_run(["train", "configs/default.yaml", "--set", f"train.epochs={args.epochs}",
                                 "--set", "name=bench-train", "--set", f"output.dir={RUNS}", *extra], "stance-train")
    history = pd.read_csv(stance_run / "history.csv")
    final = history.dropna(subset=["train_samples_per_second"]).iloc[-1].to_dict()
    examples = json.loads((stance_run / "manifest.json").read_text())["data"]["split_sizes"]["train"]
    rows.append(row("stance train (defaults: length-grouped, dev eval + checkpoint each epoch)", examples,
                    args.epochs, final, timed))
    for r in rows:
        r["× bare random"] = r["examples/s"] / bare["random"]
    stance_rate = rows[-1]["examples/s"]
    overhead = 1 - stance_rate / bare["length-grouped + dev eval + checkpoint"]
    notes += [f"Toolkit overhead against the bare loop doing the same work (length-grouped batches, dev eval and a "
              f"checkpoint each epoch): {overhead:.1%} (target under {TARGET_OVERHEAD:.0%}: "
              f"{'met' if overhead < TARGET_OVERHEAD else 'missed'}).",
              f"Against the bare loop with no evaluation or checkpoints: stance's loop runs at "
              f"{stance_rate / bare['length-grouped']:.2f}× its examples/s (what per-epoch model selection costs).",
              f"Length-grouped batches against random ones, bare loop: "
              f"{bare['length-grouped'] / bare['random']:.2f}× the examples/s (stance's default: on)."]
    sections.append(("training throughput", rows))
    return {"examples/s": stance_rate, "dev macro-F1": dev_macro_f1(stance_run), "run": stance_run.name}


def per_model(models: list[str], precisions: list[str], epochs: float, extra: list[str], default_fp32: dict | None,
              notes: list[str]) -> list[dict]:
    """One row per model and training precision: `stance train` with the model's shipped config for ``epochs``."""
    from stance.models.catalog import INSTALLABLE, installed_path
    from stance.models.inference import training_precision_problem

    rows = []
    for model in models:
        fp32_rate = None
        for precision in precisions:
            base = {"model": model, "config": MODEL_CONFIGS[model], "precision": precision, "epochs": epochs}
            problem = training_precision_problem(precision)
            if model in INSTALLABLE and installed_path(model) is None:
                rows.append({**base, "note": f"not installed (stance models install {model})"})
                continue
            if problem is not None:
                rows.append({**base, "note": f"not run: {problem.split(',')[0]}"})
                continue
            if model == "default" and precision == "fp32" and default_fp32 is not None:
                measured = {**default_fp32, "note": "the stance train row above"}
            else:
                run, timed = new_run(["train", MODEL_CONFIGS[model], "--set", f"train.epochs={epochs}",
                                      "--set", f"train.precision={precision}", "--set", f"name=bench-{model}-{precision}",
                                      "--set", f"output.dir={RUNS}", *extra], f"stance-train-{model}-{precision}")
                history = pd.read_csv(run / "history.csv")
                final = history.dropna(subset=["train_samples_per_second"]).iloc[-1].to_dict()
                measured = {"examples/s": final["train_samples_per_second"], "dev macro-F1": dev_macro_f1(run),
                            "process wall s": timed.seconds, "peak RSS MiB": timed.peak_rss_mib, "run": run.name}
            if precision == "fp32":
                fp32_rate = measured["examples/s"]
            speedup = measured["examples/s"] / fp32_rate if fp32_rate else None
            rows.append({**base, **measured, "× fp32": speedup})
    notes.append("Per-model rows: `stance train CONFIG --set train.epochs=E --set train.precision=P`, each model with its "
                 "shipped config (batch 16, length-grouped, dev evaluation and a checkpoint each epoch); examples/s is "
                 "the Trainer's train_samples_per_second. Dev macro-F1 after so few epochs says only whether bf16 "
                 "learns as fp32 does, not what either model reaches: parity is for cross-validation to show.")
    return rows


def dev_macro_f1(run) -> float | None:
    metrics = json.loads((run / "metrics.json").read_text()) if (run / "metrics.json").is_file() else {}
    return metrics.get("dev", {}).get("macro_f1")


def new_run(args: list[str], label: str):
    """Run a stance command that creates one run folder under benchmarks/out/runs; that folder and the timing."""
    RUNS.mkdir(parents=True, exist_ok=True)
    before = set(RUNS.iterdir())
    timed = harness.measure(harness.stance_command(*args), label)
    created = [p for p in set(RUNS.iterdir()) - before if not p.name.endswith(".incomplete")]
    if len(created) != 1:
        raise SystemExit(f"{label}: expected one new run folder under {RUNS}, found {[p.name for p in created]}")
    return created[0], timed


def row(engine: str, examples: int, epochs: float, metrics: dict, timed: harness.Measurement) -> dict:
    return {"engine": engine, "train examples": examples, "epochs": epochs,
            "training loop s": metrics["train_runtime"], "examples/s": metrics["train_samples_per_second"],
            "process wall s": timed.seconds, "peak RSS MiB": timed.peak_rss_mib}


if __name__ == "__main__":
    main()
