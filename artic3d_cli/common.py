"""Options shared by every subcommand: the params file, ``--set`` overrides, the device."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from artic3d_core.config import ConfigError, Params, load_params

ParamsOpt = Annotated[
    Path, typer.Option("--params", "-p", help="Parameter file (the single source of parameters).")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="Override a parameter: section.key=value (repeatable)."),
]
DeviceOpt = Annotated[
    str | None, typer.Option("--device", help="auto | cpu | cuda:N (overrides params.yaml).")
]


def load_or_exit(params: Path, overrides: list[str] | None, device: str | None = None) -> Params:
    """Load the config; on a config error print it (file and key named) and exit 2."""
    sets = list(overrides or [])
    if device is not None:
        sets.append(f"device={device}")
    try:
        return load_params(params, sets)
    except ConfigError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
