"""A run killed with SIGKILL and started again ends exactly where an uninterrupted run ends.

Real processes: ``artic3d run`` killed in its joint stages (after a stage that optimises the
part codes) and again in its instance stages, then finished; and ``dvc repro`` killed in its
``optimise`` stage, then repeated. Final metrics and every checkpoint / model file must equal
the uninterrupted run's, tensor for tensor. A shortened demo schedule keeps each process to
about a minute on 2 cores; still `slow`.
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
import torch
import yaml

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def short_params(dst: Path, root: Path) -> Path:
    """The repository's params.yaml with every demo stage at a fifth of its iterations (at
    least 3), 3 clean + 1 occluded zebra images at 64², 2 instances, all paths under ``root``."""
    p = yaml.safe_load((ROOT / "params.yaml").read_text())
    for st in p["optim"]["schedules"]["demo"]:
        st["iters"] = max(3, st["iters"] // 5)
    p["optim"]["progress"] = False
    p["device"] = "cpu"
    p["data"]["synthetic_root"] = str(root / "data" / "synthetic" / "demo")
    p["synth"]["out_dir"] = p["data"]["synthetic_root"]
    p["pipeline"].update(
        run_dir=str(root / "runs"),
        metrics_dir=str(root / "metrics"),
        reports_dir=str(root / "reports"),
    )
    p["synth"].update(
        classes=["zebra"], n_clean=3, n_occluded=1, image_size=64, contact_sheet=False
    )
    p["pipeline"].update(max_instances=2, animate=False)
    p["features"].update(mask_size=64)
    p["features"]["offline"].update(work_size=64)
    dst.write_text(yaml.safe_dump(p, sort_keys=False))
    return dst


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "2"}


def _cli(params: Path, cwd: Path) -> list[str]:
    return [
        sys.executable, "-m", "artic3d_cli.main", "run", "--params", str(params),
        "--cls", "zebra", "--no-outputs",
    ]  # fmt: skip


def _run(cmd: list[str], cwd: Path) -> None:
    r = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]


def _kill_when(cmd: list[str], cwd: Path, root: Path, pattern: str, timeout: float = 1200) -> str:
    """Start ``cmd``; SIGKILL it as soon as a file matching ``pattern`` exists under ``root``.
    Returns the file that triggered the kill."""
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < timeout:
            hits = [p for p in root.rglob(pattern) if ".tmp-" not in p.name]
            if hits:
                proc.send_signal(signal.SIGKILL)
                proc.wait(30)
                return str(hits[0].relative_to(root))
            if proc.poll() is not None:
                pytest.fail(f"{cmd[:4]} exited ({proc.returncode}) before {pattern} appeared")
            time.sleep(0.05)
        pytest.fail(f"{pattern} did not appear within {timeout} s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    return ""


def _tensors(obj, prefix: str = "") -> dict[str, torch.Tensor]:
    if torch.is_tensor(obj):
        return {prefix: obj}
    if isinstance(obj, dict):
        out: dict[str, torch.Tensor] = {}
        for k, v in obj.items():
            out.update(_tensors(v, f"{prefix}/{k}"))
        return out
    return {}


def final_state(run_root: Path) -> tuple[dict[str, dict[str, torch.Tensor]], list[dict]]:
    """Every tensor of every .pt file under ``run_root`` (by relative path) and every eval
    summary / metrics file's numbers (timings dropped)."""
    pts = {
        str(p.relative_to(run_root)): _tensors(torch.load(p, weights_only=True))
        for p in sorted(run_root.rglob("*.pt"))
    }
    metrics = []
    for p in sorted(run_root.rglob("*.json")):
        if p.parent.name == "eval" and p.name != "manifest.json":
            d = json.loads(p.read_text())
            metrics.append(
                {
                    k: v
                    for k, v in d.items()
                    if isinstance(v, int | float)
                    and k.rsplit("/", 1)[-1] not in ("minutes", "seconds")
                }
            )
    return pts, metrics


def assert_same(a, b) -> None:
    pts_a, met_a = a
    pts_b, met_b = b
    assert sorted(pts_a) == sorted(pts_b)
    for f, ta in pts_a.items():
        tb = pts_b[f]
        assert ta.keys() == tb.keys(), f
        diff = [k for k in ta if not torch.equal(ta[k], tb[k])]
        assert not diff, f"{f}: {diff[:5]}"
    assert met_a == met_b and met_a


@pytest.fixture(scope="module")
def cli_reference(tmp_path_factory) -> tuple:
    root = tmp_path_factory.mktemp("uninterrupted")
    params = short_params(root / "params.yaml", root)
    _run(_cli(params, root), root)
    return final_state(root / "runs")


@pytest.mark.fault(
    "SIGKILL of artic3d run in joint, then instance stages",
    result="identical to uninterrupted",
    data_lost="none (the running stage is redone)",
)
def test_cli_killed_in_joint_and_in_instance_stages_resumes_to_the_same_result(
    cli_reference, tmp_path
):
    params = short_params(tmp_path / "params.yaml", tmp_path)
    cmd = _cli(params, tmp_path)
    runs = tmp_path / "runs"
    # after base_shape_2: the part codes have moved since the first stage
    hit = _kill_when(cmd, tmp_path, runs, "stage_05_*.pt")
    assert "stage_05" in hit
    hit = _kill_when(cmd, tmp_path, runs, "stage_00_instance_shape.pt")
    assert "instance" in hit
    _run(cmd, tmp_path)
    assert_same(cli_reference, final_state(runs))


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


def _dvc_project(dst: Path) -> Path:
    """A git copy of the project whose params run one tiny cell × method (2 instances)."""
    dst.mkdir()
    files = _git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard").split("\n")
    for f in filter(None, files):
        src = ROOT / f
        if src.is_file():
            (dst / f).parent.mkdir(parents=True, exist_ok=True)
            (dst / f).write_bytes(src.read_bytes())
    params = dst / "params.yaml"
    short_params(params, dst)
    p = yaml.safe_load(params.read_text())
    for k in ("synthetic_root",):
        p["data"][k] = "data/synthetic/demo"
    p["synth"]["out_dir"] = "data/synthetic/demo"
    p["pipeline"].update(
        run_dir="runs", metrics_dir="metrics", reports_dir="reports", cells=["synthetic/zebra"],
        methods=["hi-lassie"],
    )  # fmt: skip
    params.write_text(yaml.safe_dump(p, sort_keys=False))
    _git(dst, "init", "-q")
    _git(dst, "add", "-A")
    _git(dst, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "copy")
    return dst


TARGET = "eval@synthetic/zebra-hi-lassie"


def _dvc(proj: Path, env: dict) -> list[str]:
    return [str(Path(sys.executable).parent / "dvc"), "repro", TARGET]


def _dvc_env(proj: Path, url: str) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return {
        **_env(),
        "PREFECT_API_URL": url,
        "PREFECT_HOME": str(proj / ".prefect"),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }


@pytest.mark.fault(
    "SIGKILL of dvc repro in optimise",
    result="identical to uninterrupted",
    data_lost="none (the running stage is redone)",
)
def test_dvc_repro_killed_in_optimise_resumes_to_the_same_result(tmp_path):
    from flows.server import start_server, stop_server

    srv = start_server(tmp_path, ui=False)
    try:
        ref = _dvc_project(tmp_path / "ref")
        env = _dvc_env(ref, srv.url)
        r = subprocess.run(_dvc(ref, env), cwd=ref, env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]

        proj = _dvc_project(tmp_path / "killed")
        env = _dvc_env(proj, srv.url)
        # the whole process group: dvc and the flow process it started
        proc = subprocess.Popen(
            _dvc(proj, env), cwd=proj, env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            t0 = time.monotonic()
            while not list((proj / "runs").rglob("stage_05_*.pt")):
                assert proc.poll() is None, "dvc repro ended before the joint stages"
                assert time.monotonic() - t0 < 1500
                time.sleep(0.05)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        r = subprocess.run(_dvc(proj, env), cwd=proj, env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        assert_same(final_state(ref / "runs"), final_state(proj / "runs"))
    finally:
        stop_server(srv)
