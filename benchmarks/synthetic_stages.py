"""Which stage fails on a synthetic class: figures per class from finished run folders.

For every ``<runs>/synthetic/<class>/<method>/`` with an evaluation, prints

* masks — the preprocessing foreground (``preprocess/features/features.npz``) against the ground
  truth masks of the crops (``data/crops.npz``): mean IoU;
* skeleton — the discovered skeleton against the class template
  (:func:`artic3d_core.skeleton.compare.compare_to_template`): topology and chamfer (body lengths);
* camera — the evaluation's azimuth error, plain and mirror-invariant (degrees);
* pose / overall — the 3D joint error (% of the ground-truth extent), the fitted silhouette's
  mask IoU, PCK and the mirrored box baseline with ground-truth facing (``eval/metrics.json``).

With ``--picture``, a sheet of the first ``--per-class`` crops per class with the foreground
errors drawn over them (white: agreed, red: background taken as animal, blue: animal missed).

    python benchmarks/synthetic_stages.py runs/wide-s0 --method hi-lassie --picture stages.jpg
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from artic3d_core.data.synthetic import TEMPLATES
from artic3d_core.skeleton.compare import compare_to_template
from artic3d_core.skeleton.skeleton import Skeleton


def class_figures(cls_dir: Path, method: str) -> dict | None:
    """The figures of one class folder, or None when its evaluation is missing."""
    mdir = cls_dir / method
    metrics_file = mdir / "eval" / "metrics.json"
    if not metrics_file.is_file():
        return None
    fg = np.load(mdir / "preprocess" / "features" / "features.npz")["masks"] > 0
    crops = np.load(cls_dir / "data" / "crops.npz")
    gt = crops["masks"]
    iou = [(a & b).sum() / max((a | b).sum(), 1) for a, b in zip(fg, gt, strict=True)]
    m = json.loads(metrics_file.read_text())
    out = {
        "cls": cls_dir.name,
        "fg_iou": float(np.mean(iou)),
        "azim_err": m.get("clean/azim_err_deg"),
        "azim_err_mirror": m.get("clean/azim_err_mirror_deg"),
        "joint_err": m.get("clean/joint3d_err_rel"),
        "mask_iou": m.get("clean/mask_iou"),
        "pck": m.get("clean/pck"),
        "box_mirror_gt": m.get("clean/pck_bbox_mirror_gt"),
        "images": crops["images"],
        "fg": fg,
        "gt": gt,
    }
    tmpl = TEMPLATES.get(cls_dir.name)
    if tmpl is not None:
        rep = compare_to_template(
            Skeleton.load(mdir / "skeleton" / "skeleton.json"), tmpl.skeleton(), tmpl.biped
        )
        out["skeleton_ok"] = rep.topology_ok
        out["skeleton_chamfer"] = rep.chamfer
    return out


def error_overlay(image: np.ndarray, fg: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8: the image dimmed, agreed pixels lightened, false positives red, misses
    blue."""
    out = image.astype(np.float64) * 0.55
    out[fg & gt] = out[fg & gt] * 0.5 + 120
    out[fg & ~gt] = (230, 40, 40)
    out[~fg & gt] = (40, 90, 235)
    return np.clip(out, 0, 255).astype(np.uint8)


def picture(figs: list[dict], per_class: int, thumb: int = 112) -> Image.Image:
    sheet = Image.new("RGB", (per_class * thumb, len(figs) * thumb), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for r, f in enumerate(figs):
        for c in range(min(per_class, len(f["images"]))):
            tile = error_overlay(f["images"][c], f["fg"][c], f["gt"][c])
            sheet.paste(Image.fromarray(tile).resize((thumb, thumb)), (c * thumb, r * thumb))
        draw.rectangle((0, r * thumb, 96, r * thumb + 11), fill=(0, 0, 0))
        draw.text((2, r * thumb), f"{f['cls']} fg {f['fg_iou']:.2f}", fill=(255, 255, 255))
    return sheet


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path, help="a pipeline.run_dir (holding synthetic/<class>/)")
    ap.add_argument("--method", default="hi-lassie")
    ap.add_argument("--picture", type=Path, default=None)
    ap.add_argument("--per-class", type=int, default=6)
    a = ap.parse_args(argv)
    figs = [
        f
        for d in sorted((a.runs / "synthetic").iterdir())
        if (f := class_figures(d, a.method)) is not None
    ]
    cols = ["fg_iou", "skeleton_ok", "skeleton_chamfer", "azim_err", "azim_err_mirror"]
    cols += ["joint_err", "mask_iou", "pck", "box_mirror_gt"]
    print("class      " + " ".join(f"{c:>16}" for c in cols))
    for f in figs:
        cells = []
        for c in cols:
            v = f.get(c)
            cells.append(f"{v:>16.3f}" if isinstance(v, float) else f"{v!s:>16}")
        print(f"{f['cls']:<10} " + " ".join(cells))
    if figs:
        print(f"mean fg IoU {np.mean([f['fg_iou'] for f in figs]):.3f} over {len(figs)} classes")
    if a.picture and figs:
        picture(figs, a.per_class).save(a.picture, quality=85)
        print(f"wrote {a.picture}")


if __name__ == "__main__":
    main()
