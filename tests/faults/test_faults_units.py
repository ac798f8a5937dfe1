"""Cached flow units are reused only when every file matches the sha256 in their manifest."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest

from tasks.artifacts import Provenance, build_unit

PROV = Provenance("h", {}, 0, "rev", "code", "tiny")


def _body(calls: list):
    def body(d: Path) -> dict:
        calls.append(1)
        (d / "skeleton.json").write_text('{"bones": 8}')
        (d / "sub").mkdir()
        (d / "sub" / "a.bin").write_bytes(b"\x00" * 32)
        return {}

    return body


@pytest.mark.fault(
    "unit file edited (same size) or deleted", result="unit rebuilt, one log line", data_lost="none"
)
@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda u: (u / "skeleton.json").write_text('{"bones": 9}'), "changed since"),
        (lambda u: (u / "sub" / "a.bin").write_bytes(b"\x01" * 32), "changed since"),
        (lambda u: (u / "sub" / "a.bin").unlink(), "is missing"),
    ],
    ids=["same-size edit", "same-size binary edit", "deleted file"],
)
def test_edited_unit_is_rebuilt_with_one_log_line(tmp_path, caplog, edit, message):
    calls: list = []
    out = tmp_path / "skeleton"
    build_unit("skeleton", out, "k", PROV, _body(calls))
    assert build_unit("skeleton", out, "k", PROV, _body(calls)).skipped
    edit(out)
    with caplog.at_level(logging.WARNING, logger="tasks.artifacts"):
        r = build_unit("skeleton", out, "k", PROV, _body(calls))
    assert not r.skipped and len(calls) == 2
    assert (out / "skeleton.json").read_text() == '{"bones": 8}'
    lines = [r.getMessage() for r in caplog.records if message in r.getMessage()]
    assert len(lines) == 1 and str(out) in lines[0]


@pytest.mark.fault(
    "folder write failing midway; temp left by a killed writer",
    result="old folder kept; stale temp removed",
    data_lost="none",
)
def test_folder_write_is_all_or_nothing_and_sweeps_dead_writers_temps(tmp_path):
    from artic3d_core.atomic import TMP_TAG, atomic_write_dir

    out = tmp_path / "joint"
    atomic_write_dir(out, lambda d: (d / "model.pt").write_bytes(b"v1"))
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".joint{TMP_TAG}{dead.pid}-abc123"
    stale.mkdir()

    def failing(d: Path) -> None:
        (d / "model.pt").write_bytes(b"v2, half")
        raise RuntimeError("killed midway")

    with pytest.raises(RuntimeError, match="midway"):
        atomic_write_dir(out, failing)
    assert (out / "model.pt").read_bytes() == b"v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["joint"]  # no temp, stale one gone
    assert atomic_write_dir(out, lambda d: (d / "model.pt").write_bytes(b"v2") and "ok") == "ok"
    assert (out / "model.pt").read_bytes() == b"v2"
