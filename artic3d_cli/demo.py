"""``make demo``: generate the synthetic demo preset and ``dvc repro`` it, then print the table.

Runs offline on CPU with the tiny (random-weight) prior, every stage, the three methods, clean
and occluded sets. A loopback Prefect server is started for the run (unless ``PREFECT_API_URL``
is set) so every DVC stage reports to one place; it is stopped at the end, and it exits by itself
if this process is killed before that (see ``flows.server``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from artic3d_core.env import set_process_defaults

ROOT = Path(__file__).resolve().parent.parent


def stage_times(run_dir: Path) -> dict[str, float]:
    """Seconds spent per unit stage, summed over the manifests under ``run_dir``."""
    out: dict[str, float] = defaultdict(float)
    for m in run_dir.rglob("manifest.json"):
        try:
            d = json.loads(m.read_text())
        except (OSError, ValueError):
            continue
        out[d.get("stage", "?")] += float(d.get("seconds", 0.0))
    return dict(out)


def main(argv: list[str] | None = None) -> int:
    set_process_defaults(ROOT)
    os.chdir(ROOT)
    from artic3d_core.config import ConfigError, load_params

    try:
        params = load_params(ROOT / "params.yaml")
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    dvc = str(Path(sys.executable).with_name("dvc"))
    if not (ROOT / ".dvc").is_dir():
        subprocess.run([dvc, "init", "-q"], check=True)
    server = None
    if not os.environ.get("PREFECT_API_URL"):
        from flows.server import start_server

        print("starting a Prefect server on 127.0.0.1 (UI at the printed address) ...", flush=True)
        server = start_server(ROOT / ".prefect", ui=True)
        os.environ["PREFECT_API_URL"] = server.url
        print(f"Prefect UI: {server.url.removesuffix('/api')}  (pid {server.pid})", flush=True)
    t0 = time.monotonic()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    try:
        rc = subprocess.run([dvc, "repro", *(argv or [])], env=env).returncode
    finally:
        if server is not None:
            from flows.server import stop_server

            stop_server(server)
    wall = time.monotonic() - t0
    run_dir = ROOT / params.pipeline.run_dir
    times = stage_times(run_dir) if run_dir.is_dir() else {}
    print("\nwall time by unit stage (s, summed over cells, this and earlier runs):")
    for k, v in sorted(times.items(), key=lambda kv: -kv[1]):
        print(f"  {k:<12} {v:8.1f}")
    print(f"  {'dvc repro':<12} {wall:8.1f} (this run, wall)")
    table = ROOT / params.pipeline.reports_dir / "README.md"
    if rc != 0:
        print(f"\ndvc repro failed (exit {rc}); the message above names the stage and why.")
        return rc
    if table.is_file():
        print("\n" + table.read_text())
    print(
        f"results: {run_dir}  metrics: {ROOT / params.pipeline.metrics_dir}  tables: {table.parent}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
