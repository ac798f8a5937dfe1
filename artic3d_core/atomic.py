"""Atomic file writes: write into a temp file beside the target, then rename over it, so a
crash never leaves a half-written artifact. The one implementation for the whole codebase
(the orchestration layer's manifests skip files whose name contains :data:`TMP_TAG`)."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

__all__ = ["TMP_TAG", "atomic_write", "atomic_write_bytes", "atomic_write_text", "fsync_dir"]

TMP_TAG = ".tmp-"


def _temp_beside(path: Path) -> Path:
    """``.<stem>.tmp-<pid>-<hex><suffix>``: hidden, tagged, keeps the suffix (writers such as
    mesh exporters infer the format from it)."""
    return path.with_name(f".{path.stem}{TMP_TAG}{os.getpid()}-{secrets.token_hex(3)}{path.suffix}")


def fsync_dir(path: str | Path) -> None:
    """Flush a folder's entries (the rename) to disk where the platform allows it."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: str | Path, writer: Callable[[str], object], fsync: bool = False) -> Path:
    """Call ``writer(tmp_path)`` (a temp file in ``path``'s folder, same suffix), then rename
    it to ``path``. The temp file is removed if ``writer`` fails. ``fsync``: flush the file
    and the folder (for artifacts that must survive a power cut). Returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(path)
    try:
        writer(str(tmp))
        if fsync:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    if fsync:
        fsync_dir(path.parent)
    return path


def atomic_write_bytes(path: str | Path, data: bytes, fsync: bool = True) -> Path:
    """Write ``data`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda t: Path(t).write_bytes(data), fsync)


def atomic_write_text(path: str | Path, text: str, fsync: bool = True) -> Path:
    """Write UTF-8 ``text`` atomically (see :func:`atomic_write`)."""
    return atomic_write_bytes(path, text.encode(), fsync)
