from pathlib import Path

import pandas as pd

from stance.data import load_statements
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
