"""Errors every layer shares. :class:`BadInputError` marks input that no retry can fix (a
missing dataset, an unknown method or cell); the orchestration layer never retries it and the
command lines exit with status 2 on it."""

from __future__ import annotations

__all__ = ["BadInputError"]


class BadInputError(ValueError):
    """The input (data, parameters, files) is wrong: retrying cannot help."""
