"""Helpers of ``benchmarks/gpu_check.sh`` (the one-shot GPU check); each prints its figures.

    python benchmarks/gpu_check.py smoke [--device cuda]   # versions, imports, CUDA rasteriser
    python benchmarks/gpu_check.py model [--device cuda]   # articulated model: soft silhouette cost
    python benchmarks/gpu_check.py dino  [--device cuda]   # DINO ViT-S/8 (full-random) features

``--tiny`` shrinks every size for a CPU dry run. Nothing here is imported by the library.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from typing import Any

import torch


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _reset_peak(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)


def _peak_gib(dev: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(dev) / 2**30 if dev.type == "cuda" else None


def _emit(tag: str, row: dict[str, Any]) -> None:
    print(f"[{tag}] " + json.dumps(row), flush=True)


# ---------------------------------------------------------------------------------------------
def smoke(a: argparse.Namespace) -> int:
    """Versions, the heavy imports, and PyTorch3D's rasteriser against the torch one."""
    dev = torch.device(a.device)
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
    }
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        info["gpu"] = f"{p.name}, {p.total_memory / 2**30:.1f} GiB, {p.multi_processor_count} SMs"
    _emit("versions", info)
    bad = 0
    for name in ("numpy", "pytorch3d", "diffusers", "transformers", "huggingface_hub", "timm",
                 "open_clip", "pydantic", "pydantic_core", "safetensors", "trimesh", "pygltflib",
                 "faiss", "sklearn", "scipy", "cv2", "skimage", "typer"):  # fmt: skip
        t = time.perf_counter()
        try:
            mod = importlib.import_module(name)
            ver = getattr(mod, "__version__", "?")
            where = str(getattr(mod, "__file__", "?")).rsplit("/", 2)[0]
            print(f"  {name:16s} {ver:14s} {time.perf_counter() - t:6.2f} s  {where}", flush=True)
        except Exception as exc:  # report every missing piece, not only the first
            bad += 1
            print(f"  {name:16s} IMPORT FAILED: {type(exc).__name__}: {exc}", flush=True)
    for name in ("artic3d_core", "artic3d_core.config", "artic3d_core.render.backend",
                 "artic3d_core.model.articulated", "artic3d_core.features.extract",
                 "artic3d_core.guidance.base", "artic3d_core.guidance.stable_diffusion",
                 "artic3d_core.optim.runner", "artic3d_core.eval.clip_similarity",
                 "artic3d_core.export.gltf_rig", "artic3d_cli.main"):  # fmt: skip
        try:
            importlib.import_module(name)
        except Exception as exc:
            bad += 1
            print(f"  import {name} FAILED: {type(exc).__name__}: {exc}", flush=True)
    print(f"  imports: {'all ok' if not bad else f'{bad} FAILED'}", flush=True)

    from pytorch3d.utils import ico_sphere

    from artic3d_core.config import load_params
    from artic3d_core.render import backend as rb

    load_params("params.yaml")  # the project's params file validates here
    m = ico_sphere(2)
    verts = (m.verts_packed() * 0.6)[None].repeat(2, 1, 1).to(dev)
    verts[1] += torch.tensor([0.2, -0.1, 0.0], device=dev)
    faces = m.faces_packed().to(dev)
    out: dict[str, Any] = {"device": str(dev), "faces": int(faces.shape[0])}
    try:
        f3 = rb.rasterize(verts, faces, 64, None, 0.0, 1, 0, rasteriser="pytorch3d")
        ft = rb.rasterize(verts, faces, 64, None, 0.0, 1, 0, rasteriser="torch")
        p3, pt = f3.pix_to_face[..., 0], ft.pix_to_face[..., 0]
        out["covered_px"] = int((p3 >= 0).sum())
        out["pix_to_face_agree"] = round(float((p3 == pt).float().mean()), 5)
        x = verts.clone().requires_grad_()
        sil = rb.soft_silhouette(x, faces, 64, 1e-4, 1e-4, 20, 0, rasteriser="pytorch3d")
        sil.sum().backward()
        x2 = verts.clone().requires_grad_()
        sil2 = rb.soft_silhouette(x2, faces, 64, 1e-4, 1e-4, 20, 0, rasteriser="torch")
        sil2.sum().backward()
        out["soft_sil_max_abs_diff"] = float((sil - sil2).detach().abs().max())
        out["grad_finite"] = bool(torch.isfinite(x.grad).all())
        out["grad_rel_diff"] = float((x.grad - x2.grad).norm() / x2.grad.norm().clamp_min(1e-12))
        ok = out["pix_to_face_agree"] > 0.99 and out["covered_px"] > 0 and out["grad_finite"]
    except Exception as exc:
        traceback.print_exc()
        out["error"] = f"{type(exc).__name__}: {exc}"
        ok = False
    out["ok"] = ok
    _emit("rasteriser", out)
    return 0 if ok and not bad else 1


# ---------------------------------------------------------------------------------------------
def model(a: argparse.Namespace) -> int:
    """The articulated model's own cost per optimisation-like step: forward (16 parts) + soft
    silhouette (σ 1e-4, K 50, bin_size 0) + backward, for B instances."""
    from render import timed  # benchmarks/render.py: this script's folder is on sys.path

    from artic3d_core.model.articulated import ArticulatedModel
    from artic3d_core.render import backend as rb
    from artic3d_core.skeleton.toy import quadruped_skeleton

    dev = torch.device(a.device)
    sk = quadruped_skeleton()
    batch = 2 if a.tiny else a.batch
    # (level, size, instances): joint stages render every instance at level ≤ 3; the paper's
    # per-instance stages go to level 4 (instance_refine) and 5 (texture_init) at 512²
    cases = [(3, 64, batch), (3, 256, batch), (3, 512, batch), (4, 512, 1), (5, 512, 1)]
    if a.tiny:
        cases = [(1, 32, batch), (2, 32, 1)]
    m = ArticulatedModel(sk, batch, seed=0).to(dev)
    print(f"articulated model: {sk.nb} parts, {batch} instances, device {dev}", flush=True)
    for level, size, n in cases:
        inst = torch.arange(n, device=dev)

        def step(level=level, size=size, inst=inst):
            m.zero_grad(set_to_none=True)
            mesh = m(level, 10, True, None, inst)
            sil = rb.soft_silhouette(mesh.flat_verts, mesh.faces, size, 1e-4, 1e-4, 50, 0)
            sil.mean().backward()

        try:
            _reset_peak(dev)
            s = timed(step, str(dev), 1 if a.tiny or level > 3 else 3)
            faces = 20 * 4**level * sk.nb
            _emit("model_render", {"level": level, "faces": faces, "size": size, "instances": n,
                                   "fwd_bwd_ms": round(1000 * s, 2),
                                   "peak_gib": _peak_gib(dev)})  # fmt: skip
        except Exception as exc:
            _emit("model_render", {"level": level, "size": size, "error": repr(exc)[:300]})
            if dev.type == "cuda":
                torch.cuda.empty_cache()
    return 0


# ---------------------------------------------------------------------------------------------
def dino(a: argparse.Namespace) -> int:
    """DINO ViT-S/8 with full-random weights: the GPU passes of the HR (1024² → 4 tiles of 512²)
    and LR (512²) extraction alone, then the whole ``extract_features`` (CPU clustering/CRF
    included), on random crops."""
    from artic3d_core.config import load_params
    from artic3d_core.device import autocast_dtype
    from artic3d_core.features.dino import extract_dino, extract_dino_hr
    from artic3d_core.features.extract import extract_features
    from artic3d_core.weights import load_dino

    dev = torch.device(a.device)
    profile = "tiny" if a.tiny else "full-random"
    p = load_params("params.yaml", ["features.backend=dino", f"weights.profile={profile}"])
    f = p.features
    n = a.images
    hr = 128 if a.tiny else f.hr_size
    lr = 64 if a.tiny else f.lr_size
    if a.tiny:
        f = f.model_copy(update={"hr_size": hr, "lr_size": lr, "feat_hw": lr // f.patch,
                                 "mask_size": 64, "kmeans_niter": 5, "kmeans_nredo": 1})  # fmt: skip
    amp = autocast_dtype(dev, f.amp)
    t = time.perf_counter()
    net, info = load_dino(p.weights, dev)
    print(f"DINO {info.label()} on {dev}: built in {time.perf_counter() - t:.1f} s; "
          f"{n} crops of {hr}², HR pass {f.hr_pass}, autocast {amp}, batch {f.batch_size}", flush=True)  # fmt: skip
    x = torch.rand(n, 3, hr, hr, generator=torch.Generator().manual_seed(0))
    heads = f.saliency_heads
    extract_dino_hr(net, x[:2], hr, heads, f.batch_size, dev, amp)  # warm-up (kernels, autotune)
    extract_dino(net, x[:2], lr, heads, f.batch_size, dev, amp)
    for bs in sorted({f.batch_size, 4 * f.batch_size}):
        _reset_peak(dev)
        t = time.perf_counter()
        out_hr = extract_dino_hr(net, x, hr, heads, bs, dev, amp)
        _sync(dev)
        t_hr = time.perf_counter() - t
        t = time.perf_counter()
        out_lr = extract_dino(net, x, lr, heads, bs, dev, amp)
        _sync(dev)
        t_lr = time.perf_counter() - t
        _emit("dino_passes", {"batch": bs, "images": n, "hr_s": round(t_hr, 3),
                              "lr_s": round(t_lr, 3), "images_per_s": round(n / (t_hr + t_lr), 1),
                              "hr_keys": list(out_hr.keys.shape), "lr_keys": list(out_lr.keys.shape),
                              "peak_gib": _peak_gib(dev)})  # fmt: skip
        del out_hr, out_lr
    try:
        import faiss  # noqa: F401

        km = "faiss"
    except ImportError:
        km = "scikit-learn (faiss missing)"
    print(f"extract_features (dino backend, k-means: {km}, CRF {f.crf.enabled}) ...", flush=True)
    _reset_peak(dev)
    t = time.perf_counter()
    res = extract_features(x, "dino", f, dev, p.weights, model=(net, info))
    dt = time.perf_counter() - t
    _emit("extract_features", {"images": n, "seconds": round(dt, 2),
                               "images_per_s": round(n / dt, 2), "peak_gib": _peak_gib(dev),
                               "masks": list(res.masks.shape), "feat_img": list(res.feat_img.shape),
                               "fg_fraction": round(float((res.masks > 0).float().mean()), 3),
                               "meta": res.meta})  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("what", choices=["smoke", "model", "dino"])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--tiny", action="store_true", help="tiny sizes (CPU dry run)")
    ap.add_argument("--images", type=int, default=30, help="dino: number of random crops")
    ap.add_argument("--batch", type=int, default=8, help="model: instances")
    a = ap.parse_args(argv)
    return {"smoke": smoke, "model": model, "dino": dino}[a.what](a)


if __name__ == "__main__":
    sys.exit(main())
