"""A Prefect server started by a run never outlives it: real processes, owner killed with
SIGKILL (no cleanup code runs), server gone within seconds; stale records are swept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from flows.server import RECORD_GLOB, is_alive, reap_stale_servers, start_ticks

ROOT = Path(__file__).resolve().parents[2]

OWNER = """
import json, sys, time
from flows.server import start_server
s = start_server(sys.argv[1], ui=False, timeout=240)
print(json.dumps({"pid": s.pid, "url": s.url}), flush=True)
time.sleep(900)
"""


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PREFECT_API_URL", None)
    return env


def _wait_gone(pid: int, timeout: float) -> float | None:
    """Seconds until ``pid`` is gone, None if it still runs after ``timeout``."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if not is_alive(pid):
            return time.monotonic() - t0
        time.sleep(0.1)
    return None


@pytest.mark.slow
@pytest.mark.fault(
    "SIGKILL of a run that started a Prefect server",
    result="server exits with its owner",
    data_lost="none",
)
def test_server_dies_with_its_sigkilled_owner(tmp_path: Path):
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=tmp_path,
    )
    server_pid = None
    try:
        line = owner.stdout.readline()  # the owner prints once the server answers
        assert line, f"owner exited {owner.wait()} before the server answered"
        info = json.loads(line)
        server_pid = info["pid"]
        assert info["url"].startswith("http://127.0.0.1:")
        with urllib.request.urlopen(info["url"] + "/health", timeout=5) as r:
            assert r.status == 200
        assert is_alive(server_pid)
        (rec,) = tmp_path.glob(RECORD_GLOB)
        d = json.loads(rec.read_text())
        assert (d["pid"], d["owner_pid"]) == (server_pid, owner.pid)

        owner.send_signal(signal.SIGKILL)
        owner.wait(10)
        gone_after = _wait_gone(server_pid, 20.0)
        assert gone_after is not None, f"server pid {server_pid} outlived its owner by 20 s"
        # the record of the dead pair is dropped by the next run's sweep
        assert reap_stale_servers(tmp_path) == []
        assert list(tmp_path.glob(RECORD_GLOB)) == []
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait(10)
        if server_pid is not None and is_alive(server_pid):
            os.killpg(server_pid, signal.SIGKILL)


@pytest.mark.fault(
    "recorded server whose owner is dead", result="killed by the next start", data_lost="none"
)
def test_sweep_kills_a_recorded_server_whose_owner_is_dead(tmp_path: Path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live_owner = os.getpid()
    procs = [subprocess.Popen(["sleep", "60"], start_new_session=True) for _ in range(2)]
    try:
        for port, (p, owner) in enumerate(zip(procs, (dead.pid, live_owner), strict=True)):
            rec = {
                "pid": p.pid,
                "port": port,
                "url": "",
                "started": time.time(),
                "start_ticks": start_ticks(p.pid),
                "owner_pid": owner,
                "owner_start_ticks": start_ticks(owner),
            }
            (tmp_path / f"artic3d-server-{port}.json").write_text(json.dumps(rec))
        (tmp_path / "artic3d-server-9.json").write_text("{not json")
        assert reap_stale_servers(tmp_path) == [procs[0].pid]
        assert procs[0].wait(5) == -signal.SIGTERM
        assert procs[1].poll() is None  # its owner (this test) is alive: left alone
        assert [p.name for p in tmp_path.glob(RECORD_GLOB)] == ["artic3d-server-1.json"]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(5)
