"""stance.io: atomic writes, the prediction schema, tables written in chunks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from stance.errors import StanceError
from stance.io import (
    LABEL,
    PREDICTION,
    ChunkWriter,
    atomic_path,
    check_output,
    probability_column,
    with_predictions,
    write_atomic,
    write_frame,
    write_json,
    write_npz,
)

LABELS = ["decline", "consider", "comply"]


def test_an_atomic_write_appears_whole_or_not_at_all(tmp_path):
    target = tmp_path / "deep" / "report.md"
    write_atomic(target, "first\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half a rep", encoding="utf-8")
        raise RuntimeError("killed mid-write")
    assert target.read_text(encoding="utf-8") == "first\n"  # the old file, untouched
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.md"]  # no temporary left behind


def test_json_and_npz_are_written_atomically_and_read_back(tmp_path):
    write_json(tmp_path / "a.json", {"label": "décline", "n": 3})
    assert (tmp_path / "a.json").read_text(encoding="utf-8") == '{\n  "label": "décline",\n  "n": 3\n}\n'
    write_npz(tmp_path / "a.npz", coef=np.arange(4.0))
    with np.load(tmp_path / "a.npz", allow_pickle=False) as arrays:
        np.testing.assert_array_equal(arrays["coef"], np.arange(4.0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.npz"]


def test_predictions_have_one_schema():
    frame = pd.DataFrame({"id": ["a", "b"], "text": ["x", "y"], LABEL: ["comply", "decline"]})
    proba = np.array([[0.1, 0.2, 0.7], [0.5, 0.4, 0.1]])
    out = with_predictions(frame, proba, LABELS)
    assert out.columns.tolist() == ["id", "text", "label", "prediction", "p_decline", "p_consider", "p_comply"]
    assert out[PREDICTION].tolist() == ["comply", "decline"]
    assert out[probability_column("comply")].tolist() == [0.7, 0.1]
    assert frame.columns.tolist() == ["id", "text", "label"]  # the input is left as it was


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_chunks_write_what_one_write_writes(tmp_path, suffix):
    frame = pd.DataFrame({"id": [str(i) for i in range(7)], "text": list("abcdefg"), "score": np.linspace(0, 1, 7)})
    write_frame(frame, tmp_path / f"whole{suffix}")
    with ChunkWriter(tmp_path / f"chunks{suffix}", suffix[1:]) as writer:
        for start in range(0, 7, 3):
            writer.write(frame.iloc[start:start + 3])
    assert writer.rows == 7
    if suffix == ".parquet":
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / f"chunks{suffix}"), pd.read_parquet(tmp_path / f"whole{suffix}"))
    else:
        assert (tmp_path / f"chunks{suffix}").read_bytes() == (tmp_path / f"whole{suffix}").read_bytes()
    if suffix == ".jsonl":
        assert [json.loads(line)["id"] for line in (tmp_path / "whole.jsonl").read_text().splitlines()] == list("0123456")


def test_check_output_refuses_to_overwrite_and_unknown_formats(tmp_path):
    (tmp_path / "out.csv").write_text("x\n")
    with pytest.raises(StanceError, match="already exists"):
        check_output(tmp_path / "out.csv", force=False)
    check_output(tmp_path / "out.csv", force=True)
    with pytest.raises(StanceError, match="unsupported format"):
        check_output(tmp_path / "out.xlsx", force=True)
