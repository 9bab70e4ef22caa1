"""Model cards: ``model/README.md``, a Hugging Face model card generated from the run that made the model.

Everything in the card comes from the run folder (config, manifest, metrics, report tables) and the
datasheet beside the run's data file, so the card says what this run measured and nothing else:
YAML metadata (language, licence, base model, pipeline tag, labels, ``model-index`` metrics with
their interval bounds), then intended use, training data with the datasheet's caveats, evaluation,
limitations, how to load the model, and how it was trained. ``stance runs card RUN`` (re)writes it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from stance.data import file_sha256, is_dataset_dict, load_statements
from stance.datasheet import datasheet_section
from stance.errors import StanceError
from stance.hf_dataset import dataset_split
from stance.io import write_atomic
from stance.models.base import read_card
from stance.runs import Run, package_licence
from stance.splits import SPLITS, load_split

#: The file a Hugging Face model folder's card lives in.
CARD_FILE = "README.md"
#: Where the weights of a ``model.name`` come from on the Hub, for the names stance resolves itself.
HUB_IDS = {"default": "sentence-transformers/all-MiniLM-L6-v2"}
#: Evaluations of the run's own data file; any other (``stance evaluate --data FILE``) is named after its file.
CORPUS_SPLITS = ("train", "dev", "test", "cross_validation")
#: Splits a model was selected on: reported, but kept out of ``model-index``.
SELECTION_SPLITS = ("dev",)
#: Breakdowns whose weakest group the limitations name, where the run's reports have them.
LIMITATION_BREAKDOWNS = ("request_direction", "grounding", "source_type")
#: Example inputs for the usage snippet (a request and an answer to it).
EXAMPLE_REQUEST = "more military contributions against ISIS"
EXAMPLE_STATEMENT = "Ottawa said its plans to withdraw the jets have not changed."


def write_model_card(run: Run, *, cross_validation: Run | None = None) -> Path:
    """Write ``run``'s model card to ``model/README.md`` and return its path."""
    if not run.model_dir.is_dir():
        raise StanceError(f"{run.path} holds no model/ folder, so it has no model card",
                          hint="cross-validation runs keep no model unless evaluate.refit is true; pass a run made by `stance run` or `stance train`")
    path = run.model_dir / CARD_FILE
    write_atomic(path, model_card(run, cross_validation=cross_validation))
    return path


def model_card(run: Run, *, cross_validation: Run | None = None) -> str:
    """The card's text. ``cross_validation``: a cross-validation run of the same config, reported too."""
    config = run.config()
    saved = read_card(run.model_dir)
    metrics = run.metrics()
    pipeline_ready = saved.get("kind") == "transformer"
    front = front_matter(run, config, saved, metrics, pipeline_ready)
    sections = [
        _title(run, config, saved),
        _intended_use(config),
        _training_data(run, config),
        _evaluation(run, config, metrics, cross_validation),
        _limitations(run, config, metrics),
        _how_to_use(run, config, saved, pipeline_ready),
        _training_procedure(run, config, saved),
    ]
    return "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---\n\n" + "\n\n".join(sections) + "\n"


# ----------------------------------------------------------------------------------------------
# Metadata


def base_model_id(name: str) -> str | None:
    """The Hub id the weights of ``model.name`` came from: a known name, a hub id, or what a local
    folder's ``config.json`` says it was made from; ``None`` when that is unknown."""
    if name in HUB_IDS:
        return HUB_IDS[name]
    path = Path(name).expanduser()
    if path.exists():
        try:
            origin = json.loads((path / "config.json").read_text(encoding="utf-8")).get("_name_or_path", "")
        except (OSError, ValueError):
            return None
        return origin if _looks_like_hub_id(origin) else None
    return name if _looks_like_hub_id(name) else None


def _looks_like_hub_id(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", name or ""))


def front_matter(run: Run, config, saved: dict, metrics: dict, pipeline_ready: bool) -> dict[str, Any]:
    """The card's YAML metadata, in the Hub's model-card schema (``model-index`` for the metrics)."""
    front: dict[str, Any] = {"language": ["en"], "license": package_licence()}
    if pipeline_ready:
        front["library_name"] = "transformers"
        base = base_model_id(saved.get("base_model", config.model.name))
        if base:
            front["base_model"] = base
    front["pipeline_tag"] = "text-classification"
    front["tags"] = ["stance", "stance-detection", "text-classification", "political-science", config.model.type]
    front["labels"] = list(saved["labels"])
    results = []
    for split, values in metrics.items():
        if split in SELECTION_SPLITS or "macro_f1" not in values:
            continue
        entries = []
        for metric, label in (("macro_f1", "macro-F1"), ("accuracy", "accuracy")):
            if metric not in values:
                continue
            entries.append({"type": metric, "name": label, "value": round(float(values[metric]), 4)})
            for bound, word in (("ci_low", "lower"), ("ci_high", "upper")):
                if f"{metric}_{bound}" in values:
                    entries.append({"type": f"{metric}_{bound}", "value": round(float(values[f"{metric}_{bound}"]), 4),
                                    "name": f"{label}, {_confidence(config)} interval {word} bound"})
        results.append({
            "task": {"type": "text-classification", "name": "Stance classification"},
            "dataset": {"name": _dataset_name(config, split),
                        "type": str(config.data.path) if split in CORPUS_SPLITS else split, "split": split},
            "metrics": entries,
        })
    if results:
        front["model-index"] = [{"name": run.id, "results": results}]
    return front


def _confidence(config) -> str:
    return f"{config.evaluate.confidence:.0%}"


def _dataset_name(config, split: str) -> str:
    if split in CORPUS_SPLITS:
        return Path(config.data.path).stem
    return split  # an evaluation on another file is named after that file


# ----------------------------------------------------------------------------------------------
# Sections


def _title(run: Run, config, saved: dict) -> str:
    labels = ", ".join(saved["labels"])
    reads = ("the request a statement answers paired with the statement" if config.input.mode == "request_text"
             else "the statement alone")
    if saved.get("kind") == "transformer":
        base = base_model_id(saved.get("base_model", config.model.name)) or saved.get("base_model", config.model.name)
        what = f"`{base}` fine-tuned"
    else:
        what = f"a `{config.model.type}` model"
    return (f"# {config.name} ({run.id})\n\n"
            f"A stance classifier: {what} to say how a government answers an ally's request ({labels}). It reads "
            f"{reads}. This card was generated by `stance` from run `{run.id}`; the run folder holds the config, "
            "provenance and every report it cites." + (f"\n\n{config.description}" if config.description else ""))


def _intended_use(config) -> str:
    text = ("## Intended use\n\n"
            "Research on how governments answer requests from allies and partners: labelling statements by or about a "
            "government that answer a request for a contribution, as a first pass that a person checks. It is not "
            "meant to decide anything about a government or person on its own, nor for text that answers no request.")
    uses = _datasheet_section(config, "Uses")
    return text + (f"\n\nFrom the datasheet of the training data:\n\n{uses}" if uses else "")


def _training_data(run: Run, config) -> str:
    manifest = run.manifest()
    data = manifest.get("data", {})
    sizes = data.get("split_sizes", {})
    lines = [f"## Training data\n\n`{config.data.path}`"
             + (f", split by episode ({', '.join(f'{sizes[s]} {s}' for s in SPLITS if s in sizes)} statements)"
                if sizes else "")
             + ". No episode is in two splits, so the test figures are on requests the model never saw."]
    frame = _run_data(run, config)
    if frame is not None and "grounding" in frame.columns and "episode" in frame.columns:
        split_file = config.data.splits
        split = (dataset_split(config.data.path) if is_dataset_dict(config.data.path)
                 else load_split(split_file) if split_file is not None and Path(split_file).is_file() else None)
        if split is not None:
            groups = frame["episode"].map(split.episodes).fillna("not in split")
            shares = (frame["grounding"].eq("source").groupby(groups).mean() * 100).round().astype(int)
            shown = ", ".join(f"{split} {shares[split]}%" for split in SPLITS if split in shares)
            lines.append(f"Statements grounded in a stored news page (`grounding: source`) per split: {shown}.")
    caveats = _datasheet_section(config, "Known gaps and biases")
    if caveats:
        lines.append(f"Caveats, from the datasheet (`{_datasheet_path(config)}`):\n\n{caveats}")
    else:
        lines.append("No datasheet was found beside the data file: read the data's own documentation for its caveats.")
    return "\n\n".join(lines)


def _evaluation(run: Run, config, metrics: dict, cross_validation: Run | None) -> str:
    ev = config.evaluate
    level = _confidence(config)
    how = (f"{level} percentile bootstrap intervals ({ev.bootstrap} resamples"
           + (", resampling whole episodes" if ev.cluster_by else "") + ")")
    rows = [{"evaluated on": split, "statements": int(values.get("n", 0)),
             "macro-F1": _with_interval(values, "macro_f1"), "accuracy": _with_interval(values, "accuracy")}
            for split, values in metrics.items() if "macro_f1" in values]
    parts = [f"## Evaluation\n\nMetrics of this run with {how}. `dev` chose the epoch, so only the other rows "
             "are held out.\n\n" + _markdown(pd.DataFrame(rows))]
    comparison = run.reports_dir(ev.split) / "comparison.csv"
    if comparison.is_file():
        table = pd.read_csv(comparison)
        shown = pd.DataFrame({
            "model": table["model"],
            "macro-F1": [_with_interval(row, "macro_f1", low="_low", high="_high") for row in table.to_dict("records")],
            "p (paired, vs this model)": [("" if pd.isna(p) else f"{p:.3g}") for p in table.get("p_value", [])],
        })
        parts.append(f"Beside the baselines fitted on the same split ({ev.split}):\n\n" + _markdown(shown))
    if cross_validation is not None:
        parts.append(_cross_validation_text(cross_validation))
    return "\n\n".join(parts)


def _cross_validation_text(cv: Run) -> str:
    folds_path = cv.reports_dir("cross_validation") / "folds.csv"
    pooled = cv.metrics().get("cross_validation", {})
    if not folds_path.is_file():
        return f"Cross-validation run `{cv.id}` has no fold table."
    folds = pd.read_csv(folds_path)
    return (f"Cross-validation by episode (run `{cv.id}`, {len(folds)} folds over the whole data file): macro-F1 "
            f"{folds['macro_f1'].mean():.3f} ± {folds['macro_f1'].std():.3f} over folds; pooled out-of-fold "
            f"macro-F1 {_with_interval(pooled, 'macro_f1')}.")


def _limitations(run: Run, config, metrics: dict) -> str:
    lines = ["## Limitations"]
    split = config.evaluate.split
    for column in LIMITATION_BREAKDOWNS:
        path = run.reports_dir(split) / f"by_{column}.csv"
        if not path.is_file():
            continue
        table = pd.read_csv(path)
        if len(table) < 2 or "macro_f1" not in table.columns:
            continue
        shown = ", ".join(f"{row[column]} {row['macro_f1']:.2f} (n={int(row['n'])})"
                          for row in table.sort_values("macro_f1").to_dict("records"))
        lines.append(f"- Macro-F1 on {split} by `{column}`: {shown}.")
    other = [name for name in metrics if name not in CORPUS_SPLITS]
    if other:
        shown = "; ".join(f"`{name}` {_with_interval(metrics[name], 'macro_f1')} (n={int(metrics[name].get('n', 0))})"
                          for name in other)
        lines.append(f"- On data outside the corpus split, macro-F1: {shown}.")
    else:
        lines.append("- This run was measured on its own corpus split only. Its figures say nothing yet about other text: "
                     f"`stance evaluate {run.path.parent / run.id} --data FILE` adds a second test set to the run "
                     "and to this card (`stance runs card RUN`).")
    test = metrics.get(split, {})
    if "macro_f1_ci_low" in test:
        lines.append(f"- The {split} interval is {test['macro_f1_ci_high'] - test['macro_f1_ci_low']:.2f} wide: "
                     "differences smaller than that between this model and another are not established by it.")
    truncated = int(test.get("truncated", 0) or 0)
    lines.append(f"- It reads at most {config.input.max_length} tokens per input"
                 + (f" ({truncated} {split} statements were longer and were cut)" if truncated else "")
                 + "; English only; the labels are "
                 f"{', '.join(config.data.labels)}, so text outside that scheme gets one of them anyway.")
    lines.append("- The corpus statements are written in the project's words in the register of news reports; "
                 "sentences taken from real articles, with their attribution and noise, are a different input, "
                 "and the figures above need not carry over to them until they are measured on such text.")
    return "\n".join(lines[:1]) + "\n\n" + "\n".join(lines[1:])


def _how_to_use(run: Run, config, saved: dict, pipeline_ready: bool) -> str:
    folder = f"{Path(config.output.dir) / run.id / 'model'}"
    paired = config.input.mode == "request_text"
    if pipeline_ready:
        pooling = "import stance.models.pooling  # registers the mean-pooling head with transformers\n" \
            if saved.get("pooling") == "mean" else ""
        code = (f"{pooling}from transformers import pipeline\n\n"
                f'model_dir = "{folder}"  # this folder, or its Hub id once uploaded\n'
                'classify = pipeline("text-classification", model=model_dir, top_k=None)\n'
                f'# with the request the statement answers{" (how this model was trained)" if paired else ""}\n'
                f'print(classify({{"text": "{EXAMPLE_REQUEST}", "text_pair": "{EXAMPLE_STATEMENT}"}}))\n'
                f'# the statement alone{"" if paired else " (how this model was trained)"}\n'
                f'print(classify("{EXAMPLE_STATEMENT}"))\n')
        intro = ("The folder is an ordinary Hugging Face model folder (safetensors, tokenizer, `id2label`). "
                 "`transformers.pipeline` reads it; pass the request as `text` and the statement as `text_pair`"
                 + (", as in training." if paired else " only if you want to: this model was trained on statements alone."))
    else:
        requests = f'requests=["{EXAMPLE_REQUEST}"]' if paired else "requests=None"
        code = ("from stance.models import TextInputs, load_classifier\n\n"
                f'model_dir = "{folder}"  # this folder\n'
                "model = load_classifier(model_dir)\n"
                f'inputs = TextInputs(["{EXAMPLE_STATEMENT}"], {requests})\n'
                "print(model.predict(inputs), model.predict_proba(inputs))\n")
        intro = (f"A `{config.model.type}` model is not a transformers model: load it with `stance`'s API "
                 "(no code from the folder is executed), or use `stance predict RUN`.")
    return f"## How to use\n\n{intro}\n\n```python\n{code}```"


def _training_procedure(run: Run, config, saved: dict) -> str:
    manifest = run.manifest()
    train = config.train
    settings = [f"input: `{config.input.mode}`, at most {config.input.max_length} tokens",
                f"seed {train.seed}"]
    if saved.get("kind") == "transformer":
        settings += [f"{train.epochs:g} epochs, learning rate {train.learning_rate:g}, batch size {train.batch_size}, "
                     f"weight decay {train.weight_decay:g}, warm-up {train.warmup_ratio:g}",
                     "the epoch with the best dev macro-F1 kept"]
    packages = manifest.get("environment", {}).get("packages", {})
    versions = ", ".join(f"{k} {v}" for k, v in packages.items() if k in ("stance", "torch", "transformers") and v)
    commit = manifest.get("git", {}).get("commit")
    return ("## Training procedure\n\n" + "; ".join(settings) + ". Command: `" + str(manifest.get("command", "")) + "`"
            + (f"; git commit `{commit[:12]}`" if commit else "") + (f"; {versions}" if versions else "")
            + ". The run folder's `config.yaml` is the whole resolved config: `stance reproduce RUN` reruns it.")


# ----------------------------------------------------------------------------------------------


def _with_interval(values: dict, metric: str, low: str = "_ci_low", high: str = "_ci_high") -> str:
    if metric not in values or pd.isna(values[metric]):
        return ""
    text = f"{float(values[metric]):.3f}"
    lo, hi = values.get(f"{metric}{low}"), values.get(f"{metric}{high}")
    if lo is not None and hi is not None and not (pd.isna(lo) or pd.isna(hi)):
        text += f" [{float(lo):.3f}, {float(hi):.3f}]"
    return text


def _markdown(table: pd.DataFrame) -> str:
    return table.to_markdown(index=False)


def _run_data(run: Run, config) -> pd.DataFrame | None:
    """The run's statements, if the data file is still the one the run read (its hash matches)."""
    path = Path(config.data.path)
    recorded = run.manifest().get("data", {}).get("files_sha256", {}).get(str(config.data.path))
    if not path.exists() or recorded is None or file_sha256(path) != recorded:
        return None
    try:
        return load_statements(path, config.data.labels)
    except StanceError:
        return None


def _datasheet_path(config) -> Path:
    data = Path(config.data.path)
    return (data if data.is_dir() else data.parent) / "DATASHEET.md"


def _datasheet_section(config, heading: str) -> str:
    return datasheet_section(_datasheet_path(config), heading, first_sentence=heading != "Uses")
