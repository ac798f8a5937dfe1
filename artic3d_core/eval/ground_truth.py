"""Metrics only the synthetic benchmark can give: 3D keypoint / joint error after a similarity
alignment, camera azimuth error, mask IoU (see :func:`artic3d_core.eval.iou.silhouette_iou`).

Errors are in the ground truth's world units and also relative to the GT extent (the largest
distance between two GT points), so classes of different size compare.

Azimuth: the error is wrapped to [0°, 180°]. Under orthographic projection a left/right
symmetric animal seen from azimuth ``a`` gives the same silhouette as from ``2c − a`` (its other
side turned towards the camera; ``c`` = the side-view azimuth, 90° in the model's convention of
docs/method.md §3.1/§4.5 where 0° is frontal), so both the plain error and the mirror-invariant
error
``min(err(a), err(2c − a))`` are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "AzimuthError",
    "PointError3D",
    "Similarity",
    "azimuth_error",
    "joint_error_3d",
    "keypoint_error_3d",
    "keypoints_3d_from_vertices",
    "umeyama",
]


@dataclass(frozen=True)
class Similarity:
    """x ↦ scale · R x + t."""

    scale: float
    rotation: np.ndarray  # (3, 3)
    translation: np.ndarray  # (3,)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """(N, 3) → (N, 3)."""
        return self.scale * np.asarray(x, dtype=np.float64) @ self.rotation.T + self.translation


def umeyama(
    src: np.ndarray, dst: np.ndarray, with_scale: bool = True, allow_reflection: bool = False
) -> Similarity:
    """Least-squares similarity (Umeyama 1991) mapping ``src`` (N, 3) onto ``dst`` (N, 3)."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 3:
        raise ValueError(f"umeyama: src {src.shape} and dst {dst.shape} must both be (N, 3)")
    if src.shape[0] < 3:
        raise ValueError(f"umeyama: needs at least 3 corresponding points, got {src.shape[0]}")
    mu_s, mu_d = src.mean(0), dst.mean(0)
    xs, xd = src - mu_s, dst - mu_d
    cov = xd.T @ xs / src.shape[0]
    u, d, vt = np.linalg.svd(cov)
    sign = np.ones(3)
    if not allow_reflection and np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1.0
    rot = u @ np.diag(sign) @ vt
    var_s = (xs**2).sum() / src.shape[0]
    scale = float((d * sign).sum() / var_s) if with_scale and var_s > 0 else 1.0
    return Similarity(scale, rot, mu_d - scale * rot @ mu_s)


@dataclass(frozen=True)
class PointError3D:
    """Mean Euclidean error after alignment: ``mean`` (GT units), ``relative`` (÷ GT extent)."""

    mean: float
    relative: float
    per_point: np.ndarray = field(repr=False)  # (N,) NaN where invalid
    points: int
    transform: Similarity = field(repr=False)


def _extent(x: np.ndarray) -> float:
    d = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=-1)
    return float(d.max()) if d.size else 0.0


def keypoint_error_3d(
    pred: np.ndarray,
    gt: np.ndarray,
    valid: np.ndarray | None = None,
    with_scale: bool = True,
) -> PointError3D:
    """3D keypoint error after a similarity alignment of ``pred`` (K, 3) onto ``gt`` (K, 3).

    The alignment is fitted on the valid keypoints (``valid`` (K,) bool, default all).
    """
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape or pred.ndim != 2 or pred.shape[1] != 3:
        raise ValueError(f"keypoint_error_3d: pred {pred.shape} and gt {gt.shape} must be (K, 3)")
    ok = np.ones(len(gt), bool) if valid is None else np.asarray(valid, bool)
    ok = ok & np.isfinite(pred).all(1) & np.isfinite(gt).all(1)
    if ok.sum() < 3:
        raise ValueError(f"keypoint_error_3d: needs >= 3 valid keypoints, got {int(ok.sum())}")
    tr = umeyama(pred[ok], gt[ok], with_scale=with_scale)
    err = np.full(len(gt), np.nan)
    err[ok] = np.linalg.norm(tr.apply(pred[ok]) - gt[ok], axis=1)
    mean = float(np.nanmean(err))
    ext = _extent(gt[ok])
    return PointError3D(mean, mean / ext if ext > 0 else float("nan"), err, int(ok.sum()), tr)


def joint_error_3d(
    pred: np.ndarray,
    gt: np.ndarray,
    transform: Similarity | None = None,
    with_scale: bool = True,
) -> PointError3D:
    """3D joint error of ``pred`` (Jp, 3) against ``gt`` (Jg, 3).

    With ``transform`` (e.g. the one fitted on keypoints) it is applied to ``pred``; otherwise
    joints are aligned directly, which needs Jp == Jg (same order). When the counts differ (a
    discovered skeleton has its own joints) the error is the symmetric chamfer distance: the
    mean of the nearest-joint distances both ways.
    """
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if pred.ndim != 2 or pred.shape[1] != 3 or gt.ndim != 2 or gt.shape[1] != 3:
        raise ValueError(f"joint_error_3d: pred {pred.shape} and gt {gt.shape} must be (J, 3)")
    if transform is None:
        if pred.shape != gt.shape:
            raise ValueError(
                "joint_error_3d: different joint counts need a transform (fit it on keypoints)"
            )
        transform = umeyama(pred, gt, with_scale=with_scale)
    aligned = transform.apply(pred)
    ext = _extent(gt)
    if aligned.shape == gt.shape:
        err = np.linalg.norm(aligned - gt, axis=1)
    else:
        d = np.linalg.norm(aligned[:, None, :] - gt[None, :, :], axis=-1)
        err = np.concatenate([d.min(1), d.min(0)])
    mean = float(err.mean())
    return PointError3D(mean, mean / ext if ext > 0 else float("nan"), err, len(err), transform)


def keypoints_3d_from_vertices(
    verts_3d: np.ndarray, verts_2d: np.ndarray, visible: np.ndarray, kps_2d: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Predicted 3D keypoints of one image: the 3D position of the visible vertex nearest to each
    GT 2D keypoint (as PCK's transfer). Returns ((K, 3), valid (K,) bool)."""
    verts_3d = np.asarray(verts_3d, dtype=np.float64)
    verts_2d = np.asarray(verts_2d, dtype=np.float64)
    vis = np.asarray(visible, bool)
    kps_2d = np.asarray(kps_2d, dtype=np.float64)
    if verts_3d.shape[0] != verts_2d.shape[0] or vis.shape != (verts_2d.shape[0],):
        raise ValueError("keypoints_3d_from_vertices: verts_3d, verts_2d, visible differ in V")
    valid = kps_2d[:, 2] > 0
    out = np.full((kps_2d.shape[0], 3), np.nan)
    idx = np.flatnonzero(vis)
    if idx.size == 0:
        return out, np.zeros_like(valid)
    d2 = ((kps_2d[:, None, :2] - verts_2d[None, idx]) ** 2).sum(-1)
    out[valid] = verts_3d[idx[d2.argmin(1)]][valid]
    return out, valid


@dataclass(frozen=True)
class AzimuthError:
    """Per-image azimuth errors in degrees ∈ [0, 180]: plain and mirror-invariant."""

    mean_deg: float
    mean_mirror_deg: float
    per_image_deg: np.ndarray = field(repr=False)
    per_image_mirror_deg: np.ndarray = field(repr=False)
    offset_deg: float = 0.0


def _wrap(d: np.ndarray) -> np.ndarray:
    """Absolute angular difference wrapped to [0, 180]."""
    return np.abs((d + 180.0) % 360.0 - 180.0)


def azimuth_error(
    pred_deg: np.ndarray,
    gt_deg: np.ndarray,
    mirror_center_deg: float = 90.0,
    align_offset: bool = False,
) -> AzimuthError:
    """Azimuth error per image, wrap-around aware.

    Args:
        pred_deg, gt_deg: (B,) azimuths in degrees (any range).
        mirror_center_deg: ``c`` of the mirror ambiguity ``a ↔ 2c − a``.
        align_offset: first remove the circular-mean offset between prediction and GT (the
            reconstruction's canonical frame may be rotated about the vertical axis).
    """
    pred = np.asarray(pred_deg, dtype=np.float64).ravel()
    gt = np.asarray(gt_deg, dtype=np.float64).ravel()
    if pred.shape != gt.shape or pred.size == 0:
        raise ValueError(
            f"azimuth_error: pred {pred.shape} and gt {gt.shape} must match, non-empty"
        )
    offset = 0.0
    if align_offset:
        diff = np.deg2rad(pred - gt)
        offset = float(np.rad2deg(np.arctan2(np.sin(diff).mean(), np.cos(diff).mean())))
        pred = pred - offset
    plain = _wrap(pred - gt)
    mirrored = _wrap((2.0 * mirror_center_deg - pred) - gt)
    inv = np.minimum(plain, mirrored)
    return AzimuthError(float(plain.mean()), float(inv.mean()), plain, inv, offset)
