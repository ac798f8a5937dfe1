"""Cached flow units are reused only when every file matches the sha256 in their manifest."""

from __future__ import annotations

import logging
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
