"""Which linear layers int8 can quantise: label agreement with fp32 and speed per choice of layers.

For each choice, a fresh copy of the run's model has those linear layers of its encoder dynamically
quantised (``torch.ao.quantization.quantize_dynamic``, per-channel weights, as
``stance.models.inference.quantize_int8`` does), then predicts the shipped test split (agreement
with fp32: the ≥ 99% target of issue 8) and 1,000 statements resampled from the corpus (agreement and
in-process statements/s against fp32). With ``--engines``, each choice once per quantised-kernel
engine (``torch.backends.quantized.engine``: ``x86``, torch's default, picks fbgemm or oneDNN by shape;
``onednn`` and ``fbgemm`` force one; the default is ``quantize_int8``'s, ``onednn`` on CPUs with AMX). Prints a table; the README's int8 paragraph quotes it.

    .venv/bin/python benchmarks/int8_layers.py --run RUN [--engines x86,onednn,fbgemm]
"""

from __future__ import annotations

import argparse
import re
import time
import warnings

import numpy as np
import pandas as pd

import harness

#: The choices, by the linear layer's name inside a BERT layer (``encoder.layer.N.<name>``).
CHOICES = {
    "all but the feed-forward down-projections (quantize_int8)": lambda n: "output.dense" not in n or "attention" in n,
    "all": lambda n: True,
    "feed-forward up and down": lambda n: "intermediate" in n or ("output.dense" in n and "attention" not in n),
    "feed-forward up only": lambda n: "intermediate" in n,
    "query, key and value only": lambda n: "attention.self." in n,
}


def main() -> None:
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    from stance.data import load_statements
    from stance.models.inference import int8_engine
    from stance.models import TextInputs
    from stance.predict import load_predictor
    from stance.splits import load_split

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="run to probe (default as for predict_throughput.py)")
    parser.add_argument("--statements", type=int, default=1000, help="resampled statements timed in process")
    parser.add_argument("--engines", default=int8_engine(),
                        help="quantised-kernel engines to try, comma-separated (default: quantize_int8's, "
                             "onednn on CPUs with AMX)")
    args = parser.parse_args()
    engines = args.engines.split(",")
    unknown = set(engines) - set(torch.backends.quantized.supported_engines)
    if unknown:
        parser.error(f"engine(s) {', '.join(sorted(unknown))} not in this torch: "
                     f"{', '.join(torch.backends.quantized.supported_engines)}")
    run, note = harness.resolve_run(args.run)
    pairs = harness.reads_pairs(run)
    frame = load_statements(harness.REPO / "data" / "statements.jsonl")
    test = frame[np.asarray(load_split(harness.REPO / "data" / "splits.json").assign(frame)) == "test"]
    sample = harness.corpus_texts().sample(args.statements, replace=True, random_state=0)

    def inputs(f: pd.DataFrame) -> TextInputs:
        return TextInputs(f["text"].tolist(), f["request"].tolist() if pairs else None)

    x_test, x_sample = inputs(test), inputs(sample)

    def measure(classifier):
        labels_test = classifier.predict_proba(x_test).argmax(1)
        started = time.perf_counter()
        labels_sample = classifier.predict_proba(x_sample).argmax(1)
        return labels_test, labels_sample, len(x_sample) / (time.perf_counter() - started)

    print(f"model: {note}\nmachine: {harness.machine()}", flush=True)
    reference, _ = load_predictor(run, precision="fp32")
    ref_test, ref_sample, fp32_rate = measure(reference)
    rows = []
    for engine, (label, keep) in ((e, choice) for e in engines for choice in CHOICES.items()):
        torch.backends.quantized.engine = engine  # read when a layer is quantised and when it runs
        classifier, _ = load_predictor(run, precision="fp32")
        names = [n for n, m in classifier.model.named_modules()
                 if isinstance(m, torch.nn.Linear) and re.search(r"layers?\.\d+\.", n) and keep(n)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(classifier.model, {n: per_channel_dynamic_qconfig for n in names},
                             dtype=torch.qint8, inplace=True)
        labels_test, labels_sample, rate = measure(classifier)
        rows.append({"engine": engine, "layers quantised": label, "count": len(names),
                     "test agreement": float((labels_test == ref_test).mean()),
                     "resampled agreement": float((labels_sample == ref_sample).mean()),
                     "statements/s": rate, "× fp32": rate / fp32_rate})
        print(rows[-1], flush=True)
    print("\n" + harness.markdown_table(rows))


if __name__ == "__main__":
    main()
