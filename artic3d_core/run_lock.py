"""One writer per run folder: an advisory lock file ``<folder>/.lock``.

The lock is an ``fcntl.flock`` on the file, held for the life of the :class:`RunFolderLock`
context. The kernel drops it when the holder exits in any way (SIGKILL and OOM kills
included), so a stale lock cannot block a later run; the file itself stays and records the
last holder (pid, host, start time, command) for the message a second writer gets. ``flock``
works between processes of one machine; on a network file system shared by several hosts it
may not, which is why the host is recorded and shown.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path

__all__ = ["LOCK_NAME", "RunFolderBusyError", "RunFolderLock"]

LOCK_NAME = ".lock"


class RunFolderBusyError(RuntimeError):
    """Another live process holds the run folder's lock."""


def _holder(path: Path) -> str:
    try:
        d = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return "another process"
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(d.get("started", 0)))
    return f"pid {d.get('pid')} on {d.get('host')} since {started} ({d.get('command', '?')})"


class RunFolderLock:
    """``with RunFolderLock(folder, wait_s=0):`` — refuse (or wait up to ``wait_s`` seconds)
    when another process (or another lock object) writes into ``folder``. ``name``: the lock
    file, for a folder that holds several independently written parts."""

    def __init__(
        self, folder: str | Path, wait_s: float = 0.0, poll_s: float = 0.5, name: str = LOCK_NAME
    ):
        self.folder = Path(folder)
        self.path = self.folder / name
        self.wait_s, self.poll_s = wait_s, poll_s
        self._fd: int | None = None

    def acquire(self) -> RunFolderLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise RunFolderBusyError(
                        f"{self.folder} is in use by {_holder(self.path)}; wait for it to "
                        "finish or stop it, or use another run folder (pipeline.run_dir)"
                    ) from None
                time.sleep(self.poll_s)
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.time(),
            "command": " ".join(sys.argv)[:300],
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunFolderLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
