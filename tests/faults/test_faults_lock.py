"""One writer per run folder: a second writer is refused with the holder named, and the lock of
a killed holder is free at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from artic3d_core.run_lock import RunFolderBusyError, RunFolderLock

ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import sys, time
from artic3d_core.run_lock import RunFolderLock
with RunFolderLock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(120)
"""


def _start_holder(folder: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert p.stdout is not None and p.stdout.readline().strip() == "locked"
    return p


@pytest.mark.fault(
    "second writer on a run folder; SIGKILLed holder",
    result="refused with holder named; lock freed",
    data_lost="none",
)
def test_second_writer_is_refused_and_a_killed_holder_frees_the_lock(tmp_path):
    holder = _start_holder(tmp_path)
    try:
        with (
            pytest.raises(RunFolderBusyError, match=f"pid {holder.pid} on "),
            RunFolderLock(tmp_path),
        ):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    with RunFolderLock(tmp_path) as lock:  # the kernel released the dead holder's lock
        assert f'"pid": {os.getpid()}' in lock.path.read_text()


@pytest.mark.fault(
    "writer waiting for a busy run folder", result="gets the lock on release", data_lost="none"
)
def test_waiting_writer_gets_the_lock_when_the_holder_finishes(tmp_path):
    first = RunFolderLock(tmp_path).acquire()
    threading.Timer(0.5, first.release).start()
    t0 = time.monotonic()
    with RunFolderLock(tmp_path, wait_s=10, poll_s=0.05):
        assert 0.3 < time.monotonic() - t0 < 10
    with pytest.raises(RunFolderBusyError), RunFolderLock(tmp_path), RunFolderLock(tmp_path):
        pass
