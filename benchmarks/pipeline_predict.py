"""The comparison point: the plain ``transformers.pipeline("text-classification")`` over a file.

Run as a process of its own by predict_throughput.py, so that its time and memory include what a
user's script would pay: imports, loading the model, reading the file, writing the labels.

    python benchmarks/pipeline_predict.py MODEL_DIR INPUT.jsonl OUTPUT.jsonl [--batch-size 32] [--pairs]

``--pairs`` gives the pipeline each row's request and statement as a text pair, as a run trained
with ``input.mode: request_text`` reads them.
"""

from __future__ import annotations

import argparse

import pandas as pd
from transformers import pipeline

# A run saved with model.params.pooling: mean has model_type stance_mean_pooling; this import only
# registers that type with the Auto classes, so that the plain pipeline can load the folder.
import stance.models.pooling  # noqa: F401


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a saved Hugging Face model folder (a run's model/)")
    parser.add_argument("input", help="JSONL with id and text")
    parser.add_argument("output", help="JSONL of id and label")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--pairs", action="store_true", help="(request, text) pairs instead of the text alone")
    args = parser.parse_args()
    frame = pd.read_json(args.input, lines=True, dtype={"id": str})
    classify = pipeline("text-classification", model=args.model, device=-1)
    # truncation=True: the plain pipeline would fail on a text over the model's limit; none of the corpus is.
    inputs = ([{"text": r, "text_pair": t} for r, t in zip(frame["request"], frame["text"], strict=True)]
              if args.pairs else frame["text"].tolist())
    results = classify(inputs, batch_size=args.batch_size, truncation=True)
    pd.DataFrame({"id": frame["id"], "prediction": [r["label"] for r in results]}).to_json(
        args.output, orient="records", lines=True, force_ascii=False)


if __name__ == "__main__":
    main()
