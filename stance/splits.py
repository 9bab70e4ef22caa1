"""Episode splits and leakage checks.

Statements about one request episode share context, actors and phrasing, so a split by statement
would leak: a model could learn the episode, not the stance. Splits are therefore made by
episode (scikit-learn's ``StratifiedGroupKFold``, stratified by label as far as whole episodes
allow), recorded in a JSON file that every run reads, and checked by :func:`check_leakage` for
shared episodes and near-duplicate texts across splits. Another column can play the episode's
part (``group_by``, e.g. a benchmark's target), and a hand-written split file can instead name the
files each split's statements come from (a benchmark's official train and test files), in which
case a group may sit on both sides because the split says so.
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

#: What a split file may hold, for the error that refuses one.
SPLIT_FILE_FORMATS = (
    "a split file is either what `stance data split` writes (JSON: {\"episodes\": {\"train\": [...], "
    "\"dev\": [...], \"test\": [...]}, \"seed\": 13, \"dev_fraction\": 0.15, \"test_fraction\": 0.2}) or one "
    "that names files (JSON or YAML: train: FILE, test: FILE, optional dev: FILE; without dev, "
    "dev_fraction of train is held out by group_by, default id), file paths relative to the split file"
)


@dataclass(frozen=True)
class Split:
    """Which split each episode (or other group) belongs to, and how that was decided.

    With ``files``, the split instead names the files each split's statements come from: a
    statement's split is that of the file holding its id, and a missing dev is held out from train
    (``dev_fraction`` of it, whole ``group_by`` groups, stratified by label, from ``seed``).
    """

    episodes: dict[str, str]  # group -> split name
    seed: int
    dev_fraction: float
    test_fraction: float
    method: str = "StratifiedGroupKFold by episode, stratified by label"
    group_by: str = "episode"
    files: dict[str, tuple[str, ...]] | None = None
    #: For a split by files: each statement id's split, read from the files.
    ids: dict[str, str] | None = None

    def assign(self, frame: pd.DataFrame, source: str = "data") -> pd.Series:
        """Each statement's split (via its group, or its file); an unknown group is an error."""
        if self.ids is not None:
            return self._assign_by_file(frame, source)
        _require_column(frame, self.group_by, source)
        split = frame[self.group_by].map(self.episodes)
        unknown = split.isna()
        if unknown.any():
            names = sorted(frame.loc[unknown, self.group_by].unique())[:3]
            what = "episode(s)" if self.group_by == "episode" else f"{self.group_by} value(s)"
            raise DataError(
                f"{source}: {unknown.sum()} statement(s) from {what} not in the split file, e.g. {names}",
                hint="rerun `stance data split` after adding episodes",
            )
        return split.rename("split")

    def _assign_by_file(self, frame: pd.DataFrame, source: str) -> pd.Series:
        split = frame["id"].astype(str).map(self.ids)
        unknown = split.isna()
        if unknown.any():
            names = sorted(frame.loc[unknown, "id"].astype(str))[:3]
            raise DataError(f"{source}: {unknown.sum()} statement(s) in none of the split's files, e.g. ids {names}",
                            hint=f"the split names {', '.join(f for fs in (self.files or {}).values() for f in fs)}")
        if "dev" not in (self.files or {}) and self.dev_fraction > 0:
            train = np.flatnonzero(split.to_numpy() == "train")
            column = self.group_by if self.group_by in frame.columns else "id"
            held = hold_out_episodes(frame.iloc[train], self.dev_fraction, self.seed, column=column)
            split.iloc[train[held]] = "dev"
        return split.rename("split")

    def membership_sha256(self, frame: pd.DataFrame) -> str:
        """sha256 of the sorted ``id,split`` pairs: runs record it to prove they used one split."""
        pairs = sorted(zip(frame["id"], self.assign(frame), strict=True))
        return hashlib.sha256("\n".join(f"{i},{s}" for i, s in pairs).encode()).hexdigest()

    def to_json(self) -> dict:
        if self.files is not None:
            return {**{name: list(files) for name, files in self.files.items()}, "group_by": self.group_by,
                    "dev_fraction": self.dev_fraction, "seed": self.seed}
        grouped = {name: sorted(e for e, s in self.episodes.items() if s == name) for name in SPLITS}
        out = {
            "method": self.method,
            "seed": self.seed,
            "dev_fraction": self.dev_fraction,
            "test_fraction": self.test_fraction,
        }
        if self.group_by != "episode":
            out["group_by"] = self.group_by
        return {**out, "episodes": grouped}


def _require_column(frame: pd.DataFrame, column: str, source: str) -> None:
    if column not in frame.columns:
        raise DataError(f"{source}: no {column!r} column to split by",
                        hint="split by a column the file has (--group-by request, or id for one statement at a time), "
                        "or give a split file that names the train and test files")


def make_split(frame: pd.DataFrame, *, seed: int = 13, dev_fraction: float = 0.15, test_fraction: float = 0.2,
               group_by: str = "episode") -> Split:
    """Assign whole episodes (or groups of another column, ``group_by``) to train/dev/test,
    stratified by label, deterministic from ``seed``.

    Test is taken first as one fold of ``round(1/test_fraction)`` stratified group folds; dev is
    then one fold of the rest, sized to ``dev_fraction`` of the whole.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    _require_column(frame, group_by, "data")
    episodes = frame[group_by].astype(str).to_numpy()
    labels = frame["label"].to_numpy()
    if len(set(episodes)) < 3:
        what = "episodes" if group_by == "episode" else f"{group_by} values"
        raise DataError(f"a split by {group_by} needs at least three {what}",
                        hint="add episodes or use --split none")
    test_idx = _one_fold(episodes, labels, np.arange(len(frame)), test_fraction, seed, StratifiedGroupKFold)
    rest = np.setdiff1d(np.arange(len(frame)), test_idx)
    dev_share_of_rest = dev_fraction / (1 - test_fraction)
    dev_idx = rest[_one_fold(episodes[rest], labels[rest], np.arange(len(rest)), dev_share_of_rest, seed, StratifiedGroupKFold)]
    assignment = {episode: "train" for episode in episodes}
    assignment.update({episode: "dev" for episode in episodes[dev_idx]})
    assignment.update({episode: "test" for episode in episodes[test_idx]})
    method = Split.method if group_by == "episode" else f"StratifiedGroupKFold by {group_by}, stratified by label"
    return Split(dict(sorted(assignment.items())), seed, dev_fraction, test_fraction, method, group_by)


def extend_split(split: Split, frame: pd.DataFrame) -> Split:
    """``split`` with the episodes of ``frame`` it lacks assigned, every existing assignment kept.

    The new episodes are split among themselves as :func:`make_split` splits a corpus (stratified
    by label, the split's own seed and fractions), so that new kinds of request reach dev and test
    too, while no statement already in a split moves. Fewer than three new episodes all go to train.
    """
    if split.files is not None:
        raise DataError("a split that names files cannot be extended", hint="add the statements to its files")
    column = split.group_by
    _require_column(frame, column, "data")
    new = frame[~frame[column].isin(split.episodes)]
    if new.empty:
        return split
    if new[column].nunique() < 3:
        added = {episode: "train" for episode in new[column]}
    else:
        added = make_split(new, seed=split.seed, dev_fraction=split.dev_fraction,
                           test_fraction=split.test_fraction, group_by=column).episodes
    method = split.method if "episodes added later" in split.method else (
        f"{split.method}; episodes added later split among themselves the same way (stance data split --extend)")
    return Split(dict(sorted({**split.episodes, **added}.items())), split.seed, split.dev_fraction,
                 split.test_fraction, method, column)


def hold_out_episodes(frame: pd.DataFrame, fraction: float, seed: int, *, column: str = "episode") -> np.ndarray:
    """Positions in ``frame`` of whole episodes (groups of ``column``) holding about ``fraction`` of
    its statements, stratified by label as :func:`make_split` takes dev; empty when there are under
    two groups."""
    from sklearn.model_selection import StratifiedGroupKFold

    episodes = frame[column].astype(str).to_numpy()
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
    """Read a split file: one written by :func:`save_split`, or a hand-written one that names the
    files of each split (:data:`SPLIT_FILE_FORMATS`)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"split file {path} does not exist", hint="run `stance data split` first")
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
        if not isinstance(data, dict):
            raise TypeError(f"found {type(data).__name__}, not a mapping")
        if "train" in data or "test" in data:
            return _split_by_files(path, data)
        if "episodes" not in data:
            found = ", ".join(map(str, list(data)[:5])) or "nothing"
            raise DataError(f"{path}: not a stance split file (it has neither episodes nor train and test files; "
                            f"found {found})", hint=SPLIT_FILE_FORMATS)
        episodes = {str(episode): name for name in SPLITS for episode in data["episodes"].get(name, [])}
        return Split(episodes, int(data["seed"]), float(data["dev_fraction"]), float(data["test_fraction"]),
                     **({"method": str(data["method"])} if "method" in data else {}),
                     group_by=str(data.get("group_by", "episode")))
    except DataError:
        raise
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError, UnicodeDecodeError) as err:
        import yaml

        if isinstance(err, yaml.YAMLError):
            err = type(err).__name__
        raise DataError(f"{path}: not a stance split file ({err})", hint=SPLIT_FILE_FORMATS) from None


def _split_by_files(path: Path, data: dict) -> Split:
    """A split read from a split file that names each split's files (ids read from them)."""
    from stance.data import read_table

    unknown = sorted(set(data) - {*SPLITS, "group_by", "dev_fraction", "seed", "method"})
    if unknown or "train" not in data or "test" not in data:
        problem = f"unknown key(s) {', '.join(unknown)}" if unknown else "it needs both train and test"
        raise DataError(f"{path}: not a stance split file ({problem})", hint=SPLIT_FILE_FORMATS)
    files: dict[str, tuple[str, ...]] = {}
    ids: dict[str, str] = {}
    for name in SPLITS:
        if data.get(name) is None:
            continue
        names = data[name] if isinstance(data[name], list) else [data[name]]
        files[name] = tuple(str(n) for n in names)
        for name_ in files[name]:
            table = read_table(path.parent / name_)
            if "id" not in table.columns:
                raise DataError(f"{path.parent / name_}: no 'id' column, so its statements cannot be matched",
                                hint="give every record an id (`stance data import` writes them)")
            for statement in table["id"].astype(str):
                if ids.setdefault(statement, name) != name:
                    raise DataError(f"{path}: id {statement!r} is in both {ids[statement]} and {name}",
                                    hint="a statement belongs to one split")
    fraction = float(data.get("dev_fraction", 0.15 if "dev" not in files else 0.0))
    return Split({}, int(data.get("seed", 13)), fraction, 0.0,
                 str(data.get("method", "the files named in the split file")), str(data.get("group_by", "id")),
                 files, ids)


def shared_groups_allowed(split: Split) -> bool:
    """Whether a group may be on both sides of ``split``: when it names files, it says which."""
    return split.files is not None


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
    group_by: str | None = "episode",
) -> LeakageReport:
    """Find episodes (groups of ``group_by``; None: no group check) in more than one split and text
    pairs across splits with TF-IDF cosine ≥ ``threshold``.

    ``splits`` gives each statement's split (aligned with ``frame``'s rows). Exact duplicates
    have cosine 1 and are always caught.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    split = pd.Series(np.asarray(splits), index=frame.index, name="split")
    if group_by is not None and group_by in frame.columns:
        per_episode = pd.DataFrame({group_by: frame[group_by], "split": split}).drop_duplicates()
        counts = per_episode.groupby(group_by)["split"].agg(lambda s: ", ".join(sorted(s)))
        shared = counts[per_episode.groupby(group_by).size() > 1].rename("splits").reset_index()
    else:
        shared = pd.DataFrame(columns=[group_by or "episode", "splits"])

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
    if "episode" in frame.columns:
        table["episodes"] = frame.groupby(split.to_numpy())["episode"].nunique()
    table = table.reindex([s for s in SPLITS if s in table.index]).reset_index(names="split")
    table.columns.name = None
    return table
