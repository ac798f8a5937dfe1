"""Diagnostic figures of skeleton discovery's camera-view initialisation (``view_init``) on the
synthetic benchmark: per class, facing accuracy and initial azimuth error against ground truth.

    # generate once (< 1 min), then measure (offline part masks, or ground-truth part masks)
    python -c "from artic3d_core.data.synthetic import generate; \
generate('/tmp/synth_wide_dev', None, seed=0, preset='wide', split='dev', n_clean=12, \
n_occluded=0, image_size=256)"
    python benchmarks/view_init.py /tmp/synth_wide_dev --json view_init.json
    python benchmarks/view_init.py /tmp/synth_wide_dev --masks gt

Images go through the pipeline's path: ``load_class("synthetic", ...)`` → ``crop_record``
(``--size`` px) → ``extract_features(..., "offline")`` label masks (0 = background, 1..k
clusters); ``--masks gt`` uses the cropped ground-truth part masks instead (LASSIE slots 1..16,
k = 16), which separates mask errors from the init rule. The masks are then prepared exactly as
``discover_skeleton`` does (:func:`discovery_masks` at ``skeleton.mask_size``) and passed to
:func:`view_init`. Ground truth is read only here, to score.

Convention: the init's azimuth is facing × rank/(B−1) × 90°, facing +1 when the head anchor
lies to the image's +x. The ground-truth azimuth is ``global_rot[2]`` (docs/method.md §4.5):
0° = head towards the camera, +90° = side view with the head towards image +x (checked on the
rendered eye keypoints), ±180° = back view. So both share one sign convention and GT facing =
sign(sin az). Since the init's class-wide facing sign is arbitrary (the anchor may be the tail),
one global flip per class is allowed: facing accuracy = max(agree, 1 − agree), and the azimuth
errors (:func:`artic3d_core.eval.ground_truth.azimuth_error`, plain and mirror-invariant about
90°, i.e. front ↔ back) are taken after that flip. front/back = fraction of GT views with
|cos az| > 0.7 (the init cannot represent back views); "side" figures (facing accuracy under
the same flip, mirror-invariant mean error) are over the other views.
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
from artic3d_core.data.synthetic import load_ground_truth
from artic3d_core.eval.ground_truth import azimuth_error
from artic3d_core.features.config import FeaturesConfig
from artic3d_core.features.extract import extract_features
from artic3d_core.skeleton.config import SkeletonConfig
from artic3d_core.skeleton.discovery import discovery_masks, view_init

CLASSES = ("zebra", "penguin", "badger", "elephant", "tiger", "giraffe", "kangaroo", "flamingo")
GT_PARTS = 16  # LASSIE part slots of the synthetic part masks


def evaluate_class(
    root: Path,
    cls: str,
    size: int = 256,
    masks: str = "offline",
    sets: tuple[str, ...] = ("clean",),
) -> dict[str, Any]:
    """view_init figures of one synthetic class (all images of ``sets`` as one batch)."""
    recs = load_class("synthetic", root, cls, sets=sets)
    crops = [crop_record(r, size) for r in recs]
    t0 = time.perf_counter()
    if masks == "gt":
        lab = np.stack([c.part_mask.astype(np.int64) * c.mask for c in crops])
        k = GT_PARTS
    else:
        cfg = FeaturesConfig(mask_size=size)
        res = extract_features(torch.stack([c.image for c in crops]), "offline", cfg)
        lab, k = res.masks, cfg.n_clusters
    feat_sec = time.perf_counter() - t0
    views = view_init(discovery_masks(lab, SkeletonConfig().mask_size), k)
    gts = {(g.set, g.image_id): g for g in load_ground_truth(root, cls)}
    gt_az = np.array([float(gts[(r.set, r.image_id)].global_rot[2]) for r in recs])
    gt_deg = np.degrees(gt_az)
    gt_face = np.where(np.sin(gt_az) >= 0, 1.0, -1.0)
    face = np.where(views.flipped, -1.0, 1.0)
    agree = float((face == gt_face).mean())
    sign = 1.0 if agree >= 0.5 else -1.0
    pred_deg = sign * np.degrees(views.azimuth)
    err = azimuth_error(pred_deg, gt_deg, mirror_center_deg=90.0)
    fb = np.abs(np.cos(gt_az)) > 0.7
    side = err.per_image_mirror_deg[~fb]
    agree_side = float((face == sign * gt_face)[~fb].mean()) if (~fb).any() else float("nan")
    return {
        "class": cls,
        "masks": masks,
        "n": len(recs),
        "global_flip": sign < 0,
        "facing_acc": round(max(agree, 1.0 - agree), 3),
        "facing_acc_side": round(agree_side, 3),
        "err_mean": round(err.mean_deg, 1),
        "err_median": round(float(np.median(err.per_image_deg)), 1),
        "err_mirror_mean": round(err.mean_mirror_deg, 1),
        "err_mirror_median": round(float(np.median(err.per_image_mirror_deg)), 1),
        "err_side_mirror_mean": round(float(side.mean()), 1) if side.size else None,
        "front_back_frac": round(float(fb.mean()), 3),
        "anchor": int(views.anchor),
        "anchor_is_head": bool(views.anchor_is_head),
        "per_image": [
            {"id": r.image_id, "gt_deg": round(float(g), 1), "init_deg": round(float(p), 1)}
            for r, g, p in zip(recs, gt_deg, pred_deg, strict=True)
        ],
        "seconds": round(time.perf_counter() - t0, 1),
        "features_seconds": round(feat_sec, 1),
    }


def format_table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| class | masks | n | flip | facing acc all/side | err mean/median ° | mirror-inv mean/median ° | "
        "side err ° | front/back | anchor | s |"
    )
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        side = r["err_side_mirror_mean"]
        lines.append(
            f"| {r['class']} | {r['masks']} | {r['n']} | {'yes' if r['global_flip'] else 'no'} | "
            f"{r['facing_acc']:.2f}/{r['facing_acc_side']:.2f} | {r['err_mean']:.1f}/{r['err_median']:.1f} | "
            f"{r['err_mirror_mean']:.1f}/{r['err_mirror_median']:.1f} | "
            f"{'-' if side is None else f'{side:.1f}'} | {r['front_back_frac']:.2f} | "
            f"{r['anchor']}{'h' if r['anchor_is_head'] else 't'} | {r['seconds']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root", type=Path, help="synthetic benchmark root (artic3d synth)")
    ap.add_argument("--classes", default=",".join(CLASSES))
    ap.add_argument("--sets", default="clean", help="image sets, one batch per class")
    ap.add_argument("--size", type=int, default=256, help="crop size = features mask size")
    ap.add_argument("--masks", choices=("offline", "gt"), default="offline")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    rows = []
    for cls in a.classes.split(","):
        row = evaluate_class(a.root, cls, a.size, a.masks, tuple(a.sets.split(",")))
        rows.append(row)
        brief = {k: v for k, v in row.items() if k != "per_image"}
        sys.stdout.write(json.dumps(brief) + "\n")
        sys.stdout.flush()
    sys.stdout.write(format_table(rows) + "\n")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
