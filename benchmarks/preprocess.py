"""Acceptance figures of the offline features on the synthetic benchmark: offline foreground IoU per class
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
from artic3d_core.features.config import FeaturesConfig, OfflineConfig
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
    row: dict[str, Any] = {
        "class": cls,
        "seed": cfg.seed,
        "ensemble": cfg.offline.ensemble,
        "ensemble_keep_thin": cfg.offline.ensemble_keep_thin,
        "fill_padding": cfg.offline.fill_padding,
        "segment_size": cfg.offline.segment_size,
        "auto_candidates": sk_cfg.auto_candidates,
    }
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
        "| class | seed | IoU clean mean/min | IoU occl. mean/min | bones found/template | "
        "limbs/mid | topology | joint err | discovery s |"
    )
    lines = [head, "|" + "---|" * 9]
    # settings at their defaults are unmarked
    n_cand = SkeletonConfig.model_fields["auto_candidates"].default
    fill = OfflineConfig.model_fields["fill_padding"].default
    seg = OfflineConfig.model_fields["segment_size"].default
    for r in rows:
        c, o, s = r.get("clean", {}), r.get("occluded", {}), r.get("skeleton", {})

        def f(d: dict, k: str) -> str:
            return f"{d[k]:.3f}" if k in d else "-"

        lines.append(
            f"| {r['class']} | {r.get('seed', '-')}"
            f"{'' if r.get('ensemble', 1) == 1 else ' ×' + str(r['ensemble'])}"
            f"{' +thin' if r.get('ensemble', 1) > 1 and r.get('ensemble_keep_thin') else ''}"
            f"{(' fill' if r['fill_padding'] else ' nofill') if r.get('fill_padding', fill) != fill else ''}"
            f"{' s' + str(r['segment_size']) if r.get('segment_size', seg) != seg else ''}"
            f"{' c' + str(r['auto_candidates']) if r.get('auto_candidates', n_cand) != n_cand else ''} | "
            f"{f(c, 'iou_mean')}/{f(c, 'iou_min')} | "
            f"{f(o, 'iou_mean')}/{f(o, 'iou_min')} | "
            f"{s.get('n_bones', '-')}/{s.get('n_bones_template', '-')} | "
            f"{s.get('limbs', '-')}/{s.get('mid_chains', '-')} | "
            f"{'pass' if s.get('topology_ok') else 'FAIL'} | {f(s, 'joint_error')} | "
            f"{s.get('seconds', '-')} |"
        )
    return "\n".join(lines)


def seed_summary(rows: list[dict[str, Any]]) -> str:
    """Per class over its rows (seeds): clean mean IoU as mean ± sd, min…max, and how many
    seeds pass the topology check. One seed's figure is a draw: the offline masks of some
    classes move by several hundredths of IoU with the seed."""
    lines = []
    for cls in dict.fromkeys(r["class"] for r in rows):
        rs = [r for r in rows if r["class"] == cls and "clean" in r]
        if len(rs) < 2:
            continue
        v = np.array([r["clean"]["iou_mean"] for r in rs])
        ok = sum(bool(r.get("skeleton", {}).get("topology_ok")) for r in rs)
        lines.append(
            f"{cls}: clean IoU {v.mean():.3f} ± {v.std(ddof=1):.3f} "
            f"({v.min():.3f}…{v.max():.3f}, {len(rs)} seeds), topology {ok}/{len(rs)}"
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
    ap.add_argument(
        "--seeds", default="0", help="features seeds, comma-separated: one row per seed"
    )
    ap.add_argument(
        "--ensemble", type=int, default=1, help="features.offline.ensemble (voted seeds)"
    )
    ap.add_argument(
        "--keep-thin",
        type=float,
        default=0.0,
        help="features.offline.ensemble_keep_thin (with --ensemble > 1)",
    )
    ap.add_argument(
        "--no-fill-padding",
        action="store_true",
        help="features.offline.fill_padding: false (zero padding inside the filters)",
    )
    ap.add_argument(
        "--segment-size",
        type=int,
        default=None,
        help="features.offline.segment_size (default: the config's, 384)",
    )
    ap.add_argument(
        "--candidates",
        type=int,
        default=None,
        help="skeleton.auto_candidates (default: the config's, 15)",
    )
    a = ap.parse_args(argv)
    rows = []
    seeds = [int(v) for v in a.seeds.split(",")]
    for cls in a.classes.split(","):
        for seed in seeds:
            pics = a.pictures / f"seed{seed}" if a.pictures and len(seeds) > 1 else a.pictures
            cfg = FeaturesConfig(mask_size=a.size, seed=seed)
            cfg.offline.ensemble = a.ensemble
            cfg.offline.ensemble_keep_thin = a.keep_thin
            if a.no_fill_padding:
                cfg.offline.fill_padding = False
            if a.segment_size is not None:
                cfg.offline.segment_size = a.segment_size
            sk = SkeletonConfig()
            if a.candidates is not None:
                sk.auto_candidates = a.candidates
            row = evaluate_class(
                a.root, cls, a.size, cfg, sk, sets=tuple(a.sets.split(",")), pictures=pics
            )
            rows.append(row)
            sys.stdout.write(json.dumps(row) + "\n")
            sys.stdout.flush()
    sys.stdout.write(format_table(rows) + "\n")
    summary = seed_summary(rows)
    if summary:
        sys.stdout.write(summary + "\n")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
