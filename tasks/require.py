"""Look up the library function a stage wraps; fail clearly when it does not exist yet."""

from __future__ import annotations

import importlib
from typing import Any

from tasks.errors import StageUnavailableError

__all__ = ["require"]


def require(module: str, name: str, stage: str) -> Any:
    """``module.name``, or :class:`StageUnavailableError` naming what is missing."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise StageUnavailableError(
                f"stage '{stage}' cannot run: {module} does not exist in this checkout "
                f"(it must provide {name}). No result was produced."
            ) from None
        raise
    fn = getattr(mod, name, None)
    if fn is None:
        raise StageUnavailableError(
            f"stage '{stage}' cannot run: {module} has no {name!r}. No result was produced."
        )
    return fn
