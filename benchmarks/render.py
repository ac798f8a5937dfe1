"""Rendering cost on this machine: soft silhouette (forward + backward), layered RGB, hard RGB,
for a 16-part mesh at several levels / image sizes, with both rasterisers.

Usage: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/render.py [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from artic3d_core.model.template import sphere_template
from artic3d_core.render import backend as rb


def scene(level: int, n_parts: int = 16, batch: int = 1, device: str = "cpu"):
    g = torch.Generator().manual_seed(0)
    v, f = sphere_template(level)
    centres = torch.rand(n_parts, 3, generator=g) * 1.2 - 0.6
    verts = torch.cat([v * 0.2 + c for c in centres])
    faces = torch.cat([f + i * v.shape[0] for i in range(n_parts)])
    return verts[None].repeat(batch, 1, 1).to(device), faces.to(device)


def timed(fn, device: str, reps: int = 2) -> float:
    fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - t) / reps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--levels", default="1,2,3")
    ap.add_argument("--sizes", default="64,128")
    ap.add_argument("--rasterisers", default="torch,pytorch3d")
    a = ap.parse_args()
    rows = []
    for lev in map(int, a.levels.split(",")):
        for size in map(int, a.sizes.split(",")):
            for r in a.rasterisers.split(","):
                v, f = scene(lev, device=a.device)

                def soft(v=v, f=f, size=size, r=r):
                    x = v.clone().requires_grad_()
                    rb.soft_silhouette(x, f, size, 1e-4, 1e-4, 50, rasteriser=r).sum().backward()

                def hard(v=v, f=f, size=size, r=r):
                    with torch.no_grad():
                        rb.rasterize(v, f, size, None, 0.0, 1, rasteriser=r)

                rows.append({"level": lev, "faces": int(f.shape[0]), "size": size, "rasteriser": r,
                             "soft_fwd_bwd_s": round(timed(soft, a.device), 4),
                             "hard_s": round(timed(hard, a.device), 4)})  # fmt: skip
                print(json.dumps(rows[-1]), flush=True)


if __name__ == "__main__":
    main()
