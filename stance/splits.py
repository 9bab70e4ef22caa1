"""Episode splits and leakage checks.

Statements about one request episode share context, actors and phrasing, so a split by statement
would leak: a model could learn the episode, not the stance. Splits are therefore made by
episode (scikit-learn's ``StratifiedGroupKFold``, stratified by label as far as whole episodes
allow), recorded in a JSON file that every run reads, and checked by :func:`check_leakage` for
shared episodes and near-duplicate texts across splits.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from stance.errors import DataError
from stance.io import write_json

SPLITS: tuple[str, ...] = ("train", "dev", "test")


@dataclass(frozen=True)
class Split:
    """Which split each episode belongs to, and how that was decided."""

    episodes: dict[str, str]  # episode -> split name
    seed: int
    dev_fraction: float
    test_fraction: float
    method: str = "StratifiedGroupKFold by episode, stratified by label"

    def assign(self, frame: pd.DataFrame, source: str = "data") -> pd.Series:
        """Each statement's split (via its episode); an unknown episode is an error."""
        split = frame["episode"].map(self.episodes)
        unknown = split.isna()
        if unknown.any():
            names = sorted(frame.loc[unknown, "episode"].unique())[:3]
            raise DataError(
                f"{source}: {unknown.sum()} statement(s) from episode(s) not in the split file, e.g. {names}",
                hint="rerun `stance data split` after adding episodes",
            )
        return split.rename("split")

    def membership_sha256(self, frame: pd.DataFrame) -> str:
        """sha256 of the sorted ``id,split`` pairs: runs record it to prove they used one split."""
        pairs = sorted(zip(frame["id"], self.assign(frame), strict=True))
        return hashlib.sha256("\n".join(f"{i},{s}" for i, s in pairs).encode()).hexdigest()

    def to_json(self) -> dict:
        grouped = {name: sorted(e for e, s in self.episodes.items() if s == name) for name in SPLITS}
        return {
            "method": self.method,
            "seed": self.seed,
            "dev_fraction": self.dev_fraction,
            "test_fraction": self.test_fraction,
            "episodes": grouped,
        }


def make_split(frame: pd.DataFrame, *, seed: int = 13, dev_fraction: float = 0.15, test_fraction: float = 0.2) -> Split:
    """Assign whole episodes to train/dev/test, stratified by label, deterministic from ``seed``.

    Test is taken first as one fold of ``round(1/test_fraction)`` stratified group folds; dev is
    then one fold of the rest, sized to ``dev_fraction`` of the whole.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    episodes = frame["episode"].to_numpy()
    labels = frame["label"].to_numpy()
    if len(set(episodes)) < 3:
        raise DataError("an episode split needs at least three episodes", hint="add episodes or use --split none")
    test_idx = _one_fold(episodes, labels, np.arange(len(frame)), test_fraction, seed, StratifiedGroupKFold)
    rest = np.setdiff1d(np.arange(len(frame)), test_idx)
    dev_share_of_rest = dev_fraction / (1 - test_fraction)
    dev_idx = rest[_one_fold(episodes[rest], labels[rest], np.arange(len(rest)), dev_share_of_rest, seed, StratifiedGroupKFold)]
    assignment = {episode: "train" for episode in episodes}
    assignment.update({episode: "dev" for episode in episodes[dev_idx]})
    assignment.update({episode: "test" for episode in episodes[test_idx]})
    return Split(dict(sorted(assignment.items())), seed, dev_fraction, test_fraction)


def extend_split(split: Split, frame: pd.DataFrame) -> Split:
    """``split`` with the episodes of ``frame`` it lacks assigned, every existing assignment kept.

    The new episodes are split among themselves as :func:`make_split` splits a corpus (stratified
    by label, the split's own seed and fractions), so that new kinds of request reach dev and test
    too, while no statement already in a split moves. Fewer than three new episodes all go to train.
    """
    new = frame[~frame["episode"].isin(split.episodes)]
    if new.empty:
        return split
    if new["episode"].nunique() < 3:
        added = {episode: "train" for episode in new["episode"]}
    else:
        added = make_split(new, seed=split.seed, dev_fraction=split.dev_fraction,
                           test_fraction=split.test_fraction).episodes
    method = split.method if "episodes added later" in split.method else (
        f"{split.method}; episodes added later split among themselves the same way (stance data split --extend)")
    return Split(dict(sorted({**split.episodes, **added}.items())), split.seed, split.dev_fraction,
                 split.test_fraction, method)


def hold_out_episodes(frame: pd.DataFrame, fraction: float, seed: int) -> np.ndarray:
    """Positions in ``frame`` of whole episodes holding about ``fraction`` of its statements,
    stratified by label as :func:`make_split` takes dev; empty when there are under two episodes."""
    from sklearn.model_selection import StratifiedGroupKFold

    episodes = frame["episode"].to_numpy()
    if len(set(episodes)) < 2:
        return np.array([], dtype=int)
    return _one_fold(episodes, frame["label"].to_numpy(), np.arange(len(frame)), fraction, seed, StratifiedGroupKFold)


def _one_fold(groups, labels, index, fraction, seed, splitter_cls) -> np.ndarray:
    n_splits = max(2, round(1 / fraction))
    n_groups = len(set(groups[index]))
    n_splits = min(n_splits, n_groups)
    splitter = splitter_cls(n_splits=n_splits, shuffle=True, random_state=seed)
    # The fold whose size is closest to the target keeps the shares near what was asked for.
    target = fraction * len(index)
    folds = [held for _, held in splitter.split(index, labels[index], groups[index])]
    best = min(folds, key=lambda held: abs(len(held) - target))
    return index[best]


def save_split(split: Split, path: str | Path) -> None:
    """Write the split file (JSON, episodes listed per split) through a temporary file and a rename,
    so that a crash never leaves half a split file for every later run to read."""
    write_json(path, split.to_json())


def load_split(path: str | Path) -> Split:
    """Read a split file written by :func:`save_split`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"split file {path} does not exist", hint="run `stance data split` first")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        episodes = {episode: name for name in SPLITS for episode in data["episodes"].get(name, [])}
        return Split(episodes, int(data["seed"]), float(data["dev_fraction"]), float(data["test_fraction"]),
                     **({"method": str(data["method"])} if "method" in data else {}))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise DataError(f"{path}: not a stance split file ({err})") from None


def split_frames(frame: pd.DataFrame, split: Split, source: str = "data") -> dict[str, pd.DataFrame]:
    """The statements of each split."""
    assigned = split.assign(frame, source)
    return {name: frame[assigned == name].reset_index(drop=True) for name in SPLITS}


# ----------------------------------------------------------------------------------------------
# Leakage


@dataclass
class LeakageReport:
    """What :func:`check_leakage` found; ``ok`` when nothing crosses a split."""

    shared_episodes: pd.DataFrame
    near_duplicates: pd.DataFrame
    threshold: float
    split_sizes: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.shared_episodes.empty and self.near_duplicates.empty


def check_leakage(
    frame: pd.DataFrame,
    splits: Mapping[str, str] | pd.Series,
    *,
    threshold: float = 0.9,
) -> LeakageReport:
    """Find episodes in more than one split and text pairs across splits with TF-IDF cosine ≥ ``threshold``.

    ``splits`` gives each statement's split (aligned with ``frame``'s rows). Exact duplicates
    have cosine 1 and are always caught.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    split = pd.Series(np.asarray(splits), index=frame.index, name="split")
    per_episode = pd.DataFrame({"episode": frame["episode"], "split": split}).drop_duplicates()
    counts = per_episode.groupby("episode")["split"].agg(lambda s: ", ".join(sorted(s)))
    shared = counts[per_episode.groupby("episode").size() > 1].rename("splits").reset_index()

    vectors = TfidfVectorizer(lowercase=True, ngram_range=(1, 2), sublinear_tf=True).fit_transform(frame["text"])
    rows = []
    names = sorted(split.unique())
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            ia, ib = np.flatnonzero(split.to_numpy() == a), np.flatnonzero(split.to_numpy() == b)
            sims = (vectors[ia] @ vectors[ib].T).tocoo()
            keep = sims.data >= threshold
            for r, c, s in zip(sims.row[keep], sims.col[keep], sims.data[keep], strict=True):
                ra, rb = frame.iloc[ia[r]], frame.iloc[ib[c]]
                rows.append(
                    {"id_a": ra["id"], "split_a": a, "id_b": rb["id"], "split_b": b, "cosine": round(float(s), 3),
                     "text_a": ra["text"], "text_b": rb["text"]}
                )
    near = pd.DataFrame(rows, columns=["id_a", "split_a", "id_b", "split_b", "cosine", "text_a", "text_b"])
    near = near.sort_values("cosine", ascending=False).reset_index(drop=True)
    return LeakageReport(shared, near, threshold, split.value_counts().to_dict())


def split_summary(frame: pd.DataFrame, split: pd.Series, labels: Sequence[str]) -> pd.DataFrame:
    """Statements and episodes per split, with label counts."""
    table = pd.crosstab(split, frame["label"]).reindex(columns=list(labels), fill_value=0)
    table["statements"] = table.sum(axis=1)
    table["episodes"] = frame.groupby(split.to_numpy())["episode"].nunique()
    table = table.reindex([s for s in SPLITS if s in table.index]).reset_index(names="split")
    table.columns.name = None
    return table
