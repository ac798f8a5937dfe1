"""Each mistake a new user makes on ``artic3d run`` is one or two lines naming what is wrong and
what would fix it, exit status 2, no traceback, within 5 s of starting: the checks run before
torch is imported. ``--debug`` shows the traceback instead. Real subprocesses, timed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
PARAMS = str(ROOT / "params.yaml")
LIMIT_S = 5.0


def _cli(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.monotonic()
    res = subprocess.run(
        [sys.executable, "-m", "artic3d_cli.main", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return res, time.monotonic() - t0


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """``photos/{horse,cow}/`` with 2 images, ``empty/`` with none, ``one/`` with one."""
    root = tmp_path_factory.mktemp("cli") / "photos"
    for cls, n in (("horse", 2), ("cow", 2), ("empty", 0), ("one", 1)):
        (root / cls).mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (16, 16), (200, 100, 50)).save(root / cls / f"{i}.png")
    return root


CASES = {
    "dataset typo": (["--dataset", "foldr"], ["unknown dataset 'foldr'", "did you mean 'folder'"]),
    "method typo": (["--method", "artic3"], ["unknown method 'artic3'", "did you mean 'artic3d'"]),
    "class typo": (
        ["--dataset", "folder", "--cls", "hrose"],
        ["hrose/", "did you mean 'horse'", "cow, empty, horse, one"],
    ),
    "missing root": (
        ["--dataset", "folder", "--cls", "horse", "--set", "data.folder_root=nowhere"],
        ["nowhere does not exist", "data.folder_root"],
    ),
    "empty class": (["--dataset", "folder", "--cls", "empty"], ["has no images", "at least 2"]),
    "one image": (["--dataset", "folder", "--cls", "one"], ["has 1 image", "data.min_images"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_mistake_is_a_short_error_exit_2_within_5s(case, photos) -> None:
    args, expected = CASES[case]
    full = ["run", *args, "--params", PARAMS, "--set", f"data.folder_root={photos}"]
    if "data.folder_root=nowhere" in args:
        full = ["run", *args, "--params", PARAMS]
    res, seconds = _cli(full, photos.parent)
    err = res.stderr.strip()
    assert res.returncode == 2, err
    assert "Traceback" not in err
    assert err.startswith("error: ") and 1 <= len(err.splitlines()) <= 2, err
    for text in expected:
        assert text in err
    assert seconds < LIMIT_S, f"{case}: {seconds:.1f} s"


def test_a_missing_params_file_suggests_params(tmp_path) -> None:
    res, seconds = _cli(["run", "--dataset", "folder", "--cls", "horse"], tmp_path)
    err = res.stderr.strip()
    assert res.returncode == 2 and "Traceback" not in err
    assert "params.yaml" in err and "not found" in err and "--params" in err
    assert len(err.splitlines()) <= 2
    assert seconds < LIMIT_S


@pytest.mark.parametrize("where", ["global", "run"])
def test_debug_shows_the_traceback(where, tmp_path) -> None:
    args = ["run", "--method", "artic3", "--params", PARAMS]
    args = ["--debug", *args] if where == "global" else [*args, "--debug"]
    res, _ = _cli(args, tmp_path)
    assert res.returncode != 0
    assert "Traceback" in res.stderr and "artic3" in res.stderr


def test_the_checked_names_are_the_registries() -> None:
    from artic3d_core.data.config import DATASETS
    from artic3d_core.data.loaders import DATASETS as LOADED
    from artic3d_core.pipeline.inputs import _ROOT_KEY
    from artic3d_core.pipeline.methods import _REGISTRY, METHODS

    assert LOADED is DATASETS and set(_ROOT_KEY) == set(DATASETS)
    assert set(METHODS) == set(_REGISTRY)


def test_the_checks_import_no_torch() -> None:
    code = (
        "import sys, artic3d_cli.main, artic3d_core.pipeline.inputs, artic3d_core.config;"
        "print(sorted(m for m in ('torch', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert out.strip() == "[]"
