"""One class end to end: seconds per stage, images per second, peak memory, and the ratio of the
batched per-instance stages to the same stages one image after another, in one run.

    # CPU (tiny random prior, demo schedule, 12 synthetic zebras at 128²)
    python benchmarks/class_throughput.py
    # GPU: 45 images, the paper schedule, full-size random weights
    python benchmarks/class_throughput.py --device cuda --profile full-random --schedule paper \\
        --paper-sizes --images 45 --method artic3d --sequential 4

Steps: generate the class (synthetic generator, clean images, ``--seed``), run
:func:`reconstruct_class` with every image through the instance stages fitted together
(``optim.instance_batch`` = ``--batch``, default all) and print its per-stage time table; then,
on the joint result of that run, after an untimed warm-up fit of one image, fit the instance
stages again (a) one image after another for the first ``--sequential`` images (default: all)
and (b) batched, all images at once, and print seconds per image for both and their ratio.
Checkpoints are off in (a) and (b). Every optimisation stage prints one line (iterations,
batch, seconds) as it finishes. Peak memory is the process's maximum resident set (CPU) or
``torch.cuda.max_memory_allocated`` (GPU).

``--iters-scale 0.05 --joint-iters-scale 0.02`` runs the same stages at their full image size,
mesh level and batch with a fraction of the iterations: seconds per iteration of every stage in
a few minutes, where the whole schedule takes much longer.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
# the README's paper-like GPU run: SD at 512² (enhancement and DASS), 512² masks, the whole crop
PAPER_SIZES = [
    "guidance.image_size=512",
    "features.mask_size=512",
    "guidance.enhance.keep_foreground=false",
]


def _peak_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _params(args: argparse.Namespace, data_root: Path, run_root: Path):
    from artic3d_core.config import load_params

    sets = [
        f"weights.profile={args.profile}",
        f"optim.schedule={args.schedule}",
        f"optim.instance_batch={args.batch or 'null'}",
        "optim.progress=false",
        "pipeline.max_instances=null",
        "pipeline.animate=false",
        "pipeline.synthetic_sets=[clean]",
        f"pipeline.run_dir={run_root}",
        f"data.synthetic_root={data_root}",
        f"seed={args.seed}",
    ]
    if args.paper_sizes:
        sets += PAPER_SIZES + (["features.backend=dino"] if args.profile != "tiny" else [])
    return load_params(_scaled_params_file(args, run_root.parent), sets + list(args.set))


def _scaled_params_file(args: argparse.Namespace, work: Path) -> Path:
    """``--params``, or a copy of it in ``work`` with every stage's iterations of the schedule
    scaled by ``--iters-scale`` (joint stages by ``--joint-iters-scale``), at least 1 each: image
    size, mesh level and batch stay, so seconds per iteration are those of the full schedule."""
    if args.iters_scale == 1.0 and args.joint_iters_scale is None:
        return args.params
    import yaml

    raw = yaml.safe_load(Path(args.params).read_text())
    joint = args.iters_scale if args.joint_iters_scale is None else args.joint_iters_scale
    for st in raw["optim"]["schedules"][args.schedule]:
        scale = args.iters_scale if st.get("phase") == "instance" else joint
        st["iters"] = max(1, round(st["iters"] * scale))
    work.mkdir(parents=True, exist_ok=True)
    out = work / "params.scaled.yaml"
    out.write_text(yaml.safe_dump(raw, sort_keys=False))
    return out


def _fit_seconds(params, joint_dir: Path, chunks: list[list[int]], args, device) -> float:
    from artic3d_core.pipeline import stages as st
    from artic3d_core.pipeline.layout import Cell, stage_seed

    cell = Cell("synthetic", args.cls)
    _sync(device)
    t0 = time.perf_counter()
    for chunk in chunks:
        seeds = [stage_seed(params.seed, cell, args.method, "instance", i) for i in chunk]
        st.fit_instances_of(params, joint_dir, chunk, args.method, device, seeds, None)
    _sync(device)
    return time.perf_counter() - t0


def run(args: argparse.Namespace) -> dict[str, Any]:
    from artic3d_core.data.synthetic import generate
    from artic3d_core.device import resolve_device
    from artic3d_core.pipeline.reconstruct import reconstruct_class
    from artic3d_core.pipeline.timing import format_time_table

    device = resolve_device(args.device)
    work = Path(args.work or tempfile.mkdtemp(prefix="artic3d-throughput-"))
    data_root, run_root = work / "data", work / "runs"
    if args.instances_only:
        return _instance_ratio(args, _params(args, data_root, run_root), run_root, device, {})
    t0 = time.perf_counter()
    generate(data_root, [args.cls], args.seed, "full", args.images, 0, args.image_size,
             contact_sheet=False)  # fmt: skip
    gen_s = time.perf_counter() - t0
    params = _params(args, data_root, run_root)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    run = reconstruct_class(params, run_root, "synthetic", args.cls, args.method, device, ROOT,
                            log=print, outputs=False, fresh=True)  # fmt: skip
    wall = time.perf_counter() - t0
    print(f"\n{args.cls}, {args.images} images, {args.method}, {args.profile} weights, "
          f"{args.schedule} schedule, {device}: {wall:.1f} s end to end "
          f"({args.images / wall:.3f} images/s), generation {gen_s:.1f} s")  # fmt: skip
    print(format_time_table(run.time_table()))
    print(f"peak memory of the run: {_peak_mib(device):.0f} MiB")
    res = {
        "wall_s": round(wall, 2), "images_per_s": round(args.images / wall, 4),
        "stages": run.time_table(),
    }  # fmt: skip
    return _instance_ratio(args, params, run_root, device, res)


def _instance_ratio(args, params, run_root: Path, device, res: dict[str, Any]) -> dict[str, Any]:
    """Time the instance stages on the run's joint result: all images batched, then the first
    ``--sequential`` one after another."""
    from artic3d_core.pipeline.layout import Cell, RunLayout

    joint_dir = RunLayout(run_root).stage_dir(Cell("synthetic", args.cls), args.method, "joint")
    if not (joint_dir / "model.pt").is_file():
        raise SystemExit(f"{joint_dir}: no joint result; run without --instances-only first")
    n = args.images
    fit_params = params.model_copy(
        update={"optim": params.optim.model_copy(update={"checkpoint": False})}
    )
    n_seq = min(args.sequential or n, n)
    # warm-up, untimed: loads the prior and the joint result, first-call kernel set-up
    _fit_seconds(fit_params, joint_dir, [[0]], args, device)
    seq = _fit_seconds(fit_params, joint_dir, [[i] for i in range(n_seq)], args, device)
    batched = _fit_seconds(fit_params, joint_dir, [list(range(n))], args, device)
    per_b, per_s = batched / n, seq / n_seq
    print(f"\ninstance stages, {n} images: batched {batched:.1f} s ({per_b:.2f} s/image); "
          f"one after another {seq:.1f} s for {n_seq} images ({per_s:.2f} s/image); "
          f"batched is {per_s / per_b:.2f}x faster per image")  # fmt: skip
    print(f"peak memory with the fits: {_peak_mib(device):.0f} MiB")
    return {
        **res, "cls": args.cls, "images": n, "method": args.method, "profile": args.profile,
        "schedule": args.schedule, "device": str(device),
        "instance_batched_s_per_image": round(per_b, 3),
        "instance_sequential_s_per_image": round(per_s, 3), "sequential_images": n_seq,
        "batched_speedup": round(per_s / per_b, 3), "peak_mib": round(_peak_mib(device), 1),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--profile", default="tiny", choices=["tiny", "full-random", "real"])
    p.add_argument("--schedule", default="demo")
    p.add_argument("--method", default="artic3d")
    p.add_argument("--cls", default="zebra")
    p.add_argument("--images", type=int, default=12)
    p.add_argument("--image-size", type=int, default=128, help="generated image side")
    p.add_argument("--batch", type=int, default=None, help="optim.instance_batch (default all)")
    p.add_argument("--sequential", type=int, default=None,
                   help="images timed one after another (default all)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--iters-scale",
        type=float,
        default=1.0,
        help="scale every stage's iterations (a quick per-iteration timing)",
    )
    p.add_argument("--joint-iters-scale", type=float, default=None,
                   help="scale the joint stages' iterations (default: --iters-scale)")  # fmt: skip
    p.add_argument("--work", default=None, help="working folder (default a new temp folder)")
    p.add_argument("--params", "-p", type=Path, default=ROOT / "params.yaml")
    p.add_argument("--set", "-s", action="append", default=[], help="params override")
    p.add_argument("--paper-sizes", action="store_true",
                   help="the paper's image sizes (SD 512², masks 512²) and, unless --profile "
                   "tiny, DINO features: the README's paper-like GPU run")  # fmt: skip
    p.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    p.add_argument("--instances-only", action="store_true",
                   help="only the batched vs one-at-a-time timing, on the joint result of an "
                   "earlier run in --work")  # fmt: skip
    args = p.parse_args(argv)
    # one line per finished optimisation stage, as it finishes (a run cut short still says how far
    # it got and how long each stage took)
    logging.basicConfig(stream=sys.stdout, format="%(message)s", level=logging.WARNING)
    logging.getLogger("artic3d_core.optim.runner").setLevel(logging.INFO)
    from artic3d_core.env import set_process_defaults

    set_process_defaults(ROOT)
    res = run(args)
    if args.json:
        from artic3d_core.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(res, indent=1, default=str))
    return res


if __name__ == "__main__":
    main(sys.argv[1:])
