"""The guidance benchmark script runs on CPU with the tiny prior and prints its table."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def test_benchmark_smoke_on_cpu(capsys):
    path = Path(__file__).parents[2] / "benchmarks" / "guidance.py"
    spec = importlib.util.spec_from_file_location("guidance_benchmark", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rows = mod.main(
        ["--profile", "tiny", "--device", "cpu", "--views", "2", "--warmup", "0", "--repeats", "1"]
    )
    done = [r for r in rows if "ms_mean" in r]
    assert {(r["method"], r["views"], r["precision"]) for r in done} == {
        ("dass", 2, "fp32"),
        ("sds", 2, "fp32"),
    }
    assert all(r["ms_mean"] > 0 and r["random_prior"] for r in done)
    assert any(r.get("skipped") for r in rows)  # fp16 is GPU-only
    out = capsys.readouterr().out
    assert "RANDOM WEIGHTS" in out and "| dass | 2 | fp32 |" in out
