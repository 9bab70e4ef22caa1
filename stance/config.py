"""Typed experiment configs: YAML files with ``base:`` inheritance and dotted overrides.

A config is loaded once, at the edge (:func:`load_config`): YAML is read with a safe loader,
``base:`` files are merged underneath (paths relative to the file that names them), ``--set``
overrides are applied, and the result is validated against :class:`ExperimentConfig`. Every
error names the file, the key and what was expected, with the closest valid key for a typo, and
is raised before any work starts. Relative data and output paths are relative to the directory
the command runs in (the repository root for the shipped configs).
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from stance.errors import ConfigError
from stance.io import write_atomic
from stance.labels import DEFAULT_LABELS, official_metric_problem
from stance.models import MODELS
from stance.models.finetuning import HeadInit
from stance.models.inference import DEVICE_PATTERN, Precision, TrainPrecision


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Section):
    """Where the labelled statements and their split live."""

    path: Path = Field(Path("data/statements.jsonl"), description="Statements file (CSV, JSONL or Parquet).")
    splits: Path | None = Field(
        Path("data/splits.json"),
        description="Split file written by `stance data split`; null makes the split at run time from split.seed.",
    )
    labels: list[str] = Field(list(DEFAULT_LABELS), description="The label set, in report order; a file's labels "
                              "match it case-insensitively (`against` is `AGAINST`).")
    extra_train: list[Path] = Field(
        [], description="Labelled statement files added to the train split only, never to dev or test (e.g. the "
        "articles' gold answer sentences, `stance articles statements`); none of their episodes may be in dev or test.")
    negated_requests: float = Field(
        0.0, ge=0, le=1, description="Share of the train statements (extra files included) added once more with "
        "their request negated ('not ' before it, or taken off where it leads) and comply and decline swapped; "
        "consider stays. Contrast pairs that make the model read the request's direction: asked not to recognise, "
        "to vote against or to stop, a government complies in words of refusal. Needs input.mode request_text and "
        "the labels comply and decline; dev and test are never changed.")

    @field_validator("labels")
    @classmethod
    def _labels_distinct(cls, labels: list[str]) -> list[str]:
        labels = [label.strip() for label in labels]
        if len(labels) < 2 or len({label.lower() for label in labels}) != len(labels) or "" in labels:
            raise ValueError("needs at least two distinct labels (distinct ignoring case)")
        return labels


class SplitConfig(_Section):
    """How statements are split when a split is made: by episode, stratified by label."""

    seed: int = Field(13, description="Seed of the episode assignment.")
    dev_fraction: float = Field(0.15, gt=0, lt=0.5, description="Share of statements for dev.")
    test_fraction: float = Field(0.2, gt=0, lt=0.5, description="Share of statements for test.")
    group_by: str = Field("episode", min_length=1, description="Column whose groups never cross splits when a split "
                          "is made (episode; e.g. request for a benchmark's targets, id for one statement at a time).")


class InputConfig(_Section):
    """What the model reads."""

    mode: Literal["text", "request_text", "context_text"] = Field(
        "text", description="`text`: the statement alone; `request_text`: the request and the statement as a pair; "
        "`context_text`: the `context` column (the answer step's context features) and the text as a pair."
    )
    max_length: int = Field(128, ge=8, le=4096, description="Tokens kept per input; longer inputs are truncated.")


class ModelConfig(_Section):
    """Which classifier: a registered type and its parameters."""

    type: str = Field("transformer", description="Registered model name (`stance models` lists them).")
    name: str = Field(
        "default",
        description="Pretrained weights for transformer models: `default` (packaged all-MiniLM-L6-v2), a local folder or a hub id.",
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Parameters of the chosen type.")


class TrainConfig(_Section):
    """Fine-tuning settings (transformer models; baselines use only the seed)."""

    seed: int = Field(42, description="Seed for weights, dropout and data order.")
    epochs: float = Field(6, gt=0, description="Passes over the training split.")
    learning_rate: float = Field(5e-5, gt=0, description="Peak learning rate (AdamW).")
    head_learning_rate: float | None = Field(
        None, gt=0, description="Peak learning rate of the classification head, a freshly initialised layer that "
        "can learn faster than the pretrained encoder under it; null: learning_rate for every parameter.")
    head_init: HeadInit = Field(
        "random", description="How the classification layer starts: random (the architecture's initialisation) or "
        "linear_probe (LP-FT: first fitted alone, as a logistic regression on the frozen encoder's features, "
        "then everything is fine-tuned).")
    batch_size: int = Field(16, ge=1, description="Training batch size per device.")
    eval_batch_size: int = Field(64, ge=1, description="Batch size for dev evaluation and prediction.")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay.")
    warmup_ratio: float = Field(0.1, ge=0, lt=1, description="Share of steps with linear warm-up.")
    class_weights: bool = Field(False, description="Weight the loss by inverse class frequency.")
    group_by_length: bool = Field(True, description="Batch statements of similar length (faster on CPU).")
    logging_steps: int = Field(10, ge=1, description="Log the training loss every N steps.")
    max_steps: int = Field(-1, description="Stop after N steps (-1: run all epochs); for smoke tests.")
    threads: int | None = Field(None, ge=1, description="torch CPU threads; null keeps torch's default.")
    precision: TrainPrecision = Field(
        "fp32", description="fp32: exact. bf16: mixed precision (bf16 autocast, fp32 weights), only on a CPU with "
        "AMX or AVX-512 BF16 or a GPU with bf16; elsewhere a run stops at its start with an error, since emulated "
        "bf16 is several times slower than fp32. The dev evaluation after each epoch runs under the same autocast; "
        "the run's final evaluations run in fp32, prediction in predict.precision.")


class EvaluationConfig(_Section):
    """How the held-out evaluation is reported."""

    split: str = Field("test", description="Split evaluated by `stance run` (train, dev or test).")
    bootstrap: int = Field(1000, ge=0, description="Bootstrap resamples for confidence intervals (0: none).")
    confidence: float = Field(0.95, gt=0.5, lt=1, description="Confidence level of the intervals.")
    cluster_by: Literal["episode"] | None = Field(
        None, description="Resample whole episodes instead of statements (clustered bootstrap)."
    )
    breakdowns: list[str] = Field(
        ["episode", "actor", "requester", "request_direction", "source_type", "grounding"],
        description="Columns to break metrics down by (those a file lacks are left out).",
    )
    baselines: list[str] = Field(
        ["majority", "keyword", "tfidf_logreg", "embedding_logreg"],
        description="Model types fitted on the same split and reported beside the model, with a paired test.",
    )
    baseline_params: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="model.params of a baseline, by type, e.g. {majority: {group_by: request}} "
        "for the majority label per target.",
    )
    metrics: list[str] = Field(
        [], description="A task's official metrics reported beside the others, with bootstrap intervals: f_avg "
        "(SemEval-2016 Task 6, P-Stance: the mean F1 of FAVOR and AGAINST).",
    )
    significance_resamples: int = Field(
        2000, ge=100, description="Resamples of the paired approximate-randomisation test against each baseline."
    )
    calibrate: bool = Field(
        True,
        description="After training, fit one temperature on the dev split (temperature scaling: the logits divided "
        "by T, minimising dev NLL), save it with the model and apply it wherever probabilities are used; reports "
        "show ECE and the reliability diagram before and after. Transformer and seed_ensemble models (one T for the "
        "ensemble's average); baselines ignore it. Runs saved before this key existed read as false.",
    )
    cross_validation: int | None = Field(
        None, ge=2,
        description="Evaluate by k-fold cross-validation by episode (GroupKFold over the whole data file) "
        "instead of the fixed split: per-fold metrics, mean ± std and pooled out-of-fold predictions; for small "
        "data. null: the fixed split.",
    )
    refit: bool = Field(
        False,
        description="With cross_validation: after the folds, fit the model once more on every episode of the data "
        "file (less the dev slice that selects and calibrates it, split.dev_fraction of the episodes, as in each "
        "fold) and save it as the run's model, so that the run predicts (stance predict, stance analyze --answers); "
        "the reports and metrics stay the pooled out-of-fold figures. false: a cross-validation run saves no model.",
    )
    government_step: bool = Field(
        False,
        description="With refit, for the answer step of articles (labels answer / not_answer): also fit the "
        "government step (stance.articles.governments: which governments answer, from all their sentences' "
        "out-of-fold answer probabilities and context) on the pooled out-of-fold predictions, save it as "
        "model/governments.json, which stance analyze then applies, and report it in "
        "reports/cross_validation/governments.csv.",
    )


class PredictConfig(_Section):
    """How `stance predict` runs the trained model (evaluation during a run always uses fp32)."""

    precision: Precision = Field(
        "fp32",
        description="fp32: exact. bf16: the model cast to bfloat16, on CPUs with AMX or AVX-512 BF16 and on GPUs. "
        "fp16: cast to float16, GPUs only. int8: dynamic int8 quantisation of the encoder's linear layers, CPUs "
        "only. Where the hardware does not run a precision well, prediction warns and uses fp32.",
    )
    batch_size: int | None = Field(None, ge=1, description="Statements per forward pass; null: train.eval_batch_size.")
    max_tokens: int | None = Field(
        None, ge=1, description="Also cap a batch's padded tokens (statements × longest); null: no cap."
    )
    chunk_size: int = Field(
        10_000, ge=1, description="Rows read, predicted and written at a time from a file; memory grows with it, "
        "not with the file.",
    )
    threads: int | None = Field(None, ge=1, description="torch CPU threads for prediction; null: torch's default.")
    compile: bool = Field(
        False, description="Run the model under torch.compile (inductor). The first batches pay for compiling "
        "(about 30-40 s for MiniLM on two cores); whole runs measured so far gained little or nothing "
        "(figures: benchmarks/README.md). Not with int8 (its quantised layers split the graph). Needs a C++ "
        "compiler on CPUs, triton on GPUs; without one, prediction warns and runs eagerly.",
    )
    device: str = Field("auto", pattern=DEVICE_PATTERN,
                        description="auto: the GPU when torch sees one, else the CPU; or cpu, cuda, cuda:N.")


class DistillConfig(_Section):
    """Knowledge distillation: train the configured model (the student) on a teacher run's class
    probabilities instead of the gold labels alone (`stance distill TEACHER_RUN CONFIG` sets it)."""

    teacher: Path = Field(..., description="Run directory of the teacher; it must exist to train or reproduce the "
                          "student. Its probabilities are the teacher's as it predicts them (temperature-scaled "
                          "when its run was calibrated).")
    unlabelled: Path | None = Field(
        None, description="Extra statements without labels (a file with `text`, and `request` for request_text "
        "models) that the teacher labels and the student also fits; null: the train split only.")
    temperature: float = Field(
        2.0, gt=0, description="τ: teacher and student probabilities are both softened as softmax(logits / τ) in the "
        "distillation loss (KL divergence × τ²); 1: the teacher's probabilities as they are.")
    hard_weight: float = Field(
        0.0, ge=0, le=1, description="Share of the loss given to cross-entropy on the gold labels of the train "
        "split (the rest is the distillation loss); 0: the teacher's probabilities alone.")


class OutputConfig(_Section):
    """Where runs land."""

    dir: Path = Field(Path("experiments"), description="Parent folder of run directories.")


class TrackingConfig(_Section):
    """Where a finished run is also logged, besides its own folder (`--track` on the command line)."""

    backend: Literal["none", "mlflow", "tensorboard"] = Field(
        "none", description="none: the run folder only. mlflow: params (the resolved config as dotted keys), the "
        "training curve, final metrics with their interval bounds, reports and model as artifacts (needs "
        "`pip install stance[tracking]`). tensorboard: the same scalars as event files in the run's tensorboard/.",
    )
    experiment: str | None = Field(None, description="MLflow experiment name; null: the config's name.")
    uri: str | None = Field(
        None, description="MLflow tracking URI; null: the MLFLOW_TRACKING_URI environment variable, else the local "
        "store in tracking.local_dir.",
    )
    local_dir: Path = Field(
        Path("mlruns"), description="The local MLflow store used when no URI is given: a SQLite database "
        "(mlflow.db) and the artifacts (artifacts/) in this folder.",
    )


class ExperimentConfig(_Section):
    """One experiment: data → split → model → training → evaluation → reports."""

    name: str = Field("experiment", description="Short name, used in the run directory's name.")
    description: str = Field("", description="What this experiment is for.")
    data: DataConfig = Field(default_factory=DataConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    input: InputConfig = Field(default_factory=InputConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    evaluate: EvaluationConfig = Field(default_factory=EvaluationConfig)
    predict: PredictConfig = Field(default_factory=PredictConfig)
    distill: DistillConfig | None = Field(
        None, description="Train the model as a student of a teacher run (transformer models; baselines ignore it); "
        "null: ordinary training.")
    output: OutputConfig = Field(default_factory=OutputConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    seeds: list[int] | None = Field(None, description="Run once per seed (overrides train.seed) and aggregate.")
    sweep: dict[str, list[Any]] | None = Field(
        None, description="Grid of dotted keys to values; one run per point (times seeds)."
    )

    @model_validator(mode="after")
    def _check_model_params(self) -> ExperimentConfig:
        entry = MODELS.get(self.model.type)
        if entry is None:
            close = difflib.get_close_matches(self.model.type, MODELS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known types: {', '.join(sorted(MODELS))}"
            raise ValueError(f"model.type {self.model.type!r} is not a registered model; {hint}")
        try:
            entry.params.model_validate(self.model.params)
        except ValidationError as err:
            raise ValueError(_describe_errors(err, entry.params, prefix="model.params")) from None
        problem = entry.label_problem(self.data.labels, self.model.params) if entry.label_problem else None
        if problem:
            raise ValueError(f"model.type {problem}; give model.params.lexicon cues for each label")
        for baseline, params in self.evaluate.baseline_params.items():
            if baseline not in MODELS:
                raise ValueError(f"evaluate.baseline_params: {baseline!r} is not a registered model")
            try:
                MODELS[baseline].params.model_validate(params)
            except ValidationError as err:
                raise ValueError(_describe_errors(err, MODELS[baseline].params,
                                                  prefix=f"evaluate.baseline_params.{baseline}")) from None
        for metric in self.evaluate.metrics:
            problem = official_metric_problem(metric, self.data.labels)
            if problem:
                raise ValueError(f"evaluate.metrics: {problem}")
        if self.data.negated_requests:
            names = {label.lower() for label in self.data.labels}
            if self.input.mode != "request_text" or not {"comply", "decline"} <= names:
                raise ValueError("data.negated_requests needs input.mode request_text and the labels comply and "
                                 "decline: it negates the request and swaps those two labels")
        if self.distill is not None and self.evaluate.cross_validation:
            raise ValueError("distill and evaluate.cross_validation do not go together: the teacher run was trained "
                             "on statements of the held-out folds; cross-validate the student without distill")
        if self.evaluate.refit and not self.evaluate.cross_validation:
            raise ValueError("evaluate.refit needs evaluate.cross_validation: only a cross-validation run has "
                             "out-of-fold figures to report beside a model fitted on all the data; set "
                             "evaluate.cross_validation (e.g. 5) or leave refit false")
        if self.evaluate.government_step and not (self.evaluate.refit and "answer" in self.data.labels):
            raise ValueError("evaluate.government_step needs evaluate.refit and the labels answer / not_answer: "
                             "it is fitted on the answer step's out-of-fold predictions and saved with its model")
        if not entry.uses_train_seed and (self.seeds or "train.seed" in (self.sweep or {})):
            raise ValueError(f"model.type {self.model.type!r} takes its seeds from model.params, not train.seed: "
                             "a seeds sweep over it would train the same model once per seed; vary "
                             "model.params.seeds instead")
        return self

    def dump(self) -> dict[str, Any]:
        """The config as plain YAML-ready data (paths as strings)."""
        return self.model_dump(mode="json")


# ----------------------------------------------------------------------------------------------
# Loading


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read ``path`` (following ``base:``), apply ``key=value`` overrides, validate.

    Raises :class:`ConfigError` naming the file and key for anything wrong.
    """
    path = Path(path)
    raw = _read_with_bases(path, seen=())
    for override in overrides:
        key, value = _parse_override(override)
        _set_dotted(raw, key, value, source=f"--set {override}")
    return validate_config(raw, source=str(path))


def validate_config(raw: Mapping[str, Any], source: str = "<config>") -> ExperimentConfig:
    """Validate already-merged config data; errors name ``source``."""
    try:
        return ExperimentConfig.model_validate(dict(raw))
    except ValidationError as err:
        raise ConfigError(f"{source}: {_describe_errors(err, ExperimentConfig)}") from None


def save_config(config: ExperimentConfig, path: Path, header: str = "") -> None:
    """Write the fully resolved config as YAML (what a run directory keeps)."""
    text = yaml.safe_dump(config.dump(), sort_keys=False, allow_unicode=True)
    write_atomic(path, (header + text) if header else text)


def config_to_yaml(config: ExperimentConfig) -> str:
    """The resolved config as YAML text."""
    return yaml.safe_dump(config.dump(), sort_keys=False, allow_unicode=True)


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist", hint="check the path")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text", hint="save the config as UTF-8") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        # A !!python/... tag is refused by the safe loader: say so rather than blame the syntax.
        hint = ("stance reads plain YAML only; tags such as !!python/... are never run"
                if isinstance(err, yaml.constructor.ConstructorError) else "fix the line; a value with ':' or '#' needs quotes")
        raise ConfigError(f"{where}: not valid YAML ({getattr(err, 'problem', None) or err})", hint=hint) from None
    except (ValueError, RecursionError) as err:  # e.g. a date like 2015-13-01, or nesting too deep
        raise ConfigError(f"{path}: not valid YAML ({err})", hint="quote values that are not meant as dates") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a mapping of keys, found {type(data).__name__}")
    return data


def _read_with_bases(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    resolved = path.resolve()
    if resolved in seen:
        chain = " -> ".join(str(p) for p in (*seen, resolved))
        raise ConfigError(f"{path}: circular base: {chain}")
    data = _read_yaml(path)
    base = data.pop("base", None)
    if base is None:
        return data
    bases = [base] if isinstance(base, str) else base
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise ConfigError(f"{path}: key 'base' must be a file name or a list of them")
    merged: dict[str, Any] = {}
    for name in bases:
        merged = _deep_merge(merged, _read_with_bases(path.parent / name, (*seen, resolved)))
    return _deep_merge(merged, data)


def _deep_merge(under: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(under)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and key != "sweep":
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _parse_override(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r} is not KEY=VALUE", hint="e.g. --set train.learning_rate=3e-5")
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except (yaml.YAMLError, ValueError, RecursionError):  # not YAML (or an impossible date): the plain string
        parsed = value
    return key.strip(), parsed


def _set_dotted(data: dict[str, Any], key: str, value: Any, source: str) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{source}: {part!r} is not a section, cannot set {key!r}")
        node = child
    node[parts[-1]] = value


def apply_overrides(config: ExperimentConfig, assignments: Mapping[str, Any], source: str) -> ExperimentConfig:
    """A new validated config with dotted ``assignments`` applied (used by seeds and sweeps)."""
    raw = config.dump()
    for key, value in assignments.items():
        _set_dotted(raw, key, value, source=source)
    return validate_config(raw, source=source)


# ----------------------------------------------------------------------------------------------
# Error messages


def _fields_at(model: type[BaseModel], loc: Sequence[Any]) -> Iterable[str]:
    """Valid keys at the level of ``loc`` (for "did you mean")."""
    current: Any = model
    for part in loc:
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = field.annotation
    return getattr(current, "model_fields", {}).keys()


def _describe_errors(err: ValidationError, model: type[BaseModel], prefix: str = "") -> str:
    messages = []
    for error in err.errors():
        loc = [str(p) for p in error["loc"]]
        key = ".".join([prefix, *loc] if prefix else loc) or "(top level)"
        if error["type"] == "extra_forbidden":
            valid = list(_fields_at(model, loc[:-1]))
            close = difflib.get_close_matches(loc[-1], valid, n=1)
            hint = f"did you mean {'.'.join([*([prefix] if prefix else []), *loc[:-1], close[0]])!r}?" if close else (
                f"valid keys here: {', '.join(valid)}" if valid else "remove it"
            )
            messages.append(f"unknown key {key!r}; {hint}")
        elif error["type"] == "value_error":
            messages.append(str(error["ctx"]["error"]) if "ctx" in error else error["msg"])
        else:
            given = error.get("input")
            shown = "" if isinstance(given, dict) else f" (got {given!r})"
            messages.append(f"key {key!r}: {error['msg'].lower()}{shown}")
    return "; ".join(messages)


# ----------------------------------------------------------------------------------------------
# Seeds and sweeps


def expand(config: ExperimentConfig) -> list[tuple[dict[str, Any], ExperimentConfig]]:
    """One ``(point, config)`` per sweep point times seed; a plain config gives itself once.

    ``point`` holds the dotted keys that vary (``train.seed`` included when ``seeds`` is set), so
    an aggregated report can group runs by it.
    """
    grid = dict(config.sweep or {})
    keys = list(grid)
    base = config.model_copy(update={"sweep": None, "seeds": None})
    points = [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())] or [{}]
    seeds = config.seeds or [None]
    expanded = []
    for point in points:
        for seed in seeds:
            assignments = dict(point)
            if seed is not None:
                assignments["train.seed"] = seed
            expanded.append((assignments, apply_overrides(base, assignments, source=f"sweep point {assignments}")))
    return expanded
