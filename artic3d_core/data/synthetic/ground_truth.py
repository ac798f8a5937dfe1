"""Read the synthetic benchmark's ground-truth sidecar (``ground_truth/<cls>/``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from artic3d_core.data.records import DataError, ImageRecord
from artic3d_core.data.safe_paths import check_name, path_inside
from artic3d_core.skeleton.skeleton import Skeleton

__all__ = ["SynthGroundTruth", "attach_ground_truth", "benchmark_identity", "load_ground_truth"]


@dataclass
class SynthGroundTruth:
    """Ground truth of one synthetic image.

    Camera (the model's parametrisation, docs/method.md §4.5): global_rot (3,) 'ZXY' radians
    (azimuth = [2]), global_scale s (effective, = 0.1·global_scale_param + 1), global_trans (2,)
    NDC. Pose: bone_euler (nb, 3) 'YZX'; rest_joints (nj, 3) of this instance (runtime units).
    joints_3d (nj, 3) / keypoints_3d (14, 3): posed, camera space (NDC, +z towards the camera);
    joints_2d (nj, 2) / keypoints_2d (14, 3: x, y, vis): pixels. Masks (H, W): mask (visible
    animal), amodal (before occluders), part_mask (uint8 LASSIE slots 0..16), bone_mask (uint8
    bone index + 1).
    """

    image_id: str
    set: str
    global_rot: np.ndarray
    global_scale: float
    global_trans: np.ndarray
    bone_euler: np.ndarray
    rest_joints: np.ndarray
    joints_3d: np.ndarray
    joints_2d: np.ndarray
    keypoints_3d: np.ndarray
    keypoints_2d: np.ndarray
    keypoint_present: np.ndarray
    mask: np.ndarray
    amodal: np.ndarray
    part_mask: np.ndarray
    bone_mask: np.ndarray
    skeleton: Skeleton
    extra: dict = field(default_factory=dict)


def _png(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            return np.asarray(im)
    except (FileNotFoundError, OSError) as exc:
        raise DataError(f"{path}: ground-truth mask missing or unreadable ({exc})") from None


def load_ground_truth(root: str | Path, cls: str) -> list[SynthGroundTruth]:
    """All images of ``cls`` (clean then occluded, in id order) with their ground truth.
    Ids name the mask files, so each must be a plain file name (DataError otherwise)."""
    gdir = path_inside(root, "ground_truth", check_name(cls, "class"))
    path = gdir / "gt.json"
    if not path.is_file():
        raise DataError(f"{path}: synthetic ground truth not found (generate with artic3d synth)")
    meta = json.loads(path.read_text())
    for g in meta["images"]:
        check_name(str(g["id"]), "id", str(path))
    sk = Skeleton.load(gdir / "skeleton.json")
    out = []
    for g in meta["images"]:
        i = g["id"]
        m = gdir / "masks"
        out.append(
            SynthGroundTruth(
                image_id=i,
                set=g["set"],
                global_rot=np.asarray(g["global_rot"]),
                global_scale=float(g["global_scale"]),
                global_trans=np.asarray(g["global_trans"]),
                bone_euler=np.asarray(g["bone_euler"]),
                rest_joints=np.asarray(g["rest_joints"]),
                joints_3d=np.asarray(g["joints_3d"]),
                joints_2d=np.asarray(g["joints_2d"]),
                keypoints_3d=np.asarray(g["keypoints_3d"]),
                keypoints_2d=np.asarray(g["keypoints_2d"]),
                keypoint_present=np.asarray(g["keypoint_present"], dtype=bool),
                mask=_png(m / f"mask_{i}.png") > 0,
                amodal=_png(m / f"amodal_{i}.png") > 0,
                part_mask=_png(m / f"parts_{i}.png").astype(np.uint8),
                bone_mask=_png(m / f"bones_{i}.png").astype(np.uint8),
                skeleton=sk,
                extra={
                    k: g[k]
                    for k in (
                        "truncated",
                        "occluder_fraction",
                        "visible_fraction",
                        "part_scale_xz",
                        "part_scale_y",
                        "bone_scale",
                    )
                },
            )
        )
    return out


def attach_ground_truth(root: str | Path, cls: str, records: list[ImageRecord]) -> None:
    """Fill ``mask`` and ``part_mask`` of synthetic records (matched by id) in place; the
    full ground truth goes to ``meta['gt']``."""
    by_id = {g.image_id: g for g in load_ground_truth(root, cls)}
    for rec in records:
        g = by_id.get(rec.image_id)
        if g is None:
            raise DataError(f"{root}: no ground truth for {cls} image {rec.image_id}")
        rec.mask, rec.part_mask = g.mask, g.part_mask
        rec.meta["gt"] = g


def benchmark_identity(root: str | Path) -> tuple[str, str | None]:
    """(split, preset) of the benchmark generated under ``root``, from its ``manifest.json``:
    split train / dev / test, or ``none`` when it was generated without one."""
    path = Path(root) / "manifest.json"
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: synthetic benchmark manifest unreadable ({exc})") from None
    return str(meta.get("split", "none")), meta.get("preset")
