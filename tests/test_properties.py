"""Property-based tests: whatever file or config a user hands the loaders, they either succeed or
raise the toolkit's own error (a :class:`~stance.errors.StanceError`), never anything else."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stance.config import ExperimentConfig, load_config, validate_config
from stance.data import REQUIRED_FIELDS, load_statements
from stance.errors import StanceError

# Modest example counts keep the whole file to a few seconds; the strategies aim at the edges
# (empty, blank, NaN-like, non-UTF-8, wrong types) rather than at volume.
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SUFFIXES = [".csv", ".jsonl", ".json", ".parquet"]
NAN_LIKE = ["", " ", "nan", "NaN", "None", "null", "NA", "#N/A", "<NA>"]
LABEL_LIKE = ["decline", "consider", "comply", "Comply", "complies", "", "nan"]

cells = st.one_of(
    st.sampled_from(NAN_LIKE + LABEL_LIKE),
    st.text(max_size=20),
    st.integers(-10**6, 10**6).map(str),
)
columns = st.one_of(
    st.just(list(REQUIRED_FIELDS)),  # the full record: the cells decide
    st.lists(st.sampled_from([*REQUIRED_FIELDS, "source_type", "note", "_line", ""]), min_size=0, max_size=10),
)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=8), inner, max_size=3), max_leaves=8)


def _load(data: bytes, suffix: str):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"statements{suffix}"
        path.write_bytes(data)
        for labels in (("decline", "consider", "comply"), None):
            try:
                load_statements(path, labels=labels)
            except StanceError as err:
                assert str(err).strip() and "\n" not in str(err).strip(), "the CLI prints one line"


@FAST
@given(data=st.binary(max_size=600), suffix=st.sampled_from(SUFFIXES))
def test_arbitrary_bytes_load_or_raise_stance_error(data, suffix):
    _load(data, suffix)


@FAST
@given(text=st.text(max_size=400), suffix=st.sampled_from(SUFFIXES),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
def test_arbitrary_text_loads_or_raises_stance_error(text, suffix, encoding):
    _load(text.encode(encoding, errors="replace"), suffix)


@FAST
@given(header=columns, rows=st.lists(st.lists(cells, min_size=0, max_size=12), max_size=6),
       suffix=st.sampled_from(SUFFIXES))
def test_table_shaped_files_load_or_raise_stance_error(header, rows, suffix):
    """Tables with the record's columns (some missing, repeated or blank) and awkward cells."""
    width = len(header)
    padded = [(row + [""] * width)[:width] for row in rows]
    if suffix == ".parquet":
        frame = pd.DataFrame(padded, columns=[f"{name}{'_' * i}" for i, name in enumerate(header)]) if width else \
            pd.DataFrame(index=range(len(rows)))
        frame.columns = header if len(set(header)) == len(header) else frame.columns
        buffer = io.BytesIO()
        try:
            frame.to_parquet(buffer)
        except (ValueError, TypeError):  # pandas itself cannot write such a frame; nothing to test
            return
        data = buffer.getvalue()
    elif suffix == ".csv":
        buffer = io.StringIO()
        pd.DataFrame(padded, columns=header).to_csv(buffer, index=False)
        data = buffer.getvalue().encode()
    else:
        data = "\n".join(json.dumps(dict(zip(header, row, strict=True))) for row in padded).encode()
    _load(data, suffix)


@FAST
@given(records=st.lists(st.one_of(json_values, st.dictionaries(st.sampled_from([*REQUIRED_FIELDS, "x"]), json_values,
                                                               max_size=9)), max_size=5))
def test_jsonl_of_arbitrary_json_values_loads_or_raises_stance_error(records):
    _load("\n".join(json.dumps(r) for r in records).encode(), ".jsonl")


# ----------------------------------------------------------------------------------------------
# Configs

SECTIONS = {name: list(getattr(field.annotation, "model_fields", {})) for name, field in ExperimentConfig.model_fields.items()}
keys = st.one_of(st.sampled_from(list(SECTIONS)), st.text(max_size=10), st.integers(-3, 3))
yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=15),
                         st.sampled_from(["transformer", "majority", "default", "text", "request_text", "test", "1e-3",
                                          "2015-13-01", "episode", "experiments", ""]))


@st.composite
def config_like(draw):
    """Mostly-right configs: real sections and keys with values of any type, plus stray keys."""
    raw = {}
    for section in draw(st.lists(st.sampled_from(list(SECTIONS)), max_size=5, unique=True)):
        fields = SECTIONS[section]
        if fields and draw(st.booleans()):
            chosen = draw(st.lists(st.sampled_from(fields), max_size=4, unique=True))
            raw[section] = {key: draw(json_values | yaml_scalars) for key in chosen}
        else:
            raw[section] = draw(json_values | yaml_scalars)
    raw.update(draw(st.dictionaries(keys, json_values, max_size=3)))
    return raw


@FAST
@given(raw=config_like())
def test_arbitrary_mappings_validate_or_raise_config_error(raw):
    try:
        config = validate_config(raw, source="prop.yaml")
    except StanceError as err:
        assert str(err).startswith("prop.yaml")
    else:
        assert isinstance(config, ExperimentConfig)


@FAST
@given(raw=config_like(), overrides=st.lists(st.tuples(st.sampled_from(
    ["train.epochs", "train", "model.params", "input.max_length", "seeds", "sweep", "x.y", "", "data.labels"]),
    st.text(max_size=12)), max_size=3))
def test_arbitrary_yaml_files_and_overrides_load_or_raise_config_error(raw, overrides):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        try:
            path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        except yaml.YAMLError:
            return
        try:
            load_config(path, [f"{key}={value}" for key, value in overrides])
        except StanceError:
            pass


@FAST
@given(text=st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_arbitrary_config_text_loads_or_raises_config_error(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_config(path)
        except StanceError:
            pass


@pytest.mark.parametrize("text", ["name: 2015-13-01\n", "train: {epochs: [[[[1]]]]}\n", "base: [1, 2]\n", "- a\n",
                                  "\x00", "base: nope.yaml\n", "sweep: {train.epochs: 3}\n", "model: {params: 3}\n"])
def test_known_awkward_configs_raise_config_error(tmp_path, text):
    """Cases hypothesis found (or might not): each is a one-line ConfigError."""
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(StanceError):
        load_config(path)
