"""(b) Memory flat in input size: a million statements streamed through `stance predict`.

For each size (default 100,000 then 1,000,000 statements resampled from the corpus, JSONL with id
and text), one whole ``stance predict --input IN.jsonl --output OUT.jsonl`` process: its wall
time, statements/s and peak resident memory. Peak RSS that stays the same from the smaller to
the larger file is what streaming promises; the target is under 2 GiB for a million.

    .venv/bin/python benchmarks/predict_stream.py [--run RUN] [--sizes 100000,1000000] [--precision auto]

``--precision auto`` takes bf16 where the CPU has native bf16, else int8 (the faster path that
runs everywhere); the memory figure hardly depends on it.

``--tiny`` streams through a 2-layer, 32-wide random BERT with the same tokenizer instead
(:func:`harness.tiny_run`): every part of the path but the model's arithmetic, so that a million
rows take minutes rather than the better part of an hour on two cores. Its labels mean nothing;
its memory and I/O figures are those of the streaming machinery alone.
"""

from __future__ import annotations

import argparse

import harness

TARGET_RSS_MIB = 2048


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="run to time (default as for predict_throughput.py)")
    parser.add_argument("--sizes", default="100000,1000000", help="statements per measurement, comma-separated")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "int8"])
    parser.add_argument("--chunk-size", type=int, default=None,
                        help="rows per chunk (default: the run's predict.chunk_size)")
    parser.add_argument("--keep", action="store_true", help="keep the large input and output files")
    parser.add_argument("--tiny", action="store_true", help="a tiny random model instead (streaming path only)")
    parser.add_argument("--no-readme", action="store_true", help="print only; leave benchmarks/RESULTS.md alone")
    args = parser.parse_args()
    from stance.models.inference import cpu_has_fast_bf16

    precision = args.precision if args.precision != "auto" else ("bf16" if cpu_has_fast_bf16() else "int8")
    if args.tiny:
        run, model_note = harness.tiny_run(), "tiny random 2-layer BERT (streaming path only; labels meaningless)"
        precision = "fp32" if args.precision == "auto" else precision
    else:
        run, model_note = harness.resolve_run(args.run)
    print(f"model: {model_note}\nmachine: {harness.machine()}", flush=True)
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        source = harness.resampled_input(size, seed=1)
        out = harness.OUT / "stream" / f"predictions-{size}.jsonl"
        out.parent.mkdir(parents=True, exist_ok=True)
        command = ["predict", str(run), "--input", str(source), "--output", str(out), "--precision", precision,
                   "--force"]
        if args.chunk_size:
            command += ["--chunk-size", str(args.chunk_size)]
        timed = harness.measure(harness.stance_command(*command), f"stream-{precision}-{size}")
        with out.open("rb") as handle:
            written = sum(1 for _ in handle)
        assert written == size, f"{out} has {written} rows, expected {size}"
        rows.append({"statements": size, "precision": precision, "input MiB": source.stat().st_size / 2**20,
                     "seconds": timed.seconds, "statements/s": size / timed.seconds,
                     "peak RSS MiB": timed.peak_rss_mib})
        print(f"  {size}: {size / timed.seconds:.1f} statements/s, peak RSS {timed.peak_rss_mib:.0f} MiB", flush=True)
        if not args.keep:
            out.unlink()
            if size >= 1_000_000:
                source.unlink()
    largest = max(rows, key=lambda r: r["statements"])
    peak = largest["peak RSS MiB"]
    verdict = "met" if peak < TARGET_RSS_MIB else f"missed by {peak - TARGET_RSS_MIB:.0f} MiB"
    notes = [f"Model: {model_note}.",
             f"Target peak RSS under 2 GiB for {largest['statements']} statements: {peak:.0f} MiB ({verdict})."]
    if len(rows) > 1:
        smallest = min(rows, key=lambda r: r["statements"])
        notes.append(f"Peak RSS from {smallest['statements']} to {largest['statements']} statements: "
                     f"{smallest['peak RSS MiB']:.0f} → {largest['peak RSS MiB']:.0f} MiB.")
    harness.report("predict_stream-tiny" if args.tiny else "predict_stream", [("", rows)], notes,
                   write_readme=not args.no_readme)


if __name__ == "__main__":
    main()
