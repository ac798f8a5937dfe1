"""Atomic file and folder writes: write into a temp file (or folder) beside the target, then
rename it over the target, so a crash never leaves a half-written artifact. The one
implementation for the whole codebase (the orchestration layer's manifests skip files whose name
contains :data:`TMP_TAG`); temp folders that dead processes left are removed by the next folder
write beside them (:func:`clean_stale_temps`).

A write that fails because the filesystem is full raises :class:`DiskFullError` (an
``OSError`` with errno ``ENOSPC``) saying "no space left on device" and naming the target, and
leaves neither the temp file nor a changed target behind. Some writers do not report a full disk
as such (``torch.save`` raises ``RuntimeError: ... unexpected pos``): a failing ``OSError`` or
``RuntimeError`` is taken as a full disk when an ``ENOSPC`` error is among its causes or when
less than :data:`LOW_SPACE_BYTES` are left on the target's filesystem, measured before the temp
file is removed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

__all__ = [
    "LOW_SPACE_BYTES",
    "TMP_TAG",
    "DiskFullError",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_dir",
    "atomic_write_text",
    "clean_stale_temps",
    "file_sha256",
    "fsync_dir",
]

TMP_TAG = ".tmp-"
LOW_SPACE_BYTES = 1 << 20
_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


class DiskFullError(OSError):
    """Writing ``path`` failed because its filesystem is full (errno ``ENOSPC``)."""

    def __init__(self, path: str | Path, detail: str = "") -> None:
        msg = f"{path}: no space left on device"
        super().__init__(errno.ENOSPC, f"{msg} ({detail})" if detail else msg, str(path))

    def __str__(self) -> str:
        return str(self.strerror)


def _is_disk_full(exc: BaseException, folder: Path) -> bool:
    """True when ``exc`` (or a cause of it) is ENOSPC / EDQUOT, or when it is an OSError or
    RuntimeError and ``folder``'s filesystem has less than LOW_SPACE_BYTES left."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in _FULL_ERRNOS:
            return True
        e = e.__cause__ or e.__context__
    if isinstance(exc, OSError | RuntimeError):
        try:
            return shutil.disk_usage(folder).free < LOW_SPACE_BYTES
        except OSError:
            return False
    return False


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
    it to ``path``. The temp file is removed if ``writer`` fails; a full disk raises
    :class:`DiskFullError`. ``fsync``: flush the file and the folder (for artifacts that must
    survive a power cut). Returns ``path``."""
    path = Path(path)
    tmp = _temp_beside(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        writer(str(tmp))
        if fsync:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:
        if isinstance(exc, DiskFullError) or not _is_disk_full(exc, path.parent):
            raise
        detail = f"{type(exc).__name__}: {str(exc)[:200]}"
        tmp.unlink(missing_ok=True)
        raise DiskFullError(path, detail) from None
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


T = TypeVar("T")


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temps(folder: Path) -> None:
    """Remove the temp folders/files and moved-aside old folders that dead processes left in
    ``folder`` (names carry the writer's pid: ``…{TMP_TAG}<pid>-…`` or ``….old-<pid>-…``)."""
    if not folder.is_dir():
        return
    for p in folder.iterdir():
        if TMP_TAG not in p.name and ".old-" not in p.name:
            continue
        tag = p.name.split(TMP_TAG)[-1] if TMP_TAG in p.name else p.name.split(".old-")[-1]
        try:
            pid = int(tag.split("-")[0])
        except ValueError:
            continue
        if _pid_alive(pid):  # incl. this process: other threads write folders here concurrently
            continue
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def atomic_write_dir(out_dir: str | Path, body: Callable[[Path], T]) -> T:
    """``body(tmp)`` fills a hidden temp sibling of ``out_dir``; when it returns, the temp
    folder replaces ``out_dir`` (an existing one is moved aside, then removed) and ``body``'s
    result is returned. If ``body`` fails the temp folder is removed and ``out_dir`` is left as
    it was. Stale temp folders of dead processes beside ``out_dir`` are removed first."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(out_dir.parent)
    tmp = out_dir.with_name(f".{out_dir.name}{TMP_TAG}{os.getpid()}-{secrets.token_hex(3)}")
    tmp.mkdir()
    try:
        res = body(tmp)
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}-{secrets.token_hex(3)}")
            os.replace(out_dir, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, out_dir)
        fsync_dir(out_dir.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return res
