"""Atomic file writes: write into a temp file beside the target, then rename over it, so a
crash never leaves a half-written artifact."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: str | Path, writer: Callable[[str], object]) -> Path:
    """Call ``writer(tmp_path)`` (a temp file in ``path``'s folder, same suffix), then rename
    it to ``path``. The temp file is removed if ``writer`` fails. Returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        writer(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
