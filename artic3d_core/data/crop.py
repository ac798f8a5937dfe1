"""The crop protocol (docs/method.md §1.4): square box s·max(w, h) around the visible keypoints (or
a mask), keypoints in crop units, image resized-crop with zero padding outside the image.

s = 2.0 is ARTIC3D's default, 1.5 the LASSIE / Hi-LASSIE (and Pascal-Part) value; the value used
is recorded with every record (``ImageRecord.crop_scale``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torchvision.transforms.functional as TF
from torchvision.transforms import InterpolationMode

from artic3d_core.data.records import DataError, ImageRecord

__all__ = [
    "ClassCrops",
    "Crop",
    "CropInfo",
    "crop_keypoints",
    "crop_mask",
    "crop_record",
    "square_box",
    "tight_box_from_keypoints",
]


def tight_box_from_keypoints(kps: np.ndarray) -> tuple[float, float, float, float]:
    """(left, top, w, h) of the visible keypoints; (14, 3) pixel x, y, vis → floats.

    Raises DataError when no keypoint is visible.
    """
    vis = kps[:, 2] > 0
    if not vis.any():
        raise DataError("no visible keypoint: cannot place the crop box")
    xy = kps[vis, :2]
    left, top = float(xy[:, 0].min()), float(xy[:, 1].min())
    return left, top, float(xy[:, 0].max()) - left, float(xy[:, 1].max()) - top


def square_box(left: float, top: float, w: float, h: float, scale: float) -> tuple[int, int, int]:
    """Square box (left, top, side) of side int(max(w·s, h·s)) centred on the tight box,
    left/top truncated with int() like the reference ``process_bbox``.

    Raises DataError for a degenerate (side < 1) box.
    """
    side = int(max(w * scale, h * scale))
    if side < 1:
        raise DataError(
            f"degenerate crop box (tight box {w:.1f}x{h:.1f} px): need at least two distinct "
            "visible keypoints or a non-empty mask"
        )
    xc, yc = left + w / 2.0, top + h / 2.0
    return int(xc - side / 2.0), int(yc - side / 2.0), side


def crop_keypoints(kps: np.ndarray, box: tuple[int, int, int]) -> np.ndarray:
    """(14, 3) pixel keypoints → crop units: x̂ = (x − left)/S · vis (invisible → 0)."""
    left, top, side = box
    out = np.zeros_like(kps, dtype=np.float32)
    vis = (kps[:, 2] > 0).astype(np.float32)
    out[:, 0] = (kps[:, 0] - left) / side * vis
    out[:, 1] = (kps[:, 1] - top) / side * vis
    out[:, 2] = vis
    return out


@dataclass
class Crop:
    """A square crop of one record: image (3, size, size) float32 [0, 1], keypoints (14, 3) in
    crop units, mask (size, size) bool or None, part_mask (size, size) uint8 or None."""

    image: torch.Tensor
    keypoints: np.ndarray
    mask: np.ndarray | None
    part_mask: np.ndarray | None
    box: tuple[int, int, int]
    scale: float


def _crop_chw(x: torch.Tensor, box: tuple[int, int, int], size: int, nearest: bool) -> torch.Tensor:
    left, top, side = box
    mode = InterpolationMode.NEAREST if nearest else InterpolationMode.BILINEAR
    # torchvision's crop zero-pads the part of the box outside the image (docs/method.md §1.4).
    return TF.resized_crop(x, top, left, side, side, [size, size], mode, antialias=not nearest)


def crop_mask(mask: np.ndarray, box: tuple[int, int, int], size: int) -> np.ndarray:
    """(H, W) bool mask → its (size, size) bool crop by ``box`` (nearest; outside = False)."""
    m = torch.from_numpy(np.asarray(mask).astype(np.uint8))[None]
    return _crop_chw(m, box, size, nearest=True)[0].numpy() > 0


def crop_record(rec: ImageRecord, size: int) -> Crop:
    """Crop ``rec`` with its ``crop_box`` and resize to ``size``² (bilinear image, nearest masks)."""
    img = torch.from_numpy(np.ascontiguousarray(rec.image)).permute(2, 0, 1)
    out = _crop_chw(img, rec.crop_box, size, nearest=False).clamp(0.0, 1.0).contiguous()
    mask = part = None
    if rec.mask is not None:
        mask = crop_mask(rec.mask, rec.crop_box, size)
    if rec.part_mask is not None:
        p = torch.from_numpy(rec.part_mask.astype(np.uint8))[None]
        part = _crop_chw(p, rec.crop_box, size, nearest=True)[0].numpy().astype(np.uint8)
    return Crop(
        out, crop_keypoints(rec.keypoints, rec.crop_box), mask, part, rec.crop_box, rec.crop_scale
    )


@dataclass(frozen=True)
class CropInfo:
    """How one crop was made, for the stages that read its pixels: ``scale`` (crop side / box
    side, docs/method.md §1.4; 1 = the whole photo padded to a square) and ``box_source``
    (where the box came from: ``keypoints`` / ``mask`` for annotated datasets, or one of
    :data:`artic3d_core.data.folder.BOX_SOURCES` for an image folder). None = not recorded."""

    scale: float | None = None
    box_source: str | None = None


@dataclass
class ClassCrops:
    """The stored crops of one class (written by the data stage, read by every later one).

    images: (N, 3, S, S) float32 [0, 1]; keypoints (N, 14, 3) crop units; masks (N, S, S) bool
    and part_masks (N, S, S) uint8 when the dataset has them; index: one entry per image
    (image_id, set, path, crop_box, crop_scale)."""

    images: torch.Tensor
    keypoints: np.ndarray
    masks: np.ndarray | None
    part_masks: np.ndarray | None
    index: list[dict[str, Any]]

    def crop_info(self) -> list[CropInfo]:
        """Each crop's :class:`CropInfo` from its index entry."""
        return [
            CropInfo(
                None if r.get("crop_scale") is None else float(r["crop_scale"]),
                None if r.get("box_source") is None else str(r["box_source"]),
            )
            for r in self.index
        ]

    @property
    def sets(self) -> list[str]:
        return [r["set"] for r in self.index]

    @property
    def image_ids(self) -> list[str]:
        return [str(r["image_id"]) for r in self.index]
