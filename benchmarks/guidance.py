"""Benchmark DASS vs encoder-SDS: ms per guidance call (loss + backward) and peak GPU memory.

    # the real measurement (GPU, SD 2.1-base sizes with random weights)
    python benchmarks/guidance.py --profile full-random --device cuda
    # smoke run on CPU with the tiny prior
    python benchmarks/guidance.py --profile tiny --device cpu --views 2 --repeats 1

One call = what the optimiser does per iteration: ``guidance.loss(renders, prompt)`` and
``backward()`` to the rendered images (a leaf tensor here). DASS uses ``guidance.dass`` of the
params file (t 250, n 3, g 12: one encode, 3 UNet calls at batch 2B, one decode, all without
gradient); SDS uses ``guidance.sds`` with t fixed at 250 (n 1: encode with gradient, one UNet
call, encoder backward). Peak memory is ``torch.cuda.max_memory_allocated`` during the timed
calls, also shown above the memory held before the call (weights + inputs). fp16 is GPU-only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from artic3d_core.config import load_params
from artic3d_core.device import resolve_device
from artic3d_core.guidance.base import build_guidance
from artic3d_core.guidance.stable_diffusion import load_prior
from artic3d_core.weights import WeightsConfig

PROMPT = "A photo of zebra"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_cell(guid: Any, n_views: int, size: int, device: torch.device, warmup: int, repeats: int):
    """Time ``repeats`` loss+backward calls on n_views images (size²); returns a result dict."""
    gen = torch.Generator(device=device).manual_seed(0)
    images = torch.rand(n_views, 3, size, size, device=device, generator=gen, requires_grad=True)

    def call() -> None:
        images.grad = None
        loss = guid.loss(images, PROMPT, gen)
        loss.backward()

    for _ in range(warmup):
        call()
    _sync(device)
    base = peak = None
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    times = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        call()
        _sync(device)
        times.append(1000.0 * (time.perf_counter() - t0))
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device)
    return {
        "ms_mean": statistics.mean(times),
        "ms_min": min(times),
        "peak_gib": None if peak is None else peak / 2**30,
        "peak_above_base_gib": None if peak is None else (peak - base) / 2**30,
    }


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    device = resolve_device(args.device)
    params = load_params(args.params) if args.params else None
    gcfg = params.guidance.model_copy(deep=True) if params else None
    if gcfg is None:
        from artic3d_core.guidance.config import GuidanceConfig

        gcfg = GuidanceConfig()
    gcfg.sds.t = 250  # fixed t: timing does not depend on it, results are repeatable
    size = args.image_size or (64 if args.profile == "tiny" else 512)
    gcfg.image_size = size
    wcfg = WeightsConfig(profile=args.profile, random_seed=0)
    rows: list[dict[str, Any]] = []
    for precision in args.precisions:
        if precision != "fp32" and device.type != "cuda":
            rows.append({"precision": precision, "skipped": "fp16/bf16 only on GPU"})
            continue
        gcfg.precision = precision
        sd = load_prior(wcfg, device, precision)
        for method in args.methods:
            guid = build_guidance(method, gcfg, wcfg, device, sd=sd)
            for n_views in args.views:
                row: dict[str, Any] = {
                    "method": method,
                    "views": n_views,
                    "precision": precision,
                    "image_size": size,
                    "device": torch.cuda.get_device_name(device)
                    if device.type == "cuda"
                    else "cpu",
                    "weights": sd.info.label(),
                    "random_prior": sd.info.random,
                }
                try:
                    row.update(bench_cell(guid, n_views, size, device, args.warmup, args.repeats))
                except torch.OutOfMemoryError:
                    row["error"] = "OOM"
                    if device.type == "cuda":
                        torch.cuda.empty_cache()
                rows.append(row)
        del sd
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of the rows, plus SDS/DASS peak-memory ratios."""

    def gib(x: float | None) -> str:
        return "–" if x is None else f"{x:.2f}"

    out = [
        "| method | views | precision | ms/call (mean) | ms/call (min) | peak GiB | peak above base GiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "skipped" in r:
            out.append(f"| – | – | {r['precision']} | skipped: {r['skipped']} | | | |")
        elif "error" in r:
            out.append(f"| {r['method']} | {r['views']} | {r['precision']} | {r['error']} | | | |")
        else:
            out.append(
                f"| {r['method']} | {r['views']} | {r['precision']} | {r['ms_mean']:.1f} | "
                f"{r['ms_min']:.1f} | {gib(r['peak_gib'])} | {gib(r['peak_above_base_gib'])} |"
            )
    cells = {(r["method"], r["views"], r["precision"]): r for r in rows if "ms_mean" in r}
    ratios = []
    for (m, v, p), r in cells.items():
        d = cells.get(("dass", v, p))
        if m == "sds" and d and r["peak_above_base_gib"] and d["peak_above_base_gib"]:
            ratios.append(
                f"views {v} {p}: SDS/DASS peak-above-base memory "
                f"{r['peak_above_base_gib'] / d['peak_above_base_gib']:.2f}×, "
                f"time {r['ms_mean'] / d['ms_mean']:.2f}×"
            )
    meta = next((r for r in rows if "weights" in r), None)
    head = []
    if meta:
        head.append(
            f"device: {meta['device']}; image size {meta['image_size']}²; prior {meta['weights']}"
        )
    return "\n".join(head + out + ratios)


def write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--profile", default="full-random", choices=["tiny", "full-random", "real", "synthetic"]
    )
    p.add_argument("--device", default="auto")
    p.add_argument("--views", type=int, nargs="+", default=[2, 8, 32])
    p.add_argument(
        "--precisions", nargs="+", default=["fp16", "fp32"], choices=["fp16", "bf16", "fp32"]
    )
    p.add_argument("--methods", nargs="+", default=["dass", "sds"], choices=["dass", "sds", "none"])
    p.add_argument("--image-size", type=int, default=None, help="default 512 (64 for tiny)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--params", default=None, help="params.yaml for the guidance settings")
    p.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    args = p.parse_args(argv)
    rows = run(args)
    print(format_table(rows))
    if args.json:
        write_json_atomic(args.json, rows)
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
