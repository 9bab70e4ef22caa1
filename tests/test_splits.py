from pathlib import Path

import pandas as pd
import pytest

from stance.data import load_statements
from stance.errors import DataError
from stance.splits import check_leakage, load_split, make_split, save_split, split_frames

REPO = Path(__file__).resolve().parents[1]


def _corpus(n_episodes=12, per_episode=9):
    rows = []
    labels = ["decline", "consider", "comply"]
    for e in range(n_episodes):
        for i in range(per_episode):
            rows.append({"id": f"e{e}-{i}", "episode": f"episode {e}", "label": labels[(i + e) % 3],
                         "text": f"government {e} statement {i} about request {e * 31 + i} words {'x' * (i + 1)}"})
    return pd.DataFrame(rows)


def test_split_keeps_each_episode_in_one_split_and_is_deterministic(tmp_path):
    frame = _corpus()
    split = make_split(frame, seed=3, dev_fraction=0.2, test_fraction=0.2)
    assert set(split.episodes.values()) == {"train", "dev", "test"}
    assigned = split.assign(frame)
    assert (frame.assign(split=assigned).groupby("episode")["split"].nunique() == 1).all()
    assert make_split(frame, seed=3, dev_fraction=0.2, test_fraction=0.2).episodes == split.episodes
    save_split(split, tmp_path / "s.json")
    reloaded = load_split(tmp_path / "s.json")
    assert reloaded.episodes == split.episodes
    assert reloaded.membership_sha256(frame) == split.membership_sha256(frame)
    parts = split_frames(frame, reloaded)
    assert sum(len(p) for p in parts.values()) == len(frame)


def test_leakage_check_catches_planted_shared_episode_and_near_duplicate():
    frame = _corpus()
    split = make_split(frame, seed=1)
    assigned = split.assign(frame).copy()
    assert check_leakage(frame, assigned).ok
    # plant 1: one statement of a test episode moved to train
    test_row = assigned[assigned == "test"].index[0]
    leaked = assigned.copy()
    leaked[test_row] = "train"
    report = check_leakage(frame, leaked)
    assert not report.ok and frame.loc[test_row, "episode"] in report.shared_episodes["episode"].tolist()
    # plant 2: a train text copied, lightly edited, into a test statement
    planted = frame.copy()
    train_row, other_test = assigned[assigned == "train"].index[0], assigned[assigned == "test"].index[1]
    planted.loc[other_test, "text"] = planted.loc[train_row, "text"] + "."
    report = check_leakage(planted, assigned)
    assert report.shared_episodes.empty
    pair = report.near_duplicates.iloc[0]
    assert {pair["id_a"], pair["id_b"]} == {frame.loc[train_row, "id"], frame.loc[other_test, "id"]}
    assert pair["cosine"] >= 0.9


def test_shipped_corpus_split_has_no_leakage():
    frame = load_statements(REPO / "data/statements.jsonl")
    split = load_split(REPO / "data/splits.json")
    report = check_leakage(frame, split.assign(frame))
    assert report.ok, report.near_duplicates.head()


def test_shipped_heldout_set_shares_no_episode_id_or_near_copy_with_the_corpus():
    """data/heldout.jsonl is a second test set: no episode, id or near-duplicate text in common with
    any split of the corpus (TF-IDF cosine < 0.7, stricter than the 0.9 of `stance data check`)."""
    import pandas as pd

    frame = load_statements(REPO / "data/statements.jsonl")
    heldout = load_statements(REPO / "data/heldout.jsonl")
    assert not set(frame["episode"]) & set(heldout["episode"])
    assert not set(frame["id"]) & set(heldout["id"])
    both = pd.concat([frame, heldout], ignore_index=True)
    assigned = list(load_split(REPO / "data/splits.json").assign(frame)) + ["heldout"] * len(heldout)
    report = check_leakage(both, assigned, threshold=0.7)
    assert report.ok, report.near_duplicates.head()


def _tweets(n: int, start: int = 0) -> pd.DataFrame:
    targets = ["Atheism", "Feminist Movement", "Hillary Clinton"]
    return pd.DataFrame({"id": [str(i) for i in range(start, start + n)],
                         "text": [f"tweet number {i}" for i in range(start, start + n)],
                         "request": [targets[i % 3] for i in range(n)],
                         "label": [("FAVOR", "AGAINST")[(i // 3) % 2] for i in range(n)]})


def test_a_split_file_can_name_files_and_put_a_target_on_both_sides(tmp_path):
    train, test = _tweets(40), _tweets(12, start=100)
    train.to_json(tmp_path / "train.jsonl", orient="records", lines=True)
    test.to_json(tmp_path / "test.jsonl", orient="records", lines=True)
    (tmp_path / "splits.yaml").write_text("train: train.jsonl\ntest: test.jsonl\ndev_fraction: 0.25\n")
    split = load_split(tmp_path / "splits.yaml")
    parts = split_frames(pd.concat([train, test], ignore_index=True), split)
    assert len(parts["test"]) == 12 and len(parts["train"]) + len(parts["dev"]) == 40
    assert len(parts["dev"]) == 10  # a quarter of train held out, statement by statement (group_by: id)
    assert set(parts["train"]["request"]) == set(parts["test"]["request"])
    assert split_frames(pd.concat([train, test]), split)["dev"]["id"].tolist() == parts["dev"]["id"].tolist()


def test_a_split_by_files_refuses_statements_in_none_of_them(tmp_path):
    _tweets(6).to_json(tmp_path / "train.jsonl", orient="records", lines=True)
    _tweets(3, start=50).to_json(tmp_path / "test.jsonl", orient="records", lines=True)
    (tmp_path / "splits.json").write_text('{"train": "train.jsonl", "dev": null, "test": "test.jsonl"}')
    with pytest.raises(DataError, match="1 statement\\(s\\) in none of the split's files, e.g. ids \\['999'\\]"):
        load_split(tmp_path / "splits.json").assign(_tweets(1, start=999))


def test_a_hand_written_split_file_in_neither_format_names_both(tmp_path):
    (tmp_path / "splits.json").write_text('{"training": ["a"], "testing": ["b"]}')
    with pytest.raises(DataError) as err:
        load_split(tmp_path / "splits.json")
    assert "found training, testing" in str(err.value)
    assert '"episodes"' in err.value.hint and "train: FILE, test: FILE" in err.value.hint


def test_a_split_can_group_by_another_column(tmp_path):
    frame = pd.concat([_tweets(30), _tweets(30, start=30).assign(request=lambda f: f["request"] + " 2")],
                      ignore_index=True)
    split = make_split(frame, seed=1, group_by="request")
    save_split(split, tmp_path / "s.json")
    reloaded = load_split(tmp_path / "s.json")
    assert reloaded.group_by == "request" and reloaded.episodes == split.episodes
    per_target = pd.DataFrame({"request": frame["request"], "split": reloaded.assign(frame)}).drop_duplicates()
    assert per_target["request"].is_unique  # no target in two splits
    with pytest.raises(DataError, match="no 'episode' column to split by"):
        make_split(frame)
