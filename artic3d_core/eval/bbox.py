"""Bounding-box transfer: the trivial keypoint-transfer baseline beside every PCK
(docs/method.md §10.1).

A source keypoint is normalised within the source animal's box and denormalised in the target
animal's box: ``q = b_t0 + (p − b_s0) / w_s · w_t``. The *mirrored* variant flips x within the
box (``u_x → 1 − u_x``) for the pairs whose animals face opposite ways, by a facing the caller
supplies (the method's own estimate, or the ground truth on the synthetic benchmark). Scored by
:func:`artic3d_core.eval.pck.score_transfers`, so exactly on the pairs, visibility and
threshold of :func:`~artic3d_core.eval.pck.pck_transfer`: a method's PCK means something only
above what this baseline reaches from the silhouette's extent alone.

Boxes are in crop units ``(x0, y0, x1, y1)`` (x right, y down, the crop side = 1), taken from
foreground masks (a pixel (r, c) of an S×S mask covers [c/S, (c+1)/S] × [r/S, (r+1)/S]); an
image whose mask is empty, or a dataset without masks, falls back to the box of the visible
keypoints; an image with neither gets the whole crop (its pairs are skipped anyway: it has no
visible keypoint).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from artic3d_core.eval.pck import PCKResult, check_keypoints, score_transfers

__all__ = ["Boxes", "bbox_transfer", "boxes_from_masks", "facing_from_azimuth", "pck_bbox"]

# source of an image's box
FROM_MASK = "mask"
FROM_KEYPOINTS = "keypoints"
FROM_CROP = "crop"


@dataclass(frozen=True)
class Boxes:
    """``boxes`` (B, 4) ``(x0, y0, x1, y1)`` in crop units; ``source[i]``: where image i's box
    came from (``mask`` / ``keypoints`` / ``crop``)."""

    boxes: np.ndarray
    source: tuple[str, ...]

    def count(self, source: str) -> int:
        return sum(s == source for s in self.source)


def _keypoint_box(kps: np.ndarray) -> np.ndarray | None:
    vis = kps[:, 2] > 0
    if not vis.any():
        return None
    pts = kps[vis, :2]
    return np.array([*pts.min(0), *pts.max(0)], dtype=np.float64)


def boxes_from_masks(masks: np.ndarray | None, kps: np.ndarray) -> Boxes:
    """Per-image boxes from ``masks`` ((B, H, W) bool, any resolution; None = no masks) with
    the visible-keypoint box of ``kps`` (B, K, 3) where a mask is empty or missing."""
    kps = np.asarray(kps, dtype=np.float64)
    n = kps.shape[0]
    if masks is not None:
        masks = np.asarray(masks).astype(bool)
        if masks.ndim != 3 or masks.shape[0] != n:
            raise ValueError(f"boxes_from_masks: masks must be ({n}, H, W), got {masks.shape}")
    out = np.zeros((n, 4))
    source = []
    for i in range(n):
        if masks is not None and masks[i].any():
            h, w = masks[i].shape
            rows = np.flatnonzero(masks[i].any(1))
            cols = np.flatnonzero(masks[i].any(0))
            out[i] = (cols[0] / w, rows[0] / h, (cols[-1] + 1) / w, (rows[-1] + 1) / h)
            source.append(FROM_MASK)
            continue
        box = _keypoint_box(kps[i])
        if box is None:
            out[i] = (0.0, 0.0, 1.0, 1.0)
            source.append(FROM_CROP)
        else:
            out[i] = box
            source.append(FROM_KEYPOINTS)
    return Boxes(out, tuple(source))


def facing_from_azimuth(azimuth_deg: np.ndarray) -> np.ndarray:
    """(B,) ±1: which way each animal faces in the image, ``sign(sin(azimuth))``.

    In the model's camera convention (docs/method.md §4.5; 0° = frontal, ±90° = side views) an
    animal at azimuth ``a`` and one at ``−a`` are mirror images, while ``a`` and ``180° − a``
    (its other side turned to the camera) face the same way. Only whether two images agree
    matters, so the global sign is arbitrary; exactly frontal/rear views (sin = 0) count as +1.
    """
    s = np.sin(np.radians(np.asarray(azimuth_deg, dtype=np.float64)))
    return np.where(s < 0, -1, 1)


def bbox_transfer(
    kps: np.ndarray, boxes: np.ndarray, facing: np.ndarray | None = None
) -> np.ndarray:
    """(B, B, K, 2): source keypoint k of image s mapped into image t through the two boxes.

    With ``facing`` (B,) ±1, x is flipped within the box for the pairs with
    ``facing[s] != facing[t]``. A box of zero width (height) maps to the middle of the target
    box along that axis.
    """
    kps = np.asarray(kps, dtype=np.float64)
    boxes = np.asarray(boxes, dtype=np.float64)
    n = kps.shape[0]
    if boxes.shape != (n, 4) or not np.all(np.isfinite(boxes)):
        raise ValueError(f"bbox_transfer: boxes must be finite ({n}, 4), got {boxes.shape}")
    lo, size = boxes[:, :2], boxes[:, 2:] - boxes[:, :2]
    if np.any(size < 0):
        raise ValueError("bbox_transfer: boxes must have x1 >= x0 and y1 >= y0")
    safe = np.where(size > 0, size, 1.0)
    u = np.where(size[:, None, :] > 0, (kps[..., :2] - lo[:, None, :]) / safe[:, None, :], 0.5)
    u = np.broadcast_to(u[:, None], (n, n, *u.shape[1:])).copy()  # (B_s, B_t, K, 2)
    if facing is not None:
        facing = np.asarray(facing)
        if facing.shape != (n,):
            raise ValueError(f"bbox_transfer: facing must be ({n},), got {facing.shape}")
        flip = np.sign(facing)[:, None] != np.sign(facing)[None, :]
        u[flip, :, 0] = 1.0 - u[flip, :, 0]
    return lo[None, :, None, :] + u * size[None, :, None, :]


def pck_bbox(
    kps: np.ndarray,
    boxes: np.ndarray,
    threshold: float = 0.1,
    facing: np.ndarray | None = None,
    *,
    mode: str | None = None,
    crop_scale: float | None = None,
) -> PCKResult:
    """Keypoint-transfer PCK of bounding-box transfer (mirrored where ``facing`` differs).

    ``mode`` labels the result (default ``bbox``, or ``bbox_mirror`` with ``facing``). Raises
    ValueError, as :func:`~artic3d_core.eval.pck.pck_transfer`, when no pair of images has a
    common visible keypoint.
    """
    kps = check_keypoints(kps, "pck_bbox")
    label = mode or ("bbox" if facing is None else "bbox_mirror")
    return score_transfers(
        bbox_transfer(kps, boxes, facing),
        kps,
        threshold,
        mode=label,
        crop_scale=crop_scale,
        name="pck_bbox",
    )
