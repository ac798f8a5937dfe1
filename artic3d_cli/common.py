"""Options shared by every subcommand: the params file, ``--set`` overrides, the device, and
how a user error is shown (one or two lines and exit status 2; the traceback with ``--debug``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

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
DebugOpt = Annotated[
    bool, typer.Option("--debug", help="On an error, show the traceback instead of one line.")
]


class _State:
    """Process-wide CLI settings set by the top-level callback (``artic3d --debug ...``)."""

    debug: bool = False


STATE = _State()


def user_error(exc: BaseException | str, debug: bool = False) -> NoReturn:
    """Show a user error as ``error: <message>`` on stderr and exit 2; with ``--debug`` (here or
    before the subcommand) re-raise ``exc`` so its traceback shows."""
    if (debug or STATE.debug) and isinstance(exc, BaseException):
        raise exc
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def load_or_exit(
    params: Path | None,
    overrides: list[str] | None,
    device: str | None = None,
    debug: bool = False,
) -> Params:
    """Load the config (``params`` None: the built-in defaults); on a config error print it
    (file and key named) and exit 2."""
    if params is not None and not params.is_file():
        where = params if params.is_absolute() else f"{params} (in {Path.cwd()})"
        user_error(
            f"parameter file {where} not found\n  Run from the project folder that holds "
            "params.yaml, or pass its path: --params /path/to/params.yaml",
            debug,
        )
    sets = list(overrides or [])
    if device is not None:
        sets.append(f"device={device}")
    try:
        return load_params(params, sets)
    except ConfigError as exc:
        if debug or STATE.debug:
            raise
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
