"""Units: atomic artifacts, cache keys and skips, retries, layout, config, fetch messages."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from artic3d_core.config import ConfigError, load_params
from artic3d_core.pipeline.layout import Cell
from tasks.artifacts import Provenance, build_unit, valid_manifest
from tasks.errors import BadInputError, TransientError, is_transient

ROOT = Path(__file__).resolve().parents[2]
PROV = Provenance("h", {}, 0, "rev", "code", "tiny")


def test_cell_parse_and_layout(tmp_path: Path) -> None:
    from artic3d_core.pipeline.layout import RunLayout

    c = Cell.parse("e-lassie/tiger")
    assert (c.dataset, c.cls, str(c)) == ("e-lassie", "tiger", "e-lassie/tiger")
    lay = RunLayout(tmp_path)
    assert lay.instance_dir(c, "artic3d", 3) == tmp_path / "e-lassie/tiger/artic3d/instances/003"
    with pytest.raises(BadInputError, match="dataset/class"):
        Cell.parse("zebra")


def test_pipeline_config_rejects_bad_cells() -> None:
    with pytest.raises(ConfigError, match="unknown dataset"):
        load_params(None, ["pipeline.cells=[imagenet/zebra]"])
    with pytest.raises(ConfigError, match="dataset/class"):
        load_params(None, ["pipeline.cells=[zebra]"])


def test_unit_built_once_then_skipped_and_rebuilt_on_key_change(tmp_path: Path) -> None:
    calls = []

    def body(d: Path) -> dict:
        calls.append(1)
        (d / "x.txt").write_text("hello")
        return {"n": 1}

    out = tmp_path / "unit"
    r1 = build_unit("s", out, "k1", PROV, body)
    r2 = build_unit("s", out, "k1", PROV, body)
    assert (r1.skipped, r2.skipped, len(calls)) == (False, True, 1)
    m = json.loads((out / "manifest.json").read_text())
    assert m["files"]["x.txt"]["size"] == 5 and m["provenance"]["git_revision"] == "rev"
    assert m["provenance"]["weights_profile"] == "tiny" and m["meta"] == {"n": 1}
    r3 = build_unit("s", out, "k2", PROV, body)
    assert not r3.skipped and len(calls) == 2
    (out / "x.txt").write_text("truncated")  # size differs from the manifest: not valid
    assert valid_manifest(out, "k2") is None
    with pytest.raises(BadInputError, match="missing or out of date"):
        build_unit("s", out, "k2", PROV, body, readonly=True)


def test_failed_body_leaves_nothing(tmp_path: Path) -> None:
    def body(d: Path) -> dict:
        (d / "half.bin").write_bytes(b"x" * 10)
        raise ValueError("bad input")

    with pytest.raises(ValueError):
        build_unit("s", tmp_path / "u", "k", PROV, body)
    assert list(tmp_path.iterdir()) == []


_KILL_SCRIPT = """
import sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from tasks.artifacts import Provenance, build_unit
prov = Provenance("h", {{}}, 0, "rev", "code", "tiny")
def body(d):
    for i in range(50):
        (d / f"part{{i}}.bin").write_bytes(b"x" * 1000)
        time.sleep(0.05)
    return {{}}
for i in range(3):
    r = build_unit("s", Path({out!r}) / f"u{{i}}", f"k{{i}}", prov, body)
    print("done", i, r.skipped, flush=True)
"""


def test_kill_with_real_signal_leaves_no_half_unit_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    script = tmp_path / "work.py"
    script.write_text(_KILL_SCRIPT.format(root=str(ROOT), out=str(out)))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("done 0 False")
    time.sleep(1.0)  # now inside unit 1's body
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    names = sorted(p.name for p in out.iterdir())
    assert "u0" in names and "u1" not in names  # the killed unit is not in place
    assert all(valid_manifest(out / n, f"k{n[1]}") for n in names if not n.startswith("."))
    t0 = (out / "u0" / "manifest.json").stat().st_mtime_ns
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    assert res.stdout.split("\n")[:3] == ["done 0 True", "done 1 False", "done 2 False"]
    assert (out / "u0" / "manifest.json").stat().st_mtime_ns == t0  # not redone
    assert sorted(p.name for p in out.iterdir()) == ["u0", "u1", "u2"]  # temp dirs cleaned


def test_retry_only_transient() -> None:
    from prefect.states import Failed

    from tasks.errors import retry_transient

    assert is_transient(TransientError("x")) and is_transient(TimeoutError())
    assert not is_transient(BadInputError("x")) and not is_transient(ValueError())
    assert retry_transient(None, None, Failed(data=ConnectionError("net")))
    assert not retry_transient(None, None, Failed(data=BadInputError("bad file")))


def test_enabled_dataset_absent_fails_with_fetch_instructions(tmp_path: Path) -> None:
    from tasks.context import StageContext
    from tasks.data import run_data

    p = load_params(
        ROOT / "params.yaml",
        [f"data.lassie_root={tmp_path}/nope", f"pipeline.run_dir={tmp_path}/runs"],
    )
    ctx = StageContext(p, Cell("lassie", "zebra"), None, "cpu", False, str(tmp_path))
    with pytest.raises(BadInputError, match=r"(?s)is missing or empty.*To get it: download"):
        run_data(ctx)
    assert not (tmp_path / "runs" / "lassie" / "zebra" / "data").exists()


def test_dvc_matrix_expands_cells_and_methods(tmp_path: Path) -> None:
    """dvc.yaml parses against params.yaml: one stage per cell × method per stage kind."""
    res = subprocess.run(
        [str(Path(sys.executable).with_name("dvc")), "stage", "list", "--name-only"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    names = set(res.stdout.split())
    p = load_params(ROOT / "params.yaml")
    for c in p.pipeline.cells:
        assert f"data@{c}" in names
        for m in p.pipeline.methods:
            for s in ("preprocess", "optimise", "eval"):  # skeleton/animate ride along
                assert f"{s}@{c}-{m}" in names
    assert {"synth", "tables"} <= names


def test_data_unit_is_shared_by_methods(tiny_root: Path, overrides_for) -> None:
    from flows.pipeline import run_cell
    from tasks.context import StageContext

    p = load_params(ROOT / "params.yaml", overrides_for(tiny_root))
    runs = [
        run_cell(
            StageContext(p, Cell("synthetic", "zebra"), m, "cpu", False, str(tiny_root), ("data",)),
            as_tasks=False,
        )
        for m in (None, "hi-lassie", "artic3d")
    ]
    keys = {r.units[0].key for r in runs}
    assert len(keys) == 1 and [r.units[0].skipped for r in runs][1:] == [True, True]


def test_eval_minutes_sum_the_upstream_manifests(tmp_path: Path) -> None:
    """The flow's ``minutes`` rows: the seconds the cell's unit manifests record, counting only
    the instances evaluated and nothing the evaluation does not follow."""
    from tasks.artifacts import MANIFEST, UnitResult
    from tasks.context import StageContext
    from tasks.evaluate import upstream_seconds

    p = load_params(ROOT / "params.yaml", [f"pipeline.run_dir={tmp_path}/runs"])
    assert p.pipeline.animate
    ctx = StageContext(p, Cell("synthetic", "zebra"), "artic3d", "cpu", False, str(tmp_path))
    lay, cell = ctx.layout, ctx.cell

    def unit(path: Path, seconds: float | None) -> UnitResult:
        path.mkdir(parents=True, exist_ok=True)
        if seconds is not None:
            (path / MANIFEST).write_text(json.dumps({"seconds": seconds}))
        return UnitResult("x", str(path), "k", True, 0.0)

    data = unit(lay.data_dir(cell), 2.0)
    (Path(data.path) / "index.json").write_text(json.dumps([{"image_id": "a"}, {"image_id": "b"}]))
    unit(lay.rough_fg_dir(cell, "artic3d"), 1.0)
    unit(lay.enhanced_dir(cell, "artic3d", "a"), 0.5)
    unit(lay.enhanced_dir(cell, "artic3d", "b"), 0.25)
    unit(lay.features_dir(cell, "artic3d"), 3.0)
    unit(lay.stage_dir(cell, "artic3d", "skeleton"), None)  # made without a manifest: unknown
    joint = unit(lay.stage_dir(cell, "artic3d", "joint"), 30.0)
    inst = unit(lay.instance_dir(cell, "artic3d", 0), 10.0)
    unit(lay.instance_dir(cell, "artic3d", 1), 99.0)  # an earlier run's: not evaluated
    unit(lay.animation_dir(cell, "artic3d", 0), 4.0)
    unit(lay.stage_dir(cell, "artic3d", "eval"), 77.0)
    assert upstream_seconds(ctx, data, joint, [inst]) == pytest.approx(50.75)
    for d in (lay.method_dir(cell, "artic3d"), lay.data_dir(cell)):
        for m in d.rglob(MANIFEST):
            m.unlink()
    assert upstream_seconds(ctx, data, joint, [inst]) is None
