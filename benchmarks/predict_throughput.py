"""(a) Prediction throughput and peak memory: `stance predict` against the plain transformers pipeline.

For each size (default 10,000 and 100,000 statements resampled from the corpus), in the same run:
the plain ``transformers.pipeline("text-classification")`` with batch 32 (benchmarks/pipeline_predict.py),
then ``stance predict --input ... --output ... --precision P`` for each precision (``P+compile``
adds ``--compile``: torch.compile, its compiling time included). Every one is a
process of its own, timed whole (imports, model loading, reading and writing the file included),
with its peak resident memory. Reported: statements/s, the ratio to the pipeline, and label
agreement with the pipeline and with stance's fp32. Then the label agreement of each precision
with fp32 on the shipped test split (in this process), which is what the ≥ 99% target is about.

    .venv/bin/python benchmarks/predict_throughput.py [--run RUN] [--sizes 10000,100000] [--precisions fp32,bf16,int8]
        [--precisions fp32,bf16+compile]
"""

from __future__ import annotations

import argparse
import re
import warnings

import pandas as pd

import harness

TARGET_FP32, TARGET_FAST, TARGET_AGREEMENT = 1.8, 3.5, 0.99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="run to time (default: the default experiment recorded by "
                        "train_throughput.py, else the packaged MiniLM with an untrained head)")
    parser.add_argument("--sizes", default="10000,100000", help="statements per measurement, comma-separated")
    parser.add_argument("--precisions", default="fp32,bf16,int8",
                        help="comma-separated; P+compile runs precision P with --compile")
    parser.add_argument("--pipeline-batch-size", type=int, default=32)
    parser.add_argument("--no-readme", action="store_true", help="print only; leave benchmarks/RESULTS.md alone")
    parser.add_argument("--block", default="predict_throughput", help="README block to rewrite (another machine's figures go "
                        "in a block of their own, e.g. predict_throughput-avx2)")
    args = parser.parse_args()
    run, model_note = harness.resolve_run(args.run)
    precisions = args.precisions.split(",")
    print(f"model: {model_note}\nmachine: {harness.machine()}", flush=True)
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        source = harness.resampled_input(size)
        work = harness.OUT / "predict"
        work.mkdir(parents=True, exist_ok=True)
        print(f"\n{size} statements ({source.name})", flush=True)
        reference = work / f"pipeline-{size}.jsonl"
        timed, pipeline_labels = harness.time_pipeline(run, source, reference, args.pipeline_batch_size,
                                                       f"pipeline-{size}")
        pipeline_rate = size / timed.seconds
        rows.append({"statements": size, "engine": f"transformers pipeline, batch {args.pipeline_batch_size}",
                     "precision": "fp32", "seconds": timed.seconds, "statements/s": pipeline_rate, "× pipeline": 1.0,
                     "peak RSS MiB": timed.peak_rss_mib, "agree pipeline": 1.0, "agree fp32": float("nan")})
        print(f"  pipeline: {pipeline_rate:.1f} statements/s, peak RSS {timed.peak_rss_mib:.0f} MiB", flush=True)
        fp32_labels = None
        for precision in precisions:
            base, compiled = parse_precision(precision)
            out = work / f"stance-{precision}-{size}.jsonl"
            timed = harness.measure(harness.stance_command("predict", str(run), "--input", str(source), "--output",
                                                           str(out), "--precision", base, "--force",
                                                           *(["--compile"] if compiled else [])),
                                    f"stance-{precision}-{size}")
            labels = pd.read_json(out, lines=True)["prediction"]
            if precision == "fp32":
                fp32_labels = labels
            effective = re.search(r"\((\w+) on ", timed.output)
            used = effective.group(1) if effective else "?"
            if compiled and "without torch.compile" in timed.output:
                used += " uncompiled"
            rate = size / timed.seconds
            agree_fp32 = float((labels == fp32_labels).mean()) if fp32_labels is not None else float("nan")
            rows.append({"statements": size, "engine": "stance predict", "precision":
                         precision if used == base else f"{precision} → {used} (fallback)",
                         "seconds": timed.seconds, "statements/s": rate, "× pipeline": rate / pipeline_rate,
                         "peak RSS MiB": timed.peak_rss_mib,
                         "agree pipeline": float((labels == pipeline_labels).mean()), "agree fp32": agree_fp32})
            print(f"  stance {precision} (ran {used}): {rate:.1f} statements/s = {rate / pipeline_rate:.2f}× pipeline, "
                  f"peak RSS {timed.peak_rss_mib:.0f} MiB", flush=True)
    if "fp32" not in precisions:  # nothing timed to agree with; the test-split table still compares with fp32
        for row in rows:
            row.pop("agree fp32")
    agreement = test_split_agreement(run, precisions)
    notes = [f"Model: {model_note}.", *targets(rows, agreement)]
    harness.report(args.block, [("throughput, whole process", rows),
                                          ("label agreement with fp32 on the test split", agreement)],
                   notes, write_readme=not args.no_readme)


def test_split_agreement(run, precisions: list[str]) -> list[dict]:
    """Labels of each precision against fp32 (and fp32 against the pipeline) on the shipped test split."""
    from transformers import pipeline

    from stance.data import load_statements
    from stance.models import TextInputs
    from stance.models.inference import FallbackWarning
    from stance.predict import load_predictor
    from stance.runs import open_run
    from stance.splits import load_split, split_frames

    config = open_run(run).config()
    frame = load_statements(config.data.path)
    test = split_frames(frame, load_split(config.data.splits), str(config.data.path))["test"]
    inputs = TextInputs.from_frame(test, config.input.mode)
    labels, ran = {}, {}
    for precision in dict.fromkeys(["fp32", *precisions]):  # fp32 is the reference, even when not timed
        base, compiled = parse_precision(precision)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FallbackWarning)  # the throughput table already shows fallbacks
            classifier, _ = load_predictor(run, precision=base, compile=compiled)
        labels[precision] = pd.Series(classifier.predict(inputs))
        ran[precision] = precision if classifier.precision == base and classifier.compiled == compiled \
            else classifier.precision
    piped = pipeline("text-classification", model=str(run / "model"), device=-1)
    texts = ([{"text": r, "text_pair": t} for r, t in zip(test["request"], test["text"], strict=True)]
             if config.input.mode == "request_text" else test["text"].tolist())
    pipeline_labels = pd.Series([r["label"] for r in piped(texts, batch_size=32, truncation=True)])
    rows = [{"precision": "fp32 vs transformers pipeline", "statements": len(test),
             "agreement": float((labels["fp32"] == pipeline_labels).mean())}]
    for precision in precisions:
        if precision != "fp32":
            shown = precision if ran[precision] == precision else f"{precision} → {ran[precision]} (fallback)"
            rows.append({"precision": f"{shown} vs fp32",
                         "statements": len(test), "agreement": float((labels[precision] == labels["fp32"]).mean())})
    return rows


def parse_precision(spec: str) -> tuple[str, bool]:
    """``"bf16+compile"`` → ``("bf16", True)``; ``"int8"`` → ``("int8", False)``."""
    base, _, extra = spec.partition("+")
    if extra not in ("", "compile"):
        raise SystemExit(f"unknown precision {spec!r}: use fp32, bf16, fp16 or int8, optionally +compile")
    return base, extra == "compile"


def targets(rows: list[dict], agreement: list[dict]) -> list[str]:
    """The issue's targets, each with the figure it was judged on (10,000 statements where measured)."""
    notes = []
    smallest = min(r["statements"] for r in rows)
    at = [r for r in rows if r["statements"] == smallest and r["engine"] == "stance predict"]
    for row in at:
        precision = row["precision"]
        goal = TARGET_FP32 if precision.startswith("fp32") else TARGET_FAST
        verdict = "met" if row["× pipeline"] >= goal else f"missed by {goal - row['× pipeline']:.2f}×"
        notes.append(f"Target {precision} ≥ {goal}× pipeline at {smallest} statements: "
                     f"{row['× pipeline']:.2f}× ({verdict}).")
        if precision == "fp32":
            same = row["agree pipeline"] == 1.0
            notes.append(f"Target fp32 labels identical to the pipeline's: {row['agree pipeline']:.4f} "
                         f"({'met' if same else 'missed'}).")
    for row in agreement[1:]:
        verdict = "met" if row["agreement"] >= TARGET_AGREEMENT else "missed"
        notes.append(f"Target ≥ 99% agreement with fp32 on the test split, {row['precision']}: "
                     f"{row['agreement']:.4f} ({verdict}).")
    return notes


if __name__ == "__main__":
    main()
