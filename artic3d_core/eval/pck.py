"""Keypoint-transfer PCK (docs/method.md §10.1) on plain arrays — no model needed.

For every ordered pair (s, t), s ≠ t: each GT keypoint of the source image goes to the nearest
*visible* vertex of the source instance's 2D projection; the same vertex index (same part, same
template vertex) projected in the target instance is the transferred keypoint; its distance to
the target's GT keypoint, in crop units, is compared with ``threshold`` (``<=``, as the reference
code). Valid keypoints are those visible in both GT annotations. A pair with no common visible
keypoint is *skipped and counted*; PCK is the mean of the pair scores over the used pairs (macro
over pairs), so it is never NaN.

``mode="reference"`` reproduces the reference ``eval.py`` (Hi-LASSIE / ARTIC3D) instead:

1. indexing defect — the nearest-vertex search runs over the *flattened projections of every
   image* of the batch, and the transferred point is read at the same flat index of the batch
   computed with the target instance's networks. Pass ``verts_2d_full`` (B, B, V, 2) /
   ``visible_full`` (B, B, V) — entry [i, b] = image b posed with instance i's networks — to
   reproduce it exactly; without them the per-instance arrays stand in for every row
   (``full[i, b] = verts_2d[b]``, exact when instance-specific deformations are off), which makes
   the transferred point the projection found in the search itself, i.e. ≈ the *source* keypoint;
2. background-face quirk — ``pix_to_face.unique()`` contains the background id −1 and
   ``packed_faces[-1]`` marks the three vertices of the last face of the last mesh of the batch
   visible. Pass ``faces`` (F, 3; per-instance vertex indices of the combined all-parts mesh in
   the order the renderer packs them) to reproduce it (assumes some background pixel exists,
   which holds for any crop where the animal does not fill the whole render).

Not reproduced: the reference gives NaN for the whole class when a pair has no common visible
keypoint; here such pairs are skipped in both modes (``pairs_skipped`` says how many).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

__all__ = ["PCKResult", "check_keypoints", "pck_transfer", "score_transfers"]

log = logging.getLogger(__name__)

PCKMode = Literal["paper", "reference"]


@dataclass(frozen=True)
class PCKResult:
    """Keypoint-transfer PCK of one class.

    ``pck`` is a fraction in [0, 1] (×100 for the paper's tables). ``per_pair[s, t]`` is the
    score of the ordered pair (source s, target t); NaN on the diagonal and for skipped pairs.
    ``keypoints_used`` / ``keypoints_correct`` give the micro average if wanted;
    ``per_keypoint[k]`` is keypoint k's fraction of correct transfers over the used pairs where
    it is valid (NaN where it never is), a diagnostic of which parts transfer badly.
    """

    pck: float
    pairs_used: int
    pairs_skipped: int
    per_pair: np.ndarray = field(repr=False)
    threshold: float
    crop_scale: float | None
    mode: str
    images: int
    keypoints_used: int
    keypoints_correct: int
    sources_without_visible_vertex: tuple[int, ...] = ()
    per_keypoint: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)


def _check_inputs(
    verts_2d: np.ndarray, visible: np.ndarray, kps: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    verts_2d = np.asarray(verts_2d, dtype=np.float64)
    visible = np.asarray(visible)
    kps = np.asarray(kps, dtype=np.float64)
    if verts_2d.ndim != 3 or verts_2d.shape[-1] != 2:
        raise ValueError(f"pck_transfer: verts_2d must be (B, V, 2), got {verts_2d.shape}")
    b, v, _ = verts_2d.shape
    if visible.shape != (b, v):
        raise ValueError(f"pck_transfer: visible must be (B, V) = {(b, v)}, got {visible.shape}")
    if kps.ndim != 3 or kps.shape[0] != b or kps.shape[2] != 3:
        raise ValueError(f"pck_transfer: kps must be (B, K, 3) with B = {b}, got {kps.shape}")
    if b < 2:
        raise ValueError(f"pck_transfer: needs at least 2 images, got {b}")
    if not np.all(np.isfinite(verts_2d)):
        raise ValueError("pck_transfer: verts_2d contains NaN or inf")
    if not np.all(np.isfinite(kps)):
        raise ValueError("pck_transfer: kps contains NaN or inf")
    return verts_2d, visible.astype(bool), kps


def _nearest_visible(points: np.ndarray, cand: np.ndarray, cand_vis: np.ndarray) -> np.ndarray:
    """Index into ``cand`` (N, 2) of the nearest visible candidate for each of ``points`` (K, 2).

    Ties go to the lowest index (as ``argmin`` in the reference). -1 when nothing is visible.
    """
    idx = np.flatnonzero(cand_vis)
    if idx.size == 0:
        return np.full(points.shape[0], -1, dtype=np.int64)
    d2 = ((points[:, None, :] - cand[None, idx, :]) ** 2).sum(-1)  # (K, n_vis)
    return idx[d2.argmin(axis=1)]


def pck_transfer(
    verts_2d: np.ndarray,
    visible: np.ndarray,
    kps: np.ndarray,
    threshold: float = 0.1,
    mode: PCKMode = "paper",
    *,
    crop_scale: float | None = None,
    verts_2d_full: np.ndarray | None = None,
    visible_full: np.ndarray | None = None,
    faces: np.ndarray | None = None,
) -> PCKResult:
    """Keypoint-transfer PCK over all ordered pairs.

    Args:
        verts_2d: (B, V, 2) projections of instance i's mesh in image i, crop units (x right,
            y down); vertex index v is the same template vertex in every instance.
        visible: (B, V) bool, vertex visible in its own image (hard rasterisation).
        kps: (B, K, 3) GT keypoints (x, y, vis) in crop units (K = 14 in the LASSIE order).
        threshold: distance threshold in crop units (0.1 → PCK@0.1 of the crop side).
        mode: ``paper`` (correct per-image indexing) or ``reference`` (see module docstring).
        crop_scale: the crop's box scale (2.0 LASSIE sets, 1.5 Pascal-Part); recorded only.
        verts_2d_full, visible_full, faces: reference mode only (see module docstring).

    Returns:
        :class:`PCKResult`. Raises ValueError on malformed input or when no pair has a common
        visible keypoint.
    """
    if mode not in ("paper", "reference"):
        raise ValueError(f"pck_transfer: mode must be 'paper' or 'reference', got {mode!r}")
    if not threshold > 0:
        raise ValueError(f"pck_transfer: threshold must be > 0, got {threshold}")
    verts_2d, visible, kps = _check_inputs(verts_2d, visible, kps)
    n_img, n_v, _ = verts_2d.shape
    n_kp = kps.shape[1]
    pts = kps[..., :2]

    # transferred[s, t, k]: where source keypoint k lands in target image t, (B, B, K, 2)
    no_vis: list[int] = []
    if mode == "paper":
        nn = np.empty((n_img, n_kp), dtype=np.int64)
        for s in range(n_img):
            nn[s] = _nearest_visible(pts[s], verts_2d[s], visible[s])
            if nn[s, 0] < 0:
                no_vis.append(s)
        safe = np.where(nn < 0, 0, nn)
        transferred = verts_2d[np.arange(n_img)[None, :, None], safe[:, None, :]]
    else:
        full, full_vis = _reference_full(verts_2d, visible, verts_2d_full, visible_full)
        flat = full.reshape(n_img, n_img * n_v, 2)
        flat_vis = full_vis.reshape(n_img, n_img * n_v).copy()
        if faces is not None:
            faces = np.asarray(faces)
            if faces.ndim != 2 or faces.shape[1] != 3 or faces.size == 0:
                raise ValueError(f"pck_transfer: faces must be (F, 3), got {faces.shape}")
            if faces.min() < 0 or faces.max() >= n_v:
                raise ValueError(f"pck_transfer: faces index outside 0..{n_v - 1}")
            # packed_faces[-1]: the last face of the last mesh of the batch
            flat_vis[:, (n_img - 1) * n_v + faces[-1]] = True
        nn = np.empty((n_img, n_kp), dtype=np.int64)
        for s in range(n_img):
            nn[s] = _nearest_visible(pts[s], flat[s], flat_vis[s])
            if nn[s, 0] < 0:
                no_vis.append(s)
        safe = np.where(nn < 0, 0, nn)
        transferred = flat[np.arange(n_img)[None, :, None], safe[:, None, :]]

    return score_transfers(
        transferred,
        kps,
        threshold,
        mode=mode,
        crop_scale=crop_scale,
        failed_sources=tuple(no_vis),
        name="pck_transfer",
    )


def check_keypoints(kps: np.ndarray, name: str = "pck_transfer") -> np.ndarray:
    """``kps`` as a finite (B, K, 3) float array with B >= 2; ValueError otherwise."""
    kps = np.asarray(kps, dtype=np.float64)
    if kps.ndim != 3 or kps.shape[2] != 3:
        raise ValueError(f"{name}: kps must be (B, K, 3), got {kps.shape}")
    if kps.shape[0] < 2:
        raise ValueError(f"{name}: needs at least 2 images, got {kps.shape[0]}")
    if not np.all(np.isfinite(kps)):
        raise ValueError(f"{name}: kps contains NaN or inf")
    return kps


def score_transfers(
    transferred: np.ndarray,
    kps: np.ndarray,
    threshold: float,
    *,
    mode: str,
    crop_scale: float | None = None,
    failed_sources: tuple[int, ...] = (),
    name: str = "pck_transfer",
) -> PCKResult:
    """Score transferred keypoints with the PCK protocol of docs/method.md §10.1.

    ``transferred[s, t, k]`` (B, B, K, 2) is where source s's keypoint k lands in target t.
    A keypoint counts where it is visible in both GT annotations (``kps`` (B, K, 3)); correct
    when within ``threshold`` (``<=``); pairs without a common visible keypoint are skipped and
    counted; PCK is the mean of the pair scores over the used ordered pairs s ≠ t. Every
    keypoint-transfer method (mesh transfer, the bounding-box baselines) goes through here, so
    they are scored on exactly the same pairs. ``failed_sources``: images whose transfers all
    count as wrong (no visible vertex to transfer from).
    """
    if not threshold > 0:
        raise ValueError(f"{name}: threshold must be > 0, got {threshold}")
    n_img = kps.shape[0]
    pts = kps[..., :2]
    kp_vis = kps[..., 2] > 0
    err = np.linalg.norm(transferred - pts[None, :, :, :], axis=-1)  # (B, B, K)
    valid = kp_vis[:, None, :] & kp_vis[None, :, :]
    correct = (err <= threshold) & valid
    if failed_sources:
        bad = list(failed_sources)
        log.warning("%s: images %s have no visible vertex; their transfers fail", name, bad)
        correct[list(failed_sources)] = False
    n_valid = valid.sum(-1)
    n_correct = correct.sum(-1)
    off_diag = ~np.eye(n_img, dtype=bool)
    used = off_diag & (n_valid > 0)
    per_pair = np.full((n_img, n_img), np.nan)
    per_pair[used] = n_correct[used] / n_valid[used]
    pairs_used = int(used.sum())
    pairs_skipped = int((off_diag & (n_valid == 0)).sum())
    if pairs_used == 0:
        raise ValueError(f"{name}: no pair of the {n_img} images has a common visible keypoint")
    kp_valid = (valid & used[..., None]).sum((0, 1))
    kp_correct = (correct & used[..., None]).sum((0, 1))
    per_kp = np.where(kp_valid > 0, kp_correct / np.maximum(kp_valid, 1), np.nan)
    return PCKResult(
        pck=float(per_pair[used].mean()),
        pairs_used=pairs_used,
        pairs_skipped=pairs_skipped,
        per_pair=per_pair,
        threshold=float(threshold),
        crop_scale=None if crop_scale is None else float(crop_scale),
        mode=mode,
        images=n_img,
        keypoints_used=int(n_valid[used].sum()),
        keypoints_correct=int(n_correct[used].sum()),
        sources_without_visible_vertex=failed_sources,
        per_keypoint=per_kp,
    )


def _reference_full(
    verts_2d: np.ndarray,
    visible: np.ndarray,
    verts_2d_full: np.ndarray | None,
    visible_full: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The (B, B, V, 2) / (B, B, V) full-batch arrays of the reference evaluation."""
    n_img, n_v, _ = verts_2d.shape
    if (verts_2d_full is None) != (visible_full is None):
        raise ValueError("pck_transfer: give both verts_2d_full and visible_full, or neither")
    if verts_2d_full is None:
        full = np.broadcast_to(verts_2d[None], (n_img, n_img, n_v, 2))
        full_vis = np.broadcast_to(visible[None], (n_img, n_img, n_v))
        return full, full_vis
    full = np.asarray(verts_2d_full, dtype=np.float64)
    full_vis = np.asarray(visible_full).astype(bool)
    if full.shape != (n_img, n_img, n_v, 2):
        raise ValueError(
            f"pck_transfer: verts_2d_full must be {(n_img, n_img, n_v, 2)}, got {full.shape}"
        )
    if full_vis.shape != (n_img, n_img, n_v):
        raise ValueError(
            f"pck_transfer: visible_full must be {(n_img, n_img, n_v)}, got {full_vis.shape}"
        )
    if not np.all(np.isfinite(full)):
        raise ValueError("pck_transfer: verts_2d_full contains NaN or inf")
    return full, full_vis
