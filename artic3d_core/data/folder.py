"""An unannotated image folder of one species: where each crop comes from, and why.

Each image's crop box comes from the first source that applies, and the record says which
(``meta['box_source']``, with ``meta['box_note']`` for the fallback's reason; every choice is
logged at INFO, one line per image):

1. ``user``: a box the user gives in ``boxes.csv`` / ``boxes.json`` beside the images
   (:mod:`artic3d_core.data.boxes`); the crop is the square s·max(w, h) around it.
2. ``alpha``: a transparent background (a cut-out PNG / WebP): the opaque pixels' box.
3. ``saliency``: a saliency map of the whole photo from a function the caller supplies (the
   data stage passes DINO's CLS attention with real weights,
   :func:`artic3d_core.pipeline.stages.folder_saliency`): its largest component above half
   its range, when that is under 90 % of the photo.
4. ``estimate``: the border-colour foreground estimate (:func:`estimate_foreground`), when it
   passes :func:`check_estimate`.
5. ``whole``: otherwise the whole image, padded to a square (side max(W, H), crop scale 1).

Foreground estimate (no learned model, documented so its failures are predictable): the image is
reduced to ≤ 128 px; the colours of a border band (6 % of the side) are summarised by k = 6
k-means centres; a pixel is foreground when its colour is farther from every border centre than
the 97th percentile of the border pixels' own distances + 0.06 (RGB units); a binary opening,
then the largest connected component with its holes filled. On real photographs (grass, trees,
fences) the background is rarely one colour and the component is often a patch of the animal or
of the ground, so it is only trusted when it is large, holds most of what was detected and is
not a strip along one image edge (:func:`check_estimate`); otherwise the whole image is the
safer crop, since a crop that cuts the animal cannot be repaired later. Keypoints are absent
(all zero); the estimate is kept in ``meta['fg_estimate']`` — it is not a ground-truth mask.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from artic3d_core.data.boxes import UserBox, read_boxes
from artic3d_core.data.crop import square_box
from artic3d_core.data.image_io import IMAGE_SUFFIXES, MAX_SIDE, read_photo
from artic3d_core.data.policy import Policy, Problems
from artic3d_core.data.records import DataError, ImageRecord
from artic3d_core.data.safe_paths import check_name, path_inside

__all__ = [
    "BOX_SOURCES",
    "EstimateCheck",
    "SaliencyFn",
    "check_estimate",
    "estimate_foreground",
    "largest_component_box",
    "load_folder",
]

log = logging.getLogger("artic3d.data")

BOX_SOURCES = ("user", "alpha", "saliency", "estimate", "whole")
# (H, W, 3) float32 image → (h, w) float saliency in [0, 1] at any resolution
SaliencyFn = Callable[[np.ndarray], np.ndarray]


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


def _border_distance_mask(image: np.ndarray, max_side: int, border: float) -> np.ndarray:
    """(H, W, 3) → (h, w) bool at ≤ ``max_side``: colours far from every border colour, opened."""
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
    return ndimage.binary_opening(dist > thr, iterations=1)


def _largest(fg: np.ndarray) -> tuple[np.ndarray, float]:
    """(h, w) bool → (its largest component, that component's share of all of ``fg``)."""
    lab, n = ndimage.label(fg)
    if n == 0:
        return np.zeros_like(fg), 0.0
    sizes = ndimage.sum(fg, lab, index=np.arange(1, n + 1))
    j = int(np.argmax(sizes))
    return lab == j + 1, float(sizes[j] / sizes.sum())


def _upsample(fg: np.ndarray, h: int, w: int) -> np.ndarray:
    up = F.interpolate(
        torch.from_numpy(fg.astype(np.float32))[None, None], size=(h, w), mode="nearest"
    )
    return up[0, 0].numpy() > 0.5


def estimate_foreground(image: np.ndarray, max_side: int = 128, border: float = 0.06) -> np.ndarray:
    """(H, W, 3) float image → (H, W) bool foreground estimate (see the module docstring)."""
    h, w = image.shape[:2]
    obj, _ = _largest(_border_distance_mask(image, max_side, border))
    return _upsample(ndimage.binary_fill_holes(obj), h, w)


@dataclass(frozen=True)
class EstimateCheck:
    """Whether a foreground estimate can place the crop: ``confident``, and ``reason`` (why not,
    or "ok"); ``fraction`` of the image it covers, ``share`` of the detected pixels it holds."""

    confident: bool
    reason: str
    fraction: float
    share: float


def check_estimate(
    fg: np.ndarray,
    detected: np.ndarray | None = None,
    min_fraction: float = 0.1,
    max_fraction: float = 0.9,
    min_share: float = 0.8,
) -> EstimateCheck:
    """Validate an (H, W) bool estimate (one component) against everything ``detected``
    ((H, W) bool, default: ``fg``): confident when it covers ``min_fraction`` … ``max_fraction``
    of the image, holds at least ``min_share`` of the detected pixels (not fragmented) and does
    not touch exactly one image edge (a strip of ground or sky along it).

    The thresholds were set on real side-view horse photographs (benchmarks/real_masks.py),
    where every estimate that passed contained the horse; a smaller or fragmented one was a
    patch of coat or of grass. They are checked on the synthetic animals too (tests)."""
    detected = fg if detected is None else detected
    frac = float(fg.mean())
    share = float(fg.sum() / max(detected.sum(), 1))
    if frac == 0.0:
        return EstimateCheck(False, "no foreground found", frac, share)
    if frac < min_fraction:
        return EstimateCheck(False, f"estimate too small ({frac:.0%} of the image)", frac, share)
    if frac > max_fraction:
        return EstimateCheck(False, f"estimate covers {frac:.0%} of the image", frac, share)
    if share < min_share:
        return EstimateCheck(
            False, f"estimate fragmented (largest part {share:.0%} of it)", frac, share
        )
    edges = [fg[0].any(), fg[-1].any(), fg[:, 0].any(), fg[:, -1].any()]
    if sum(edges) == 1:
        return EstimateCheck(False, "estimate touches one image edge only", frac, share)
    return EstimateCheck(True, "ok", frac, share)


def largest_component_box(fg: np.ndarray) -> tuple[float, float, float, float] | None:
    """(H, W) bool → (left, top, w, h) in pixels of its largest component, None if empty."""
    obj, _ = _largest(fg)
    if not obj.any():
        return None
    ys, xs = np.nonzero(obj)
    return (
        float(xs.min()),
        float(ys.min()),
        float(xs.max() - xs.min() + 1),
        float(ys.max() - ys.min() + 1),
    )


def _saliency_box(
    sal: np.ndarray, h: int, w: int, threshold: float = 0.5
) -> tuple[float, float, float, float] | None:
    """(h', w') saliency in [0, 1] → the box (pixels of the (h, w) image) of its largest
    component above ``threshold`` × its maximum; None for a flat map."""
    sal = np.asarray(sal, dtype=np.float32)
    if sal.ndim != 2 or not np.isfinite(sal).all() or sal.max() <= sal.min():
        return None
    on = sal > sal.min() + threshold * (sal.max() - sal.min())
    box = largest_component_box(on)
    if box is None:
        return None
    fy, fx = h / sal.shape[0], w / sal.shape[1]
    return box[0] * fx, box[1] * fy, box[2] * fx, box[3] * fy


@dataclass(frozen=True)
class _Choice:
    box: tuple[int, int, int]
    scale: float
    source: str
    note: str


def _choose_box(
    image: np.ndarray,
    alpha: np.ndarray | None,
    user: tuple[float, float, float, float] | None,
    saliency: SaliencyFn | None,
    fg: np.ndarray,
    check: EstimateCheck,
    crop_scale: float,
) -> _Choice:
    """The crop of one image from the first source that applies (module docstring)."""
    h, w = image.shape[:2]
    if user is not None:
        x0, y0, x1, y1 = user
        return _Choice(square_box(x0, y0, x1 - x0, y1 - y0, crop_scale), crop_scale, "user", "")
    if alpha is not None:
        b = largest_component_box(alpha > 0.5)
        if b is not None:
            return _Choice(square_box(*b, crop_scale), crop_scale, "alpha", "")
    if saliency is not None:
        b = _saliency_box(saliency(image), h, w)
        if b is not None and b[2] * b[3] < 0.9 * h * w:
            return _Choice(square_box(*b, crop_scale), crop_scale, "saliency", "")
    if check.confident:
        b = largest_component_box(fg)
        assert b is not None
        return _Choice(square_box(*b, crop_scale), crop_scale, "estimate", "")
    return _Choice(square_box(0.0, 0.0, float(w), float(h), 1.0), 1.0, "whole", check.reason)


def _user_box(
    name: str, box: UserBox, w: int, h: int, scale: float, problems: Problems
) -> tuple[float, float, float, float] | None:
    """A user box in pixels of the read image, or None (reported) when it misses the image."""
    x0, y0, x1, y1 = box.pixels(w, h, scale)
    ix0, iy0, ix1, iy1 = max(x0, 0.0), max(y0, 0.0), min(x1, float(w)), min(y1, float(h))
    if ix1 - ix0 < 1 or iy1 - iy0 < 1:
        problems.report(
            f"{name}: the {box.source} box ({x0:.0f}, {y0:.0f}, {x1:.0f}, {y1:.0f}) lies outside "
            f"the {w}x{h} image",
            what="box",
        )
        return None
    if box.others:
        log.info("%s: %d more box(es) given; the largest is used", name, box.others)
    return x0, y0, x1, y1


def load_folder(
    root: str | Path,
    cls: str,
    crop_scale: float = 1.5,
    policy: Policy = "skip",
    problems: Problems | None = None,
    saliency: SaliencyFn | None = None,
    max_side: int = MAX_SIDE,
) -> list[ImageRecord]:
    """Load every image in ``<root>/<cls>/`` (or ``root`` itself if it holds the images), sorted
    by name, each with its crop box and the box's source (module docstring). Unreadable files
    are reported to ``problems`` (one line each) and skipped; images over ``max_side`` px are
    downscaled on reading (user boxes are scaled with them). ``cls`` must be a plain folder
    name."""
    root = Path(root)
    sub = path_inside(root, check_name(cls, "class"))
    folder = sub if sub.is_dir() else root
    if not folder.is_dir():
        raise DataError(f"{folder}: image folder not found")
    problems = problems or Problems(policy)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
    boxes = read_boxes(folder) or {}
    unknown = sorted(set(boxes) - {p.name for p in files})
    if unknown:
        problems.report(
            f"{folder}: boxes given for files that are not images here: {', '.join(unknown[:5])}"
            + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""),
            what="boxes",
        )
    records = []
    for p in files:
        try:
            photo = read_photo(p, max_side)
        except DataError as exc:
            problems.report(str(exc))
            continue
        image = photo.rgb
        h, w = image.shape[:2]
        user = None
        if p.name in boxes:
            user = _user_box(str(p), boxes[p.name], w, h, photo.scale, problems)
        raw = _border_distance_mask(image, 128, 0.06)
        obj, _ = _largest(raw)
        check = check_estimate(obj, raw)
        fg = _upsample(ndimage.binary_fill_holes(obj), h, w)
        c = _choose_box(image, photo.alpha, user, saliency, fg, check, crop_scale)
        log.info(
            "%s: crop (left %d, top %d, side %d) from %s%s",
            p.name, *c.box, c.source, f" ({c.note})" if c.note else "",
        )  # fmt: skip
        records.append(
            ImageRecord(
                image_id=p.stem,
                cls=cls,
                dataset="folder",
                set="clean",
                path=p,
                image=image,
                keypoints=np.zeros((14, 3), dtype=np.float32),
                crop_box=c.box,
                crop_scale=c.scale,
                meta={
                    "fg_estimate": fg,
                    "fg_fraction": check.fraction,
                    "fg_fallback": c.source == "whole",
                    "box_source": c.source,
                    "box_note": c.note,
                    "read_scale": photo.scale,
                },
            )
        )
    return records
