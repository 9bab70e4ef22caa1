"""What the benchmark scripts share: the model they time, their inputs, measured processes, the README table.

Not part of the package: the scripts run from a checkout (``.venv/bin/python benchmarks/<script>.py``)
and write their scratch files under ``benchmarks/out/`` (ignored by git).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"
README = REPO / "benchmarks" / "RESULTS.md"  # the file whose blocks the scripts rewrite
CORPUS = REPO / "data" / "statements.jsonl"
#: Where train_throughput.py records the run of the default experiment it trained (used by the others).
DEFAULT_RUN_RECORD = OUT / "default-run.txt"

os.chdir(REPO)  # configs name their data relative to the repository root
for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_name, "1")  # every model is local: never wait on a network


# ----------------------------------------------------------------------------------------------
# The model


def resolve_run(run: str | None) -> tuple[Path, str]:
    """The run to time and a description of it: ``--run``, else the default experiment trained by
    train_throughput.py, else a quick untrained one (the packaged MiniLM with a fresh head)."""
    from stance.runs import open_run

    if run:
        return open_run(run).path, f"run {Path(run).name}"
    if DEFAULT_RUN_RECORD.is_file():
        recorded = Path(DEFAULT_RUN_RECORD.read_text().strip())
        if (recorded / "manifest.json").is_file():
            return open_run(recorded).path, f"default experiment, run {recorded.name}"
    return quick_run(), "packaged MiniLM with an untrained head (label agreement is pessimistic: near-ties)"


def quick_run() -> Path:
    """A run folder holding the packaged MiniLM with a freshly initialised classification head.

    Costs the same per statement as a trained model, so it serves for throughput; built once and
    reused from benchmarks/out/quick-run.txt.
    """
    from stance.models import build_classifier
    from stance.models.transformer import TransformerClassifier
    from stance.seed import set_seed

    def build(config) -> TransformerClassifier:
        set_seed(0)
        classifier = build_classifier(config)
        classifier._load_pretrained()  # the pretrained encoder with a new head: no training
        return classifier

    return _saved_run("quick-run.txt", "bench-untrained", "untrained classification head, for throughput "
                      "benchmarks only", build)


def tiny_run() -> Path:
    """A run folder holding a 2-layer, 32-wide BERT (random weights) with the packaged MiniLM tokenizer.

    Not a model to trust for labels: its point is that a forward pass costs next to nothing, so a
    million statements stream through the whole ``stance predict`` path (reading, tokenising,
    batching, writing) in minutes, and what memory that path holds can be measured at that size.
    It reads the statement alone. Built once and reused from benchmarks/out/tiny-run.txt.
    """
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from stance.models.pretrained import packaged_minilm_path
    from stance.models.transformer import TransformerClassifier

    def build(config) -> TransformerClassifier:
        labels = config.data.labels
        torch.manual_seed(0)
        tokenizer = AutoTokenizer.from_pretrained(packaged_minilm_path())
        bert = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                          intermediate_size=64, num_labels=len(labels), id2label=dict(enumerate(labels)),
                          label2id={label: i for i, label in enumerate(labels)})
        classifier = TransformerClassifier(labels, "tiny-random-bert", max_length=config.input.max_length,
                                           pooling="cls", predict_batch_size=config.train.eval_batch_size)
        classifier.model, classifier.tokenizer = BertForSequenceClassification(bert).eval(), tokenizer
        return classifier

    return _saved_run("tiny-run.txt", "bench-tiny", "tiny random BERT, for the streaming-memory benchmark only",
                      build, ["input.mode=text", "input.max_length=128"])


def _saved_run(record_name: str, name: str, note: str, build, overrides: list[str] | tuple = ()) -> Path:
    """The run recorded in benchmarks/out/RECORD_NAME, or a new one holding ``build(config)``'s model
    (``config``: configs/default.yaml named ``name``, with ``overrides``), recorded there."""
    from stance.config import load_config
    from stance.runs import finish_run, new_run, open_run

    record = OUT / record_name
    if record.is_file() and (Path(record.read_text().strip()) / "manifest.json").is_file():
        return open_run(record.read_text().strip()).path
    config = load_config(REPO / "configs" / "default.yaml", [f"name={name}", f"output.dir={OUT / 'runs'}", *overrides])
    run = new_run(config, command=f"benchmarks/harness.py ({note})")
    build(config).save(run.model_dir)
    run.update_manifest(note=note)
    run = finish_run(run)
    OUT.mkdir(parents=True, exist_ok=True)
    record.write_text(str(run.path))
    return run.path


# ----------------------------------------------------------------------------------------------
# Inputs


def corpus_texts() -> pd.DataFrame:
    return pd.read_json(CORPUS, lines=True)[["id", "text", "request"]]


def resampled_input(n: int, seed: int = 0) -> Path:
    """``n`` statements drawn with replacement from the corpus (realistic lengths), as JSONL with
    ``id``, ``text`` and the ``request`` each answers (for runs that read pairs); written in blocks, so a million rows never sit in memory. Reused if present."""
    path = OUT / "inputs" / f"statements-{n}-seed{seed}.jsonl"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    corpus = corpus_texts()
    texts, requests = corpus["text"].to_numpy(), corpus["request"].to_numpy()
    rng = np.random.default_rng(seed)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for start in range(0, n, 100_000):
            count = min(100_000, n - start)
            drawn = rng.integers(0, len(texts), count)
            block = pd.DataFrame({"id": [f"s{i:07d}" for i in range(start, start + count)],
                                  "text": texts[drawn], "request": requests[drawn]})
            handle.write(block.to_json(orient="records", lines=True, force_ascii=False))
    os.replace(tmp, path)
    return path


# ----------------------------------------------------------------------------------------------
# Measured processes


@dataclass
class Measurement:
    seconds: float
    peak_rss_mib: float
    output: str


def measure(command: list[str], label: str) -> Measurement:
    """Run ``command`` as a process of its own: its wall time and its peak resident memory
    (``ru_maxrss`` of that very process, from ``wait4``). Output goes to benchmarks/out/logs/."""
    log = OUT / "logs" / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', label)}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"  $ {shlex.join(command)}", flush=True)
    with log.open("w") as handle:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    output = log.read_text(errors="replace")
    if process.returncode != 0:
        raise SystemExit(f"{label} failed (exit {process.returncode}); see {log}:\n{output[-2000:]}")
    return Measurement(seconds, usage.ru_maxrss / 1024, output)  # ru_maxrss is in KiB on Linux


def time_pipeline(run: Path, source: Path, output: Path, batch_size: int, label: str) -> tuple[Measurement, pd.Series]:
    """The plain ``transformers.pipeline`` (benchmarks/pipeline_predict.py) on ``source`` as a process of its
    own: its measurement, and its labels (the reference every engine's labels are compared with)."""
    pairs = ["--pairs"] if reads_pairs(run) else []
    timed = measure([sys.executable, str(REPO / "benchmarks" / "pipeline_predict.py"), str(run / "model"),
                     str(source), str(output), "--batch-size", str(batch_size), *pairs], label)
    return timed, pd.read_json(output, lines=True)["prediction"]


def reads_pairs(run: Path) -> bool:
    """Whether the run's model reads (request, statement) pairs (input.mode: request_text)."""
    from stance.runs import open_run

    return open_run(run).config().input.mode == "request_text"


def stance_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "stance", *args]


# ----------------------------------------------------------------------------------------------
# Reporting


def machine() -> str:
    """One line naming the machine, for the README: CPU, cores, torch threads, bf16, load when started."""
    import torch

    from stance.models.inference import cpu_has_fast_bf16

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    load = f", load average {os.getloadavg()[0]:.1f} at start" if hasattr(os, "getloadavg") else ""
    return (f"{cpu}, {os.cpu_count()} logical CPUs, torch {torch.__version__} with {torch.get_num_threads()} "
            f"threads, native bf16 {'yes' if cpu_has_fast_bf16() else 'no'}{gpu}{load}")


def markdown_table(rows: list[dict]) -> str:
    return pd.DataFrame(rows).to_markdown(index=False, floatfmt=".4g")


def report(key: str, sections: list[tuple[str, list[dict]]], notes: list[str], *, write_readme: bool = True,
           machine_line: str | None = None) -> None:
    """Print the tables and notes; save them as JSON; rewrite the README block between the markers of ``key``."""
    command = shlex.join([".venv/bin/python", *sys.argv])
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"Command: `{command}`  ", f"Machine: {machine_line or machine()}  ", f"Date: {date}", ""]
    for title, rows in sections:
        if title:
            lines += [f"**{title}**", ""]
        lines += [markdown_table(rows), ""]
    lines += [f"- {note}" for note in notes]
    body = "\n".join(lines).rstrip() + "\n"
    print("\n" + body)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{key}.json").write_text(json.dumps({"command": command, "date": date, "sections": sections,
                                                 "notes": notes}, indent=2, default=str))
    if write_readme:
        replace_block(README, key, body)
        print(f"updated {README.relative_to(REPO)} ({key})")


def replace_block(path: Path, key: str, body: str) -> None:
    """Replace the text between ``<!-- results:KEY:start -->`` and ``<!-- results:KEY:end -->``."""
    text = path.read_text(encoding="utf-8")
    start, end = f"<!-- results:{key}:start -->", f"<!-- results:{key}:end -->"
    if start not in text or end not in text:
        raise SystemExit(f"{path} has no {start} ... {end} block")
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{before}{start}\n{body}{end}{after}", encoding="utf-8")
    os.replace(tmp, path)


def read_results(key: str) -> dict | None:
    path = OUT / f"{key}.json"
    return json.loads(path.read_text()) if path.is_file() else None
