"""An unannotated image folder of one species: crops come from a foreground estimate.

Foreground estimate (no learned model, documented so its failures are predictable): the image is
reduced to ≤ 128 px; the colours of a border band (6 % of the side) are summarised by k = 6
k-means centres; a pixel is foreground when its colour is farther from every border centre than
``threshold`` (default: the 97th percentile of the border pixels' own distances + 0.06, in RGB
units); the mask is cleaned by a binary opening, the largest connected component is kept and its
holes filled. The crop is then the square box s·max(w, h) around that component (s = 1.5, as the
reference uses for mask-derived boxes). It works for an animal on a background that differs from
the image border (the usual web photo); when the estimate is empty or covers > 90 % of the image,
the whole image is used and the record says so (``meta['fg_fallback']``). Keypoints are absent
(all zero); the estimate is kept in ``meta['fg_estimate']`` — it is not a ground-truth mask.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from artic3d_core.data.crop import square_box
from artic3d_core.data.image_io import IMAGE_SUFFIXES, read_image
from artic3d_core.data.policy import Policy, Problems
from artic3d_core.data.records import DataError, ImageRecord
from artic3d_core.data.safe_paths import check_name, path_inside

__all__ = ["estimate_foreground", "load_folder"]


def _kmeans(x: np.ndarray, k: int, iters: int = 8) -> np.ndarray:
    order = np.argsort(x.sum(1), kind="stable")
    centres = x[order[np.linspace(0, len(x) - 1, k).astype(int)]].copy()
    for _ in range(iters):
        lab = ((x[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
        for j in range(k):
            sel = lab == j
            if sel.any():
                centres[j] = x[sel].mean(0)
    return centres


def estimate_foreground(image: np.ndarray, max_side: int = 128, border: float = 0.06) -> np.ndarray:
    """(H, W, 3) float image → (H, W) bool foreground estimate (see the module docstring)."""
    h, w = image.shape[:2]
    f = min(1.0, max_side / max(h, w))
    sh, sw = max(8, round(h * f)), max(8, round(w * f))
    t = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
    small = F.interpolate(t, size=(sh, sw), mode="area")[0].permute(1, 2, 0).numpy()
    b = max(1, round(border * min(sh, sw)))
    ring = np.zeros((sh, sw), dtype=bool)
    ring[:b], ring[-b:], ring[:, :b], ring[:, -b:] = True, True, True, True
    border_px = small[ring].astype(np.float64)
    centres = _kmeans(border_px, k=min(6, len(border_px)))
    flat = small.reshape(-1, 3).astype(np.float64)
    dist = np.sqrt(((flat[:, None] - centres[None]) ** 2).sum(-1).min(1)).reshape(sh, sw)
    thr = float(np.quantile(dist[ring], 0.97)) + 0.06
    fg = ndimage.binary_opening(dist > thr, iterations=1)
    lab, n = ndimage.label(fg)
    if n == 0:
        return np.zeros((h, w), dtype=bool)
    sizes = ndimage.sum(fg, lab, index=np.arange(1, n + 1))
    fg = ndimage.binary_fill_holes(lab == (int(np.argmax(sizes)) + 1))
    up = F.interpolate(
        torch.from_numpy(fg.astype(np.float32))[None, None], size=(h, w), mode="nearest"
    )
    return up[0, 0].numpy() > 0.5


def load_folder(
    root: str | Path,
    cls: str,
    crop_scale: float = 1.5,
    policy: Policy = "skip",
    problems: Problems | None = None,
) -> list[ImageRecord]:
    """Load every image in ``<root>/<cls>/`` (or ``root`` itself if it holds the images), sorted
    by name; crop boxes from :func:`estimate_foreground`. ``cls`` must be a plain folder name."""
    root = Path(root)
    sub = path_inside(root, check_name(cls, "class"))
    folder = sub if sub.is_dir() else root
    if not folder.is_dir():
        raise DataError(f"{folder}: image folder not found")
    problems = problems or Problems(policy)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
    records = []
    for p in files:
        try:
            image = read_image(p)
        except DataError as exc:
            problems.report(str(exc))
            continue
        h, w = image.shape[:2]
        fg = estimate_foreground(image)
        frac = float(fg.mean())
        fallback = frac == 0.0 or frac > 0.9
        if fallback:
            box = square_box(0.0, 0.0, float(w), float(h), 1.0)
        else:
            ys, xs = np.nonzero(fg)
            left, top = float(xs.min()), float(ys.min())
            box = square_box(left, top, float(xs.max()) - left, float(ys.max()) - top, crop_scale)
        records.append(
            ImageRecord(
                image_id=p.stem,
                cls=cls,
                dataset="folder",
                set="clean",
                path=p,
                image=image,
                keypoints=np.zeros((14, 3), dtype=np.float32),
                crop_box=box,
                crop_scale=1.0 if fallback else float(crop_scale),
                meta={"fg_estimate": fg, "fg_fraction": frac, "fg_fallback": fallback},
            )
        )
    return records
