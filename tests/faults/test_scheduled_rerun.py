"""The scheduled benchmark rerun, exercised end to end with real processes (slow).

Both ways the project offers, each against a loopback Prefect server with a private
``PREFECT_HOME`` and a tiny temp params file:

* ``prefect.yaml``: a ``process`` work pool, the ``scheduled-benchmark`` deployment registered
  with ``prefect deploy`` (a short ``--interval`` schedule added to its cron) and a worker;
* ``python -m flows.serve --interval``: the flow serves itself.

Each test waits for a run the scheduler created to complete, checks the metric rows it wrote
(parquet) and its table artifacts, stops what it started by PID and checks nothing is left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from flows.server import is_alive, start_server, stop_server

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
POOL = "artic3d"  # the pool named in prefect.yaml
INTERVAL_S = 20
RUN_TIMEOUT_S = 900


def tiny_params(root: Path) -> Path:
    """A params file for a run of about a minute: one synthetic zebra (3 clean images at 64²),
    ground-truth (oracle) features, one method, one instance, no animation, a 2-iteration
    schedule at 32², small evaluation renders; every output under ``root``."""
    p = yaml.safe_load((ROOT / "params.yaml").read_text())
    data = str(root / "data/synthetic/demo")
    p["device"] = "cpu"
    p["synth"].update(out_dir=data, classes=["zebra"], n_clean=3, n_occluded=0, image_size=64)
    p["synth"]["contact_sheet"] = False
    p["data"]["synthetic_root"] = data
    p["features"].update(backend="oracle", mask_size=64)
    p["pipeline"].update(
        run_dir=str(root / "runs"),
        metrics_dir=str(root / "metrics"),
        reports_dir=str(root / "reports"),
        cells=["synthetic/zebra"],
        methods=["hi-lassie"],
        synthetic_sets=["clean"],
        max_instances=1,
        animate=False,
    )
    p["eval"].update(render_size=32, clip_n_azimuths=4)
    p["optim"].update(progress=False, prior_level=1, demo_prior_level=1, schedule="tiny")
    p["optim"]["schedules"]["tiny"] = [
        dict(s, iters=2, image_size=32, mesh_level=1, faces_per_pixel=4)
        for s in p["optim"]["schedules"]["demo"]
    ]
    root.mkdir(parents=True, exist_ok=True)
    out = root / "params.yaml"
    out.write_text(yaml.safe_dump(p, sort_keys=False))
    return out


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d.name))
    return kids


def descendants(pid: int) -> set[int]:
    """``pid`` and every process below it (Linux /proc)."""
    kids, out, todo = _children(), set(), [pid]
    while todo:
        p = todo.pop()
        if p not in out:
            out.add(p)
            todo += kids.get(p, [])
    return out


def _prefect(env: dict[str, str], *args: str) -> str:
    res = subprocess.run(
        [str(BIN / "prefect"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, f"prefect {' '.join(args)}:\n{res.stdout}\n{res.stderr}"
    return res.stdout


def _stop_group(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGTERM the process group (the worker and the flow runs it started), SIGKILL if needed."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _wait_completed_scheduled_run(client, deployment_id, runner, log: Path):
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterDeploymentId

    flt = FlowRunFilter(deployment_id=FlowRunFilterDeploymentId(any_=[deployment_id]))
    paused = False
    t0 = time.monotonic()
    while time.monotonic() - t0 < RUN_TIMEOUT_S:
        runs = client.read_flow_runs(flow_run_filter=flt)
        if not paused and any(r.state and not r.state.is_scheduled() for r in runs):
            # one run is enough: no further runs pile up behind it on 2 cores
            client.pause_deployment(deployment_id)
            paused = True
        for r in runs:
            if r.state and r.state.is_completed():
                return r
            if r.state and r.state.is_final():
                pytest.fail(f"run {r.name} ended {r.state.type}: {r.state.message}\n{_tail(log)}")
        assert runner.poll() is None, f"runner exited {runner.returncode}\n{_tail(log)}"
        time.sleep(2)
    pytest.fail(f"no scheduled run completed within {RUN_TIMEOUT_S} s\n{_tail(log)}")


def _tail(p: Path, n: int = 4000) -> str:
    return p.read_text(errors="replace")[-n:] if p.is_file() else ""


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as f:
        return subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True
        )


def _deploy_and_start_worker(env: dict[str, str], params_file: Path, log: Path):
    """``prefect.yaml`` path: work pool, ``prefect deploy``, then a worker (what the file's
    header says to run)."""
    _prefect(env, "work-pool", "create", POOL, "--type", "process")
    out = _prefect(
        env,
        "--no-prompt",
        "deploy",
        "--prefect-file",
        str(ROOT / "prefect.yaml"),
        "--name",
        "scheduled-benchmark",
        "--interval",
        str(INTERVAL_S),
        "--params",
        json.dumps({"params_file": str(params_file)}),
    )
    assert "scheduled-benchmark" in out, out
    cmd = [str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--limit", "1"]
    return _start(cmd, env, log)


def _serve(env: dict[str, str], params_file: Path, log: Path):
    """``flows.serve`` path: the flow serves its own deployment."""
    cmd = [sys.executable, "-m", "flows.serve", "--params", str(params_file)]
    return _start([*cmd, "--interval", str(INTERVAL_S)], env, log)


def _read_deployment(client, timeout: float = 180.0):
    """The deployment, once registered (``flows.serve`` registers it after it started)."""
    from prefect.exceptions import ObjectNotFound

    t0 = time.monotonic()
    while True:
        try:
            return client.read_deployment_by_name("benchmark/scheduled-benchmark")
        except ObjectNotFound:
            if time.monotonic() - t0 > timeout:
                raise
            time.sleep(2)


@pytest.mark.fault(
    "scheduled benchmark rerun (work pool; serve)",
    result="run completes with rows + artifacts",
    data_lost="none",
)
@pytest.mark.parametrize("how", ["work-pool", "serve"])
def test_scheduled_benchmark_run_completes_with_metrics_and_artifacts(
    how: str, tmp_path: Path, monkeypatch
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    from artic3d_core.config import load_params
    from artic3d_core.metrics.store import read_metrics
    from tasks.synth import run_synth

    t_start = time.monotonic()
    proj = tmp_path / "proj"
    params_file = tiny_params(proj)
    run_synth(load_params(params_file), str(proj))
    home = tmp_path / "prefect-home"
    home.mkdir()
    monkeypatch.setenv("PREFECT_HOME", str(home))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)

    started: set[int] = set()
    server = start_server(tmp_path / "server", ui=False)
    runner = None
    log = tmp_path / "runner.log"
    try:
        started |= descendants(server.pid)
        assert server.url.startswith("http://127.0.0.1:")
        env = dict(
            os.environ,
            PYTHONPATH=str(ROOT),
            PREFECT_HOME=str(home),
            PREFECT_API_URL=server.url,
            PREFECT_WORKER_QUERY_SECONDS="2",
            PREFECT_WORKER_PREFETCH_SECONDS="5",
            PREFECT_RUNNER_POLL_FREQUENCY="2",
        )
        start = _deploy_and_start_worker if how == "work-pool" else _serve
        runner = start(env, params_file, log)
        started.add(runner.pid)

        with (
            temporary_settings({PREFECT_API_URL: server.url, PREFECT_HOME: home}),
            get_client(sync_client=True) as client,
        ):
            dep = _read_deployment(client)
            kinds = {type(s.schedule).__name__: s.schedule for s in dep.schedules}
            assert kinds["IntervalSchedule"].interval.total_seconds() == INTERVAL_S
            if how == "work-pool":
                assert dep.work_pool_name == POOL
                limit = dep.global_concurrency_limit  # prefect.yaml: one run at a time
                assert limit is not None and limit.limit == 1, limit
                # prefect deploy adds the --interval schedule to the cron of prefect.yaml
                assert set(kinds) == {"CronSchedule", "IntervalSchedule"}, kinds
                cron = load_params(ROOT / "params.yaml").pipeline.schedule_cron
                assert kinds["CronSchedule"].cron == cron
            t0 = time.monotonic()
            run = _wait_completed_scheduled_run(client, dep.id, runner, log)
            print(f"\n{how}: run {run.name} completed {time.monotonic() - t0:.0f} s after start")
            started |= descendants(runner.pid)
            assert run.auto_scheduled, "the run was not created by the scheduler"
            assert run.parameters["params_file"] == str(params_file)
            run_artifacts = client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
            )
            latest = client.read_latest_artifacts()
        by_key = {a.key: a for a in run_artifacts if a.key}
        cell_table = by_key.get("metrics-synthetic-zebra-hi-lassie")
        assert cell_table is not None and cell_table.type == "table", sorted(by_key)
        table = cell_table.data
        table = json.loads(table) if isinstance(table, str) else table
        bench = {a.key: a for a in latest}.get("benchmark-metrics")
        assert bench is not None and bench.type == "table", [a.key for a in latest]

        # the rows the run wrote: the cell's eval parquet and the gathered metrics store
        df = read_metrics(proj / "metrics/metrics.parquet")
        assert len(df) > 0
        assert set(df["cls"]) == {"zebra"} and set(df["method"]) == {"hi-lassie"}
        assert {"pck", "mask_iou"} <= set(df["metric"]), set(df["metric"])
        assert df["value"].notna().all()
        pck = df[df["metric"] == "pck"]["value"]
        assert ((pck >= 0) & (pck <= 100)).all()  # percent
        cell_df = read_metrics(proj / "runs/synthetic/zebra/hi-lassie/eval/metrics.parquet")
        assert len(table) == len(cell_df) == len(df)
        assert sorted(r["value"] for r in table) == pytest.approx(sorted(cell_df["value"]))
    finally:
        if runner is not None:
            started |= descendants(runner.pid)
            _stop_group(runner)
        started |= descendants(server.pid)
        stop_server(server)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 20 and any(is_alive(p) for p in started):
        time.sleep(0.2)
    left = sorted(p for p in started if is_alive(p))
    assert not left, f"still running after teardown: {left}"
    print(f"{how}: {time.monotonic() - t_start:.0f} s in all")
