"""Foreground masks and crops on real photographs with ground-truth masks (e.g. the Weizmann
horses): per image the crop's recall of the animal and the mask IoU, then mean / median /
minimum and the worst three.

    python benchmarks/real_masks.py <root> --cls horse --json out.json --pictures pics/
    python benchmarks/real_masks.py <root> --cls horse --seeds 0,1,2   # + spread over seeds

``<root>`` holds ``images/<name>.<ext>`` and ``masks/<name>.png`` (0 background, > 127 animal,
pixel-aligned). Images go through the pipeline's own path: as an image folder
(:func:`~artic3d_core.data.folder.load_folder`, crop boxes from its sources) →
:func:`~artic3d_core.data.crop.crop_record` (``--size`` px) → ``extract_features(...,
backend)``; masks are read only here, to score. ``--boxes gt`` writes a ``boxes.csv`` of the
masks' bounding boxes beside the images (the user-box path) instead. Recall = fraction of the
animal's pixels inside the crop box; IoU is taken inside the crop (nearest-resized masks).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from artic3d_core.data.crop import CropInfo, crop_record
from artic3d_core.data.folder import load_folder
from artic3d_core.data.image_io import IMAGE_SUFFIXES
from artic3d_core.features.config import FeaturesConfig
from artic3d_core.features.extract import extract_features


def read_mask(path: Path) -> np.ndarray:
    """(H, W) bool animal mask of a ground-truth PNG."""
    return np.asarray(Image.open(path).convert("L")) > 127


def box_recall(mask: np.ndarray, box: tuple[int, int, int]) -> float:
    """Fraction of the (H, W) bool ``mask`` inside the square (left, top, side) ``box``."""
    left, top, side = box
    inside = np.zeros_like(mask)
    inside[max(top, 0) : max(top + side, 0), max(left, 0) : max(left + side, 0)] = True
    return float((mask & inside).sum() / max(mask.sum(), 1))


def stage_folder(root: Path, cls: str, work: Path, gt_boxes: bool) -> Path:
    """``work/<cls>/`` with links to ``root/images/*`` (and a ``boxes.csv`` of the masks'
    boxes when ``gt_boxes``); returns the folder."""
    d = work / cls
    d.mkdir(parents=True)
    rows = ["file,x0,y0,x1,y1"]
    for p in sorted((root / "images").iterdir()):
        if p.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        (d / p.name).symlink_to(p.resolve())
        if gt_boxes:
            ys, xs = np.nonzero(read_mask(root / "masks" / f"{p.stem}.png"))
            rows.append(f"{p.name},{xs.min()},{ys.min()},{xs.max() + 1},{ys.max() + 1}")
    if gt_boxes:
        (d / "boxes.csv").write_text("\n".join(rows) + "\n")
    return d


def evaluate(
    root: Path,
    cls: str,
    backend: str = "offline",
    size: int = 512,
    crop_scale: float = 1.5,
    gt_boxes: bool = False,
    cfg: FeaturesConfig | None = None,
    pictures: Path | None = None,
) -> dict[str, Any]:
    """Per-image rows and the summary of one photo set."""
    cfg = cfg or FeaturesConfig(mask_size=size)
    with tempfile.TemporaryDirectory() as tmp:
        stage_folder(root, cls, Path(tmp), gt_boxes)
        recs = load_folder(tmp, cls, crop_scale)
        gts = [read_mask(root / "masks" / f"{r.image_id}.png") for r in recs]
    for r, m in zip(recs, gts, strict=True):
        if m.shape != r.image.shape[:2]:
            raise ValueError(f"{r.image_id}: mask {m.shape} and image {r.image.shape[:2]} differ")
        r.mask = m
    crops = [crop_record(r, size) for r in recs]
    x = torch.stack([c.image for c in crops])
    t0 = time.perf_counter()
    info = [CropInfo(c.scale, str(r.meta["box_source"])) for c, r in zip(crops, recs, strict=True)]
    res = extract_features(x, backend, cfg, crops=info)
    sec = time.perf_counter() - t0
    fg = torch.nn.functional.interpolate(res.masks[:, None].float(), size=(size, size))[:, 0] > 0
    rows = []
    for i, (r, c) in enumerate(zip(recs, crops, strict=True)):
        gt, pred = c.mask, fg[i].numpy()
        iou = float((gt & pred).sum() / max((gt | pred).sum(), 1))
        rows.append(
            {
                "image": r.image_id,
                "source": r.meta["box_source"],
                "recall": round(box_recall(r.mask, r.crop_box), 4),
                "iou": round(iou, 4),
            }
        )
    if pictures is not None:
        from artic3d_core.features.picture import save_cluster_overlays

        worst = sorted(range(len(rows)), key=lambda i: rows[i]["iou"])[:6]
        save_cluster_overlays(x[worst], res.masks[worst], pictures / cls)
    iou = np.array([r["iou"] for r in rows])
    rec = np.array([r["recall"] for r in rows])
    return {
        "set": str(root),
        "cls": cls,
        "backend": backend,
        "boxes": "gt" if gt_boxes else "auto",
        "n": len(rows),
        "recall_mean": round(float(rec.mean()), 4),
        "recall_min": round(float(rec.min()), 4),
        "recall_below_0.95": int((rec < 0.95).sum()),
        "iou_mean": round(float(iou.mean()), 4),
        "iou_median": round(float(np.median(iou)), 4),
        "iou_min": round(float(iou.min()), 4),
        "worst": sorted(rows, key=lambda r: r["iou"])[:3],
        "sources": {
            s: sum(r["source"] == s for r in rows) for s in sorted({r["source"] for r in rows})
        },
        "seconds": round(sec, 1),
        "rows": rows,
    }


def seed_spread(outs: list[dict[str, Any]]) -> str:
    """One line: mean ± standard deviation (ddof 1) over seeds of the mean and minimum IoU, and
    the per-seed means."""
    m = np.array([o["iou_mean"] for o in outs])
    lo = np.array([o["iou_min"] for o in outs])
    per = ", ".join(f"seed {o['seed']} {o['iou_mean']:.4f}" for o in outs)
    return (
        f"IoU mean {m.mean():.4f} ± {m.std(ddof=1):.4f}, minimum {lo.mean():.4f} ± "
        f"{lo.std(ddof=1):.4f} over {len(outs)} seeds ({per})"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root", type=Path, help="folder with images/ and masks/")
    ap.add_argument("--cls", default="animal", help="class name (the folder's name)")
    ap.add_argument("--backend", default="offline", choices=("offline", "dino"))
    ap.add_argument("--size", type=int, default=512, help="crop size (the pipeline's mask size)")
    ap.add_argument("--crop-scale", type=float, default=1.5, help="data.folder_crop_scale")
    ap.add_argument("--boxes", default="auto", choices=("auto", "gt"))
    ap.add_argument(
        "--seeds", default="0", help="features seeds, comma-separated: a summary per seed + spread"
    )
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--pictures", type=Path, default=None, help="overlays of the worst six")
    a = ap.parse_args(argv)
    outs = []
    for seed in [int(v) for v in a.seeds.split(",")]:
        cfg = FeaturesConfig(mask_size=a.size, seed=seed)
        pics = a.pictures / f"seed{seed}" if a.pictures and "," in a.seeds else a.pictures
        out = evaluate(a.root, a.cls, a.backend, a.size, a.crop_scale, a.boxes == "gt", cfg, pics)
        out["seed"] = seed
        for r in out["rows"]:
            sys.stdout.write(
                f"{r['image']:>24} {r['source']:>9} recall {r['recall']:.3f} IoU {r['iou']:.3f}\n"
            )
        sys.stdout.write(json.dumps({k: v for k, v in out.items() if k != "rows"}) + "\n")
        sys.stdout.flush()
        outs.append(out)
    if len(outs) > 1:
        sys.stdout.write(seed_spread(outs) + "\n")
    if a.json:
        a.json.write_text(json.dumps(outs[0] if len(outs) == 1 else outs, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
