"""(d) The arithmetic limit: FLOPs per statement, the machine's matmul GFLOP/s, and how close prediction gets.

FLOPs are counted from the model's config, 2 per multiply-add, for a statement of L tokens:

    2·n·L·(4h² + 2hi)      Q, K, V and attention-output projections, the two feed-forward layers
  + 4·n·L²·h               attention scores QKᵀ and attention × V
  + 2·h·(h + k)            pooler and classification head, once per statement

(n layers, hidden size h, feed-forward size i, k labels; embeddings, layer norms, softmax and GELU
are elementwise and left out). For all-MiniLM-L6-v2 that is 21.2 MFLOP per token plus 9,216·L for
attention: 21.6 MFLOP per token at L = 40. The mean over the corpus's real token lengths gives FLOPs
per statement; the best of several timed ``torch.matmul`` calls gives the machine's GFLOP/s (fp32
and bf16, square 2048 and the model's feed-forward shape); their quotient is the fp32 ceiling in
statements/s, against which prediction is set: in this process (model and tokenizer only), and
whole ``stance predict`` processes from predict_throughput.py's last results, if there are any.

    .venv/bin/python benchmarks/flops.py [--run RUN] [--statements 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import harness

TARGET_FRACTION = 0.70


def flops_per_statement(config, lengths: np.ndarray) -> np.ndarray:
    """FLOPs of one forward pass per statement of ``lengths`` tokens (see the module docstring)."""
    k = config.num_labels
    config = getattr(config, "encoder", None) or config  # a mean-pooling model nests its encoder's config
    n, h = config.num_hidden_layers, config.hidden_size
    i = config.intermediate_size
    lengths = np.asarray(lengths, dtype=np.float64)
    return 2 * n * lengths * (4 * h * h + 2 * h * i) + 4 * n * lengths**2 * h + 2 * h * (h + k)


def matmul_gflops(m: int, k: int, n: int, dtype, repeats: int = 10) -> float:
    """Best GFLOP/s of ``repeats`` timed (m×k)@(k×n) matmuls after two warm-ups."""
    import torch

    a, b = torch.randn(m, k).to(dtype), torch.randn(k, n).to(dtype)
    for _ in range(2):
        torch.matmul(a, b)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * m * k * n / best / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="run whose model to count and time (default as for predict_throughput.py)")
    parser.add_argument("--statements", type=int, default=2000, help="statements predicted in process")
    parser.add_argument("--no-readme", action="store_true", help="print only; leave benchmarks/RESULTS.md alone")
    parser.add_argument("--block", default="flops", help="README block to rewrite (another machine's figures go "
                        "in a block of their own, e.g. flops-avx2)")
    args = parser.parse_args()
    import torch
    from transformers import AutoConfig, AutoTokenizer

    import stance.models.pooling  # noqa: F401  (registers the mean-pooling model type with AutoConfig)
    from stance.models import TextInputs
    from stance.predict import load_predictor

    run, model_note = harness.resolve_run(args.run)
    config = AutoConfig.from_pretrained(run / "model")
    encoder = getattr(config, "encoder", None) or config
    tokenizer = AutoTokenizer.from_pretrained(run / "model")
    pairs = harness.reads_pairs(run)  # a request_text run reads (request, statement): longer inputs

    def token_counts(frame):
        columns = (frame["request"].tolist(), frame["text"].tolist()) if pairs else (frame["text"].tolist(),)
        return np.array([len(ids) for ids in tokenizer(*columns)["input_ids"]])

    lengths = token_counts(harness.corpus_texts())
    per_statement = float(flops_per_statement(config, lengths).mean())
    per_token_at_40 = float(flops_per_statement(config, np.array([40]))[0] - 2 * encoder.hidden_size *
                            (encoder.hidden_size + config.num_labels)) / 40
    counting = [{"quantity": "tokens per statement (corpus mean, special tokens included)", "value": lengths.mean()},
                {"quantity": "MFLOP per token at 40 tokens", "value": per_token_at_40 / 1e6},
                {"quantity": "MFLOP per statement (corpus mean)", "value": per_statement / 1e6}]

    print(f"machine: {harness.machine()}", flush=True)
    ffn = (64 * int(round(lengths.mean())), encoder.hidden_size, encoder.intermediate_size)
    rates = []
    from stance.models.inference import cpu_has_fast_bf16

    # Without native bf16 (no AMX or AVX-512 BF16) torch emulates it, minutes per matmul: skipped.
    dtypes = [("fp32", torch.float32)] + ([("bf16", torch.bfloat16)] if cpu_has_fast_bf16() else [])
    for name, dtype in dtypes:
        for shape_name, shape in (("2048 × 2048 × 2048", (2048, 2048, 2048)),
                                  (f"feed-forward {ffn[0]} × {ffn[1]} × {ffn[2]}", ffn)):
            rates.append({"dtype": name, "matmul": shape_name, "GFLOP/s": matmul_gflops(*shape, dtype)})
            print(f"  {name} {shape_name}: {rates[-1]['GFLOP/s']:.1f} GFLOP/s", flush=True)
    peak = max(r["GFLOP/s"] for r in rates if r["dtype"] == "fp32")
    ceiling = peak * 1e9 / per_statement

    sample = harness.corpus_texts().sample(args.statements, replace=True, random_state=0)
    inputs = TextInputs(sample["text"].tolist(), sample["request"].tolist() if pairs else None)
    classifier, _ = load_predictor(run, precision="fp32")
    classifier.predict_proba(inputs.subset(range(64)))  # warm-up: first calls pay for allocations
    started = time.perf_counter()
    classifier.predict_proba(inputs)
    in_process = args.statements / (time.perf_counter() - started)
    sample_flops = float(flops_per_statement(config, token_counts(sample)).mean())
    achieved = [{"prediction": f"fp32 in process ({args.statements} statements, model and tokenizer only)",
                 "statements/s": in_process, "GFLOP/s": in_process * sample_flops / 1e9,
                 "fraction of fp32 ceiling": in_process / (peak * 1e9 / sample_flops)}]
    throughput = harness.read_results(args.block.replace("flops", "predict_throughput", 1))
    if throughput:
        rows = throughput["sections"][0][1]
        smallest = min(r["statements"] for r in rows)
        for r in rows:
            if r["statements"] == smallest:
                achieved.append({"prediction": f"{r['engine']} {r['precision']}, whole process, {smallest} statements "
                                 f"({throughput['date']})", "statements/s": r["statements/s"],
                                 "GFLOP/s": r["statements/s"] * per_statement / 1e9,
                                 "fraction of fp32 ceiling": r["statements/s"] / ceiling})
    counting.append({"quantity": "fp32 ceiling, statements/s (best fp32 matmul / FLOPs per statement)",
                     "value": ceiling})
    notes = [f"Model: {model_note}; FLOPs counted from its config.json (layers {encoder.num_hidden_layers}, hidden "
             f"{encoder.hidden_size}, feed-forward {encoder.intermediate_size})."]
    whole_fp32 = [a for a in achieved if a["prediction"].startswith("stance predict fp32,")]
    if whole_fp32:
        fraction = whole_fp32[0]["fraction of fp32 ceiling"]
        notes.append(f"Target fp32 `stance predict` (whole process) ≥ {TARGET_FRACTION:.0%} of the fp32 ceiling: "
                     f"{fraction:.1%} ({'met' if fraction >= TARGET_FRACTION else 'missed'}).")
    else:
        notes.append("Run predict_throughput.py first for the whole-process fractions.")
    harness.report(args.block, [("counting", counting), ("matmul on this machine", rates),
                             ("prediction against the ceiling", achieved)],
                   notes, write_readme=not args.no_readme)


if __name__ == "__main__":
    main()
