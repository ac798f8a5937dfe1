"""Issue 4 acceptance figures on the synthetic benchmark: offline foreground IoU per class
(clean / occluded) and skeleton discovery against the template.

    # generate once (~90 s), then measure
    python -c "from artic3d_core.data.synthetic import generate; \
generate('/tmp/synth_full', None, seed=0, preset='full')"
    python benchmarks/preprocess.py /tmp/synth_full --classes zebra,kangaroo --json out.json

Images go through the pipeline's own path: ``load_class("synthetic", ...)`` → ``crop_record``
(crop scale 2.0, ``--size`` px) → ``extract_features(..., "offline")``; ground truth is read
only here, to score. Each set (clean, occluded) is segmented as its own class batch. Skeletons
are discovered from the clean set's masks (automatic reference) and compared with the template
(:func:`artic3d_core.skeleton.compare.compare_to_template`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from artic3d_core.data.crop import crop_record
from artic3d_core.data.loaders import load_class
from artic3d_core.data.synthetic import TEMPLATES, load_ground_truth
from artic3d_core.features.config import FeaturesConfig
from artic3d_core.features.extract import extract_features
from artic3d_core.skeleton.compare import compare_to_template
from artic3d_core.skeleton.config import SkeletonConfig
from artic3d_core.skeleton.discovery import discover_skeleton

CLASSES = ("zebra", "tiger", "giraffe", "elephant", "kangaroo", "penguin")


def mask_iou(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-image IoU of (B, H, W) bool masks."""
    inter = (pred & gt).sum((1, 2))
    union = np.maximum((pred | gt).sum((1, 2)), 1)
    return inter / union


def evaluate_class(
    root: Path,
    cls: str,
    size: int = 512,
    cfg: FeaturesConfig | None = None,
    sk_cfg: SkeletonConfig | None = None,
    sets: tuple[str, ...] = ("clean", "occluded"),
    pictures: Path | None = None,
) -> dict[str, Any]:
    """IoU per set and skeleton figures (clean set) of one synthetic class."""
    cfg = cfg or FeaturesConfig(mask_size=size)
    sk_cfg = sk_cfg or SkeletonConfig()
    row: dict[str, Any] = {"class": cls}
    for st in sets:
        recs = load_class("synthetic", root, cls, sets=(st,))
        crops = [crop_record(r, size) for r in recs]
        x = torch.stack([c.image for c in crops])
        gt = np.stack([c.mask for c in crops])
        t0 = time.perf_counter()
        res = extract_features(x, "offline", cfg)
        sec = time.perf_counter() - t0
        fg = (res.masks > 0).numpy()
        if fg.shape[-1] != gt.shape[-1]:
            fg = (
                torch.nn.functional.interpolate(
                    torch.from_numpy(fg)[:, None].float(), size=gt.shape[-2:], mode="nearest"
                )[:, 0].numpy()
                > 0
            )
        iou = mask_iou(fg, gt)
        row[st] = {
            "n": len(recs),
            "iou_mean": round(float(iou.mean()), 4),
            "iou_min": round(float(iou.min()), 4),
            "iou_below_0.9": int((iou < 0.9).sum()),
            "seconds": round(sec, 1),
        }
        if pictures is not None:
            from artic3d_core.features.picture import save_cluster_overlays

            save_cluster_overlays(x[:6], res.masks[:6], pictures / cls / st)
        if st != "clean":
            continue
        t0 = time.perf_counter()
        sk, rep = discover_skeleton(res.masks, sk_cfg, n_clusters=cfg.n_clusters)
        sk_sec = time.perf_counter() - t0
        template = load_ground_truth(root, cls)[0].skeleton
        cmp = compare_to_template(sk, template, TEMPLATES[cls].biped)
        row["skeleton"] = {
            **cmp.as_dict(),
            "reference": rep.reference,
            "symmetric_pairs": rep.n_symmetric_pairs,
            "seconds": round(sk_sec, 2),
        }
        if pictures is not None:
            from artic3d_core.skeleton.picture import save_skeleton_picture

            save_skeleton_picture(
                pictures / cls / "skeleton.png", x[rep.reference], rep, res.masks[rep.reference]
            )
    return row


def format_table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| class | IoU clean mean/min | IoU occl. mean/min | bones found/template | "
        "limbs/mid | topology | joint err | discovery s |"
    )
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        c, o, s = r.get("clean", {}), r.get("occluded", {}), r.get("skeleton", {})

        def f(d: dict, k: str) -> str:
            return f"{d[k]:.3f}" if k in d else "-"

        lines.append(
            f"| {r['class']} | {f(c, 'iou_mean')}/{f(c, 'iou_min')} | "
            f"{f(o, 'iou_mean')}/{f(o, 'iou_min')} | "
            f"{s.get('n_bones', '-')}/{s.get('n_bones_template', '-')} | "
            f"{s.get('limbs', '-')}/{s.get('mid_chains', '-')} | "
            f"{'pass' if s.get('topology_ok') else 'FAIL'} | {f(s, 'joint_error')} | "
            f"{s.get('seconds', '-')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root", type=Path, help="synthetic benchmark root (artic3d synth)")
    ap.add_argument("--classes", default=",".join(CLASSES))
    ap.add_argument("--sets", default="clean,occluded")
    ap.add_argument("--size", type=int, default=512, help="crop size (the pipeline's mask size)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--pictures", type=Path, default=None)
    a = ap.parse_args(argv)
    rows = []
    for cls in a.classes.split(","):
        row = evaluate_class(
            a.root, cls, a.size, sets=tuple(a.sets.split(",")), pictures=a.pictures
        )
        rows.append(row)
        sys.stdout.write(json.dumps(row) + "\n")
        sys.stdout.flush()
    sys.stdout.write(format_table(rows) + "\n")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
