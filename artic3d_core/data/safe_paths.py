"""Keep file names read from inputs (annotation ids, list entries, class names) inside their
dataset root.

A name taken from an annotation file or a config value becomes one component of a path under
a dataset root (``images/<cls>/input_<id>.png``, ``JPEGImages/<stem>.jpg``, ...). Such a name
must be a single plain component: non-empty, no path separator (``/`` or ``\\``), not ``.``, no
``..``, no NUL or other control character, and not absolute. :func:`path_inside` then checks
the joined path, normalised lexically, still lies inside the root.

The containment check normalises ``..`` lexically and does not follow symlinks: a symlink that
the dataset's owner placed inside the root (for example ``JPEGImages`` pointing at a shared
VOC copy) is trusted, a name read from an annotation file is not.
"""

from __future__ import annotations

import os
from pathlib import Path

from artic3d_core.data.records import DataError

__all__ = ["check_name", "path_inside"]

_MAX_NAME = 255  # longest file name most filesystems accept


def _show(name: str) -> str:
    """``repr`` of a user-supplied name, cut short so a hostile value cannot flood the message."""
    return repr(name) if len(name) <= 80 else f"{name[:80]!r}… ({len(name)} characters)"


def check_name(name: str, what: str = "name", where: str = "") -> str:
    """Return ``name`` when it is one safe path component; raise DataError otherwise.

    ``what`` says what the name is (``id``, ``class``), ``where`` where it was read (file and
    line); both appear in the message.
    """
    prefix = f"{where}: " if where else ""
    problem = None
    if not isinstance(name, str) or not name:
        problem = "is empty"
    elif "/" in name or "\\" in name:
        problem = "contains a path separator"
    elif name == ".":
        problem = "is the current folder"
    elif ".." in name:
        problem = "contains '..'"
    elif any(ord(c) < 32 or ord(c) == 127 for c in name):
        problem = "contains a control character"
    elif os.path.isabs(name) or (len(name) > 1 and name[1] == ":"):
        problem = "is an absolute path"
    elif len(name) > _MAX_NAME:
        problem = f"is longer than {_MAX_NAME} characters"
    if problem:
        shown = _show(name) if isinstance(name, str) else repr(type(name).__name__)
        raise DataError(f"{prefix}{what} {shown} {problem}; it must be a plain file name")
    return name


def path_inside(root: str | Path, *parts: str, where: str = "") -> Path:
    """``root / parts...`` after checking it stays inside ``root`` (normalised lexically).

    Raises DataError naming ``where`` and the offending path when it does not.
    """
    root = Path(root)
    path = root.joinpath(*parts)
    base = os.path.normpath(os.path.abspath(root))
    full = os.path.normpath(os.path.abspath(path))
    if os.path.commonpath([base, full]) != base or (full == base and parts):
        prefix = f"{where}: " if where else ""
        raise DataError(f"{prefix}path {_show(str(path))} is outside the dataset root {root}")
    return path
