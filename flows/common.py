"""What the flow entry points share: loading params (errors name the key), picking devices."""

from __future__ import annotations

import sys
from pathlib import Path

from artic3d_core.config import ConfigError, Params, load_params
from flows import PROJECT_ROOT
from tasks.errors import BadInputError


def load(
    params_file: str | Path = "params.yaml",
    overrides: list[str] | None = None,
    project_root: str | Path = PROJECT_ROOT,
) -> Params:
    """Params from ``params_file`` (relative paths: under ``project_root``)."""
    p = Path(params_file)
    if not p.is_absolute():
        p = Path(project_root) / p
    try:
        return load_params(p, overrides)
    except ConfigError as exc:
        raise BadInputError(str(exc)) from None


def resolve_device(params: Params, override: str | None = None) -> str:
    from artic3d_core.device import resolve_device as _resolve

    try:
        return str(_resolve(override or params.device))
    except ValueError as exc:
        raise BadInputError(str(exc)) from None


def fail(exc: BaseException) -> None:
    """Print a clear one-paragraph error and exit 2 (bad input) or 3 (stage unavailable)."""
    from tasks.errors import StageUnavailableError

    print(f"error: {exc}", file=sys.stderr)
    sys.exit(3 if isinstance(exc, StageUnavailableError) else 2)
