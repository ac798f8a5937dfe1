"""Error types that decide retries: bad input is never retried, transient failures are."""

from __future__ import annotations

from typing import Any

from artic3d_core.errors import BadInputError

__all__ = [
    "BadInputError",
    "StageUnavailableError",
    "TransientError",
    "is_transient",
    "retry_transient",
]


class StageUnavailableError(RuntimeError):
    """The library function a stage wraps does not exist (yet): the stage fails clearly,
    it never fakes a result."""


class TransientError(RuntimeError):
    """A failure that may pass on a retry (I/O hiccup, a busy device)."""


_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    TransientError,
    TimeoutError,
    ConnectionError,
    BrokenPipeError,
    InterruptedError,
)


def is_transient(exc: BaseException | None) -> bool:
    """True for failures worth a retry: timeouts, connections, CUDA out-of-memory."""
    if exc is None:
        return False
    if isinstance(exc, _TRANSIENT_TYPES):
        return True
    return type(exc).__name__ == "OutOfMemoryError"  # torch.cuda.OutOfMemoryError


def retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: retry only when the failure is transient."""
    try:
        exc = state.result(raise_on_failure=False)
    except Exception as err:  # the state could not give its exception back
        exc = err
    return is_transient(exc if isinstance(exc, BaseException) else None)
