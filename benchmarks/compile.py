"""(e) What ``torch.compile`` buys prediction (``stance predict --compile``): eager against compiled, in process.

``stance predict`` runs the model eagerly unless asked to compile. This probe measures, for fp32
(and bf16 where the CPU has native bf16), the eager in-process rate after a warm-up, then the same
model under ``torch.compile(dynamic=True)`` with weight freezing (``compile_model`` in
``stance.models.inference``): the first pass over the statements (which pays for tracing and code
generation), the steady rate of a second pass, label agreement with eager, the fraction of the
fp32 arithmetic ceiling (FLOPs and matmul rate as ``flops.py`` counts them), and the input size
from which compiling pays for itself in one process. It needs a C++ compiler, as inductor does on
CPUs.

    .venv/bin/python benchmarks/compile.py [--run RUN] [--statements 2000]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import harness
from flops import flops_per_statement, matmul_gflops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="run to time (default as for predict_throughput.py)")
    parser.add_argument("--statements", type=int, default=2000, help="statements predicted per pass")
    parser.add_argument("--no-readme", action="store_true", help="print only; leave benchmarks/RESULTS.md alone")
    parser.add_argument("--block", default="compile", help="README block to rewrite")
    args = parser.parse_args()
    import torch

    from stance.models import TextInputs
    from stance.models.inference import cpu_has_fast_bf16
    from stance.predict import load_predictor

    run, model_note = harness.resolve_run(args.run)
    pairs = harness.reads_pairs(run)
    sample = harness.corpus_texts().sample(args.statements, replace=True, random_state=0)
    inputs = TextInputs(sample["text"].tolist(), sample["request"].tolist() if pairs else None)
    print(f"model: {model_note}\nmachine: {harness.machine()}", flush=True)

    def timed(classifier) -> tuple[np.ndarray, float]:
        started = time.perf_counter()
        labels = classifier.predict_proba(inputs).argmax(1)
        return labels, time.perf_counter() - started

    rows = []
    for precision in ["fp32"] + (["bf16"] if cpu_has_fast_bf16() else []):
        classifier, _ = load_predictor(run, precision=precision)
        classifier.predict_proba(inputs.subset(range(64)))  # warm-up: first calls pay for allocations
        eager_labels, eager_s = timed(classifier)
        classifier.prepare_inference(precision, compile=True)  # what `stance predict --compile` does
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, first_s = timed(classifier)
        compiled_labels, steady_s = timed(classifier)
        compile_s = first_s - steady_s
        per_eager, per_compiled = eager_s / len(inputs), steady_s / len(inputs)
        rows.append({"precision": precision, "eager statements/s": len(inputs) / eager_s,
                     "compiled first pass s": first_s, "compiled statements/s": len(inputs) / steady_s,
                     "× eager": eager_s / steady_s,
                     "labels agree with eager": float((compiled_labels == eager_labels).mean()),
                     "break-even statements": compile_s / (per_eager - per_compiled) if per_eager > per_compiled
                     else float("inf")})
        print(rows[-1], flush=True)
        torch._dynamo.reset()

    from transformers import AutoConfig, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(run / "model")
    columns = (sample["request"].tolist(), sample["text"].tolist()) if pairs else (sample["text"].tolist(),)
    lengths = np.array([len(ids) for ids in tokenizer(*columns)["input_ids"]])
    flops = float(flops_per_statement(AutoConfig.from_pretrained(run / "model"), lengths).mean())
    peak = matmul_gflops(2048, 2048, 2048, torch.float32)
    for row in rows:
        row["fraction of fp32 ceiling, eager / compiled"] = (
            f"{row['eager statements/s'] * flops / (peak * 1e9):.1%} / "
            f"{row['compiled statements/s'] * flops / (peak * 1e9):.1%}")
    notes = [f"Model: {model_note}; {args.statements} statements resampled from the corpus, each pass in one process; "
             f"fp32 matmul peak {peak:.0f} GFLOP/s (2048³).",
             "Break-even: the input size at which the compiled first pass's extra time is paid back by the "
             "faster steady rate, within one process."]
    harness.report(args.block, [("eager against torch.compile, in process", rows)], notes,
                   write_readme=not args.no_readme)


if __name__ == "__main__":
    main()
