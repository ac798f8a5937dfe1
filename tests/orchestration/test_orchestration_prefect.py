"""Prefect end to end (slow): a loopback server, the flow and its artifacts through the client,
and the Dask fan-out giving the same results as the sequential run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from flows.server import start_server, stop_server

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    srv = start_server(tmp_path_factory.mktemp("prefect-log"), ui=False)
    old = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = srv.url  # inherited by Dask worker processes too
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: srv.url}):
        yield srv
    if old is None:
        os.environ.pop("PREFECT_API_URL", None)
    else:
        os.environ["PREFECT_API_URL"] = old
    pid = srv.pid
    stop_server(srv)
    assert srv.proc.poll() is not None, f"server pid {pid} still running"


def test_reconstruct_class_against_server_has_run_and_table_artifact(
    server, tiny_root: Path, overrides_for
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.reconstruct_class import reconstruct_class

    assert server.url.startswith("http://127.0.0.1:")
    state = reconstruct_class(
        "synthetic",
        "zebra",
        "hi-lassie",
        ["data", "preprocess"],
        str(ROOT / "params.yaml"),
        overrides_for(tiny_root),
        "cpu",
        return_state=True,
    )
    assert state.is_completed(), state
    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        assert run.state.is_completed()
        flow = client.read_flow(run.flow_id)
        assert flow.name == "reconstruct-class"
        arts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    by_type = {a.type: a for a in arts}
    assert {"table", "markdown"} <= set(by_type)
    table = by_type["table"].data
    rows = json.loads(table) if isinstance(table, str) else table
    stages = [r["stage"] for r in rows]
    assert stages == ["data", "features"]
    assert all(Path(r["path"]).is_dir() for r in rows)


def _without_wall_time(obj):
    """JSON content with its wall-time fields (``seconds``) removed: two runs of the same unit
    agree on everything but how long it took."""
    if isinstance(obj, dict):
        return {k: _without_wall_time(v) for k, v in obj.items() if k != "seconds"}
    if isinstance(obj, list):
        return [_without_wall_time(v) for v in obj]
    return obj


def _unit_hashes(run_dir: Path) -> dict[str, str]:
    """Per unit folder: its files' sha256, except JSON files, which are compared by content
    without wall times."""
    out = {}
    for m in sorted(run_dir.rglob("manifest.json")):
        d = json.loads(m.read_text())
        rel = m.parent.relative_to(run_dir).as_posix()
        files = {}
        for name, rec in d["files"].items():
            path = m.parent / name
            if name.endswith(".json") and path.is_file():
                files[name] = _without_wall_time(json.loads(path.read_text()))
            else:
                files[name] = rec["sha256"]
        out[rel] = json.dumps(files, sort_keys=True)
    return out


def test_dask_local_cluster_matches_sequential(
    server, tiny_root: Path, tmp_path: Path, overrides_for
):

    from flows.benchmark import run_benchmark

    results = {}
    for name, workers in (("seq", None), ("dask", 2)):
        ov = [*overrides_for(tiny_root), f"pipeline.run_dir={tmp_path}/{name}"]
        res = run_benchmark(
            str(ROOT / "params.yaml"),
            ov,
            dask_workers=workers,
            methods=["hi-lassie", "hi-lassie+"],
            stages=["data", "preprocess"],
            publish_tables=False,
        )
        assert all(r["ok"] for r in res.values()), res
        results[name] = _unit_hashes(tmp_path / name)
    assert results["seq"] and set(results["seq"]) == set(results["dask"])
    assert any("features" in k for k in results["seq"])
    assert results["seq"] == results["dask"]
