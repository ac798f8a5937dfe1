"""Metrics only the synthetic benchmark can give (docs/method.md §10.5): 3D keypoint / joint
error after a similarity alignment, camera azimuth error, mask IoU (see
:func:`artic3d_core.eval.iou.silhouette_iou`).

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
    "ImageError3D",
    "PointError3D",
    "SetError3D",
    "Similarity",
    "azimuth_error",
    "image_error_3d",
    "joint_error_3d",
    "keypoint_error_3d",
    "keypoints_3d_from_vertices",
    "set_error_3d",
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
    chamfer: bool = False,
) -> PointError3D:
    """3D joint error of ``pred`` (Jp, 3) against ``gt`` (Jg, 3).

    With ``transform`` (e.g. the one fitted on keypoints) it is applied to ``pred``; otherwise
    joints are aligned directly, which needs Jp == Jg (same order). When the counts differ, or
    with ``chamfer`` (joints without a known correspondence: a discovered skeleton has its
    own), the error is the symmetric chamfer distance: the mean of the nearest-joint distances
    both ways.
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
    if aligned.shape == gt.shape and not chamfer:
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
class ImageError3D:
    """3D errors of one image in GT units: ``keypoints`` (mean over the keypoints used),
    ``joints`` (chamfer, after the keypoints' alignment) and the GT ``extent``."""

    keypoints: PointError3D
    joints: PointError3D
    extent: float


def image_error_3d(
    verts_3d: np.ndarray,
    verts_2d: np.ndarray,
    visible: np.ndarray,
    joints_3d: np.ndarray,
    kps_2d: np.ndarray,
    gt_keypoints_3d: np.ndarray,
    gt_present: np.ndarray,
    gt_joints_3d: np.ndarray,
    with_scale: bool = True,
) -> ImageError3D:
    """3D keypoint and joint error of one reconstructed image against its ground truth.

    Predicted 3D keypoints: the visible vertex nearest to each visible GT 2D keypoint
    (:func:`keypoints_3d_from_vertices`); a similarity (``with_scale``, else rigid) fitted on
    them maps the prediction onto the GT, and the predicted joints go through the same map
    (chamfer against the GT joints: the skeletons need not correspond). ``extent``: the
    largest distance between two GT points (joints and present keypoints).

    Args:
        verts_3d: (V, 3) camera-frame vertices; verts_2d: (V, 2) their projections in the
            units of ``kps_2d``; visible: (V,) bool.
        joints_3d: (Jp, 3) camera-frame predicted joints.
        kps_2d: (K, 3) x, y, visibility of the GT keypoints in the image.
        gt_keypoints_3d: (K, 3); gt_present: (K,) bool (the animal has the keypoint);
        gt_joints_3d: (Jg, 3), all in one GT frame.

    Raises ValueError with fewer than 3 usable keypoints.
    """
    kps_2d = np.asarray(kps_2d, dtype=np.float64)
    present = np.asarray(gt_present, bool)
    pred_kp, valid = keypoints_3d_from_vertices(verts_3d, verts_2d, visible, kps_2d)
    kp = keypoint_error_3d(pred_kp, gt_keypoints_3d, valid & present, with_scale)
    jt = joint_error_3d(joints_3d, gt_joints_3d, transform=kp.transform, chamfer=True)
    gt_pts = np.concatenate([np.asarray(gt_joints_3d, np.float64), gt_keypoints_3d[present]])
    return ImageError3D(kp, jt, _extent(gt_pts))


@dataclass(frozen=True)
class SetError3D:
    """Means over the images of a set: keypoint / joint error in GT units and relative to each
    image's GT extent (fraction); ``images`` scored, ``skipped`` (< 3 usable keypoints)."""

    kp_mean: float
    kp_relative: float
    joint_mean: float
    joint_relative: float
    images: int
    skipped: int


def set_error_3d(errors: list[ImageError3D | None]) -> SetError3D | None:
    """Aggregate per-image errors (None = the image could not be scored); None if none was."""
    ok = [e for e in errors if e is not None and e.extent > 0]
    if not ok:
        return None
    return SetError3D(
        kp_mean=float(np.mean([e.keypoints.mean for e in ok])),
        kp_relative=float(np.mean([e.keypoints.mean / e.extent for e in ok])),
        joint_mean=float(np.mean([e.joints.mean for e in ok])),
        joint_relative=float(np.mean([e.joints.mean / e.extent for e in ok])),
        images=len(ok),
        skipped=len(errors) - len(ok),
    )


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
