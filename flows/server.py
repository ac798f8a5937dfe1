"""A Prefect API server on loopback for the duration of a run (demo, tests).

Prefect 3 without a server starts a temporary one in every process (~20-25 s each); a DVC
pipeline of many short stages therefore shares one server instead: ``start_server`` launches
``prefect server start --host 127.0.0.1`` on a free port and returns its URL; ``stop_server``
stops it by its PID (process group).

The server never outlives the process that started it (its *owner*), even when the owner is
killed with SIGKILL and no cleanup code runs. Three layers, from the fastest to the fallback:

1. **Kernel parent-death signal.** The server is not ``prefect`` itself but this file run as a
   small launcher (``python flows/server.py --owner PID ... -- server start ...``) that arms
   ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` and then runs Prefect's CLI in the same process: Linux
   sends SIGTERM the moment the owner dies and uvicorn shuts down cleanly. No ``preexec_fn`` is
   used (it is not safe in a threaded owner). The kernel ties the signal to the *thread* that
   forked the child, so it is armed only when ``start_server`` runs on the owner's main thread.
   After arming, the launcher checks that its parent is still the owner (the owner may have
   died in between, when no signal would come) and exits if not.
2. **Watchdog thread.** A daemon thread in the launcher polls ``os.getppid()``; when the owner
   process is gone the server is re-parented, the thread sends the server SIGTERM and, if it is
   still alive after a grace period, SIGKILL. This covers other platforms, owners that started
   the server from a worker thread, and a server that ignores SIGTERM.
3. **State record and sweep.** ``start_server`` writes ``<log_dir>/artic3d-server-<port>.json``
   (server pid, port, URL, start time, owner pid, and both processes' kernel start ticks so a
   reused PID is never mistaken for them); every ``start_server`` first calls
   :func:`reap_stale_servers`, which kills (process group) a recorded server whose owner is dead.
   ``stop_server`` removes the record. The name differs from Prefect's own ``server.pid`` (used
   by ``prefect server start --background`` / ``prefect server stop`` in ``PREFECT_HOME``).

A live server of another, still running owner is not reused: its owner stops it when it ends,
which would pull the server from under a second run. Each run starts its own (a few seconds).
The server runs in its own process group (``start_new_session``) so Ctrl-C in a terminal
reaches the owner only, and ``stop_server`` signals the whole group.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

RECORD_GLOB = "artic3d-server-*.json"
_PR_SET_PDEATHSIG = 1
_WATCH_INTERVAL = 0.5  # s between parent checks in the launcher's watchdog thread
_KILL_GRACE = 10.0  # s between SIGTERM and SIGKILL when the owner is gone


@dataclass
class PrefectServer:
    proc: subprocess.Popen
    url: str  # http://127.0.0.1:<port>/api
    log: Path
    record: Path | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_ticks(pid: int) -> int | None:
    """The kernel start time of ``pid`` (clock ticks since boot; Linux), None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # field 22; the command name (field 2) may contain spaces, so split after its ')'
    return int(stat.rsplit(")", 1)[1].split()[19])


def is_alive(pid: int, ticks: int | None = None) -> bool:
    """True if ``pid`` runs (not a zombie) and, when ``ticks`` is given, is that same process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # exited, not yet reaped by its (new) parent
        return False
    return ticks is None or int(fields[19]) == ticks


def _kill_group(pid: int, ticks: int | None, timeout: float = 10.0) -> None:
    """SIGTERM the process group led by ``pid``, SIGKILL if it lingers (not our child: poll)."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        if not is_alive(pid, ticks):
            return
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        t0 = time.monotonic()
        while time.monotonic() - t0 < wait and is_alive(pid, ticks):
            time.sleep(0.1)


def reap_stale_servers(log_dir: str | Path) -> list[int]:
    """Kill the recorded servers under ``log_dir`` whose owner is dead; drop dead records.

    Returns the PIDs that were signalled. A record whose server is still owned by a live
    process is left alone."""
    killed = []
    for rec in sorted(Path(log_dir).glob(RECORD_GLOB)):
        try:
            d = json.loads(rec.read_text())
            pid, ticks = int(d["pid"]), d.get("start_ticks")
            owner, owner_ticks = int(d["owner_pid"]), d.get("owner_start_ticks")
        except (OSError, ValueError, KeyError, TypeError):
            rec.unlink(missing_ok=True)
            continue
        if is_alive(pid, ticks):
            if is_alive(owner, owner_ticks):
                continue
            _kill_group(pid, ticks)
            killed.append(pid)
        rec.unlink(missing_ok=True)
    return killed


def _write_record(log_dir: Path, proc: subprocess.Popen, port: int, url: str) -> Path:
    rec = log_dir / f"artic3d-server-{port}.json"
    data = {
        "pid": proc.pid,
        "port": port,
        "url": url,
        "started": time.time(),
        "start_ticks": start_ticks(proc.pid),
        "owner_pid": os.getpid(),
        "owner_start_ticks": start_ticks(os.getpid()),
    }
    tmp = rec.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, rec)
    return rec


def start_server(
    log_dir: str | Path, port: int | None = None, timeout: float = 180.0, ui: bool = True
) -> PrefectServer:
    """Start a loopback Prefect server owned by this process; wait until ``/api/health``
    answers. Stale servers recorded under ``log_dir`` (dead owner) are killed first."""
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    reap_stale_servers(log_dir)
    port = port or free_port()
    log = log_dir / f"prefect-server-{port}.log"
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env["PREFECT_UI_ENABLED"] = "true" if ui else "false"
    pdeathsig = threading.current_thread() is threading.main_thread()
    cmd = [sys.executable, str(Path(__file__).resolve()), "--owner", str(os.getpid())]
    cmd += ["--pdeathsig"] if pdeathsig else []
    cmd += ["--", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("ab") as f:
        proc = subprocess.Popen(
            cmd, stdout=f, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}/api"
    server = PrefectServer(proc, url, log, _write_record(log_dir, proc, port, url))
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            stop_server(server)
            raise RuntimeError(f"prefect server exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return server
        except OSError:
            time.sleep(0.5)
    stop_server(server)
    raise TimeoutError(f"prefect server did not answer on {url} within {timeout:.0f} s; see {log}")


def stop_server(server: PrefectServer, timeout: float = 20.0) -> None:
    """SIGTERM the server's process group (its PID), SIGKILL if it lingers; drop its record."""
    try:
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
    finally:
        if server.record is not None:
            server.record.unlink(missing_ok=True)


# --- the launcher: runs in the server process (stdlib only until Prefect's CLI is imported) ---


def _arm_pdeathsig(sig: int) -> bool:
    """``prctl(PR_SET_PDEATHSIG, sig)`` (Linux): the kernel signals us when the parent dies."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_owner(owner: int) -> None:
    """Runs in a daemon thread: SIGTERM this process once the owner is gone, SIGKILL later."""
    while os.getppid() == owner:
        time.sleep(_WATCH_INTERVAL)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(_KILL_GRACE)
    os.kill(os.getpid(), signal.SIGKILL)


def _launch(argv: list[str]) -> int:
    """``--owner PID [--pdeathsig] -- <prefect CLI args>``: guard, then run Prefect's CLI."""
    sep = argv.index("--")
    opts, prefect_args = argv[:sep], argv[sep + 1 :]
    owner = int(opts[opts.index("--owner") + 1])
    if "--pdeathsig" in opts:
        _arm_pdeathsig(signal.SIGTERM)
    if os.getppid() != owner:  # the owner died before the guard was in place
        return 1
    threading.Thread(target=_watch_owner, args=(owner,), daemon=True, name="owner-watch").start()
    # run as a file, Python put flows/ first on sys.path: its modules (tables, pipeline, ...)
    # would shadow installed packages of the same name
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.argv = ["prefect", *prefect_args]
    from prefect.cli import app

    return app() or 0


if __name__ == "__main__":
    sys.exit(_launch(sys.argv[1:]))
