"""DVC (slow): in a temp git copy of the project, `dvc repro` runs the stages once; a second
repro runs none; a parameter change reruns only the stages that read it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from flows.server import start_server, stop_server

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


def _copy_project(dst: Path) -> None:
    files = _git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard").split("\n")
    for f in filter(None, files):
        src = ROOT / f
        if src.is_file():
            (dst / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / f)


def _repro(cwd: Path, env: dict, *targets: str) -> str:
    res = subprocess.run(
        [str(BIN / "dvc"), "repro", *targets], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def _ran(out: str) -> list[str]:
    return [ln.split("'")[1] for ln in out.splitlines() if ln.startswith("Running stage")]


def test_second_repro_runs_nothing_and_params_are_precise(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    _copy_project(proj)
    params = yaml.safe_load((proj / "params.yaml").read_text())
    params["pipeline"]["cells"] = ["synthetic/zebra"]
    params["synth"].update(
        classes=["zebra"], n_clean=3, n_occluded=1, image_size=64, contact_sheet=False
    )
    params["features"].update(backend="offline", mask_size=64)
    params["features"]["offline"]["work_size"] = 64
    params["device"] = "cpu"
    (proj / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _git(proj, "init", "-q")
    _git(proj, "add", "-A")
    _git(proj, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "copy")

    srv = start_server(tmp_path, ui=False)
    try:
        env = dict(
            os.environ, PREFECT_API_URL=srv.url, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}"
        )
        env["PREFECT_HOME"] = str(proj / ".prefect")
        target = "preprocess@synthetic/zebra-hi-lassie"
        first = _ran(_repro(proj, env, target))
        assert first == ["synth", "data@synthetic/zebra", target]
        assert (proj / "runs/synthetic/zebra/hi-lassie/preprocess/features/manifest.json").is_file()
        assert _ran(_repro(proj, env, target)) == []  # second repro: no stage runs
        # an eval parameter does not touch preprocessing
        params["eval"]["pck_threshold"] = 0.2
        (proj / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        assert _ran(_repro(proj, env, target)) == []
        # a features parameter reruns preprocess only (not synth, not data)
        params["features"]["pca_dim"] = 10
        (proj / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        assert _ran(_repro(proj, env, target)) == [target]
    finally:
        stop_server(srv)
