"""A Prefect API server on loopback for the duration of a run (demo, tests).

Prefect 3 without a server starts a temporary one in every process (~20-25 s each); a DVC
pipeline of many short stages therefore shares one server instead: ``start_server`` launches
``prefect server start --host 127.0.0.1`` on a free port and returns its URL; ``stop_server``
stops it by its PID (process group).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path


@dataclass
class PrefectServer:
    proc: subprocess.Popen
    url: str  # http://127.0.0.1:<port>/api
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    log_dir: str | Path, port: int | None = None, timeout: float = 180.0, ui: bool = True
) -> PrefectServer:
    """Start a loopback Prefect server; wait until ``/api/health`` answers."""
    port = port or free_port()
    log = Path(log_dir) / f"prefect-server-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env["PREFECT_UI_ENABLED"] = "true" if ui else "false"
    prefect = Path(sys.executable).with_name("prefect")
    cmd = [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("ab") as f:
        proc = subprocess.Popen(
            cmd, stdout=f, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}/api"
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return PrefectServer(proc, url, log)
        except OSError:
            time.sleep(0.5)
    stop_server(PrefectServer(proc, url, log))
    raise TimeoutError(f"prefect server did not answer on {url} within {timeout:.0f} s; see {log}")


def stop_server(server: PrefectServer, timeout: float = 20.0) -> None:
    """SIGTERM the server's process group (its PID), SIGKILL if it lingers."""
    if server.proc.poll() is not None:
        return
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.proc.wait(5)
    except ProcessLookupError:
        pass
