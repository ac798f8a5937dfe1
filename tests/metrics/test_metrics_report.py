"""``artic3d report``: a Markdown page from a metrics store, one headed table per provenance."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from artic3d_core.metrics.report import render_report, write_report
from artic3d_core.metrics.store import append_rows, read_metrics
from artic3d_core.weights import WeightsInfo

REAL_SD = WeightsInfo("sd", "real", "/w/sd", "sha256:5d", False)


def _store(tmp_path: Path, ctx_factory, t0) -> Path:
    store = tmp_path / "metrics"
    tiny = ctx_factory(
        dataset="synthetic", cls="zebra", method="hi-lassie", run_id="run-a",
        git_rev="abc1234", host="box-1 (Linux x86_64, 2 CPUs)",
        command="artic3d bench --cell synthetic/zebra",
    )  # fmt: skip
    append_rows(store, [
        tiny.row("pck", 48.76, images=8, pairs=56, timestamp=t0),
        tiny.row("mask_iou", 78.75, images=8, timestamp=t0),
    ])  # fmt: skip
    real = ctx_factory(
        cls="tiger", method="artic3d", run_id="run-b", git_rev="def5678",
        weights=(REAL_SD,), host="gpu-node (Linux x86_64, 16 CPUs, NVIDIA H200)",
        command="python -m flows.reconstruct_class --cell lassie/tiger --method artic3d",
    )  # fmt: skip
    append_rows(store, [real.row("pck", 64.0, images=30, timestamp=t0 + timedelta(days=2))])
    return store


def test_report_headers_and_values(tmp_path: Path, ctx_factory, t0):
    df = read_metrics(_store(tmp_path, ctx_factory, t0))
    text = render_report(df, regenerate="artic3d report --out docs/results.md", note="A note.")
    assert "generated file" in text and "artic3d report --out docs/results.md" in text
    assert "A note." in text
    # one headed table per provenance group, newest first
    real_at, tiny_at = text.index("## 2025-01-03 · def5678"), text.index("## 2025-01-01 · abc1234")
    assert real_at < tiny_at
    for fact in (
        "**Commit**: `abc1234`",
        "**Machine**: box-1 (Linux x86_64, 2 CPUs)",
        "**Command**: `artic3d bench --cell synthetic/zebra`",
        "**Weights**: tiny (RANDOM weights)",
        "**Commit**: `def5678`",
        "**Machine**: gpu-node (Linux x86_64, 16 CPUs, NVIDIA H200)",
        "**Weights**: real",
        "**Date**: 2025-01-01 00:00 UTC",
    ):
        assert fact in text, fact
    assert "| synthetic | clean | zebra | Hi-LASSIE | 8 | 48.76† | 78.75† |" in text
    assert "| lassie | clean | tiger | ARTIC3D | 30 | 64.00 |" in text
    assert "| Dataset | Set | Class | Method | Images | pck (%) | mask_iou (%) |" in text


def test_cli_writes_the_page_atomically(tmp_path: Path, ctx_factory, t0):
    from artic3d_cli.main import app

    store = _store(tmp_path, ctx_factory, t0)
    out = tmp_path / "docs" / "results.md"
    res = CliRunner().invoke(app, ["report", "--metrics", str(store), "--out", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert f"artic3d report --metrics {store} --out {out}" in text
    assert "48.76†" in text and "64.00" in text
    assert [p.name for p in out.parent.iterdir()] == ["results.md"]  # no temp file left


def test_empty_store_and_missing_provenance(tmp_path: Path, ctx_factory, t0):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "No metric rows found." in render_report(read_metrics(empty), regenerate="x")
    df = read_metrics(_store(tmp_path, ctx_factory, t0))
    df["host"] = None
    out = write_report(df, tmp_path / "r.md", regenerate="x")
    assert "**Machine**: (not recorded)" in out.read_text()
