"""The image record every loader returns, the 14-keypoint order, and the data error type.

Keypoint order (docs/method.md §1.2, identical in LASSIE, Hi-LASSIE and ARTIC3D); keypoints are
stored as a (14, 3) array of pixel x, pixel y, visibility (1 = annotated/visible, 0 = absent → (0,
0, 0)).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

__all__ = [
    "KEYPOINT_LABELS",
    "KEYPOINT_NAMES",
    "DataError",
    "ImageRecord",
    "SetName",
    "keypoint_index",
]

KEYPOINT_NAMES: tuple[str, ...] = (
    "leye",
    "reye",
    "lear",
    "rear",
    "muzzle",
    "tail",
    "rfuleg",
    "rbuleg",
    "lfuleg",
    "lbuleg",
    "rflleg",
    "rblleg",
    "lflleg",
    "lblleg",
)

# The label strings used in the LASSIE / E-LASSIE CSVs (Label-Studio `keypointlabels`).
KEYPOINT_LABELS: tuple[str, ...] = (
    "Left eye",
    "Right eye",
    "Left ear",
    "Right ear",
    "Muzzle (tip of nose)",
    "Tail top",
    "Front right upper leg (knee)",
    "Back right upper leg (knee)",
    "Front left upper leg (knee)",
    "Back left upper leg (knee)",
    "Front right lower leg (ankle)",
    "Back right lower leg (ankle)",
    "Front left lower leg (ankle)",
    "Back left lower leg (ankle)",
)

_LOOKUP: dict[str, int] = {}
for _i, (_short, _label) in enumerate(zip(KEYPOINT_NAMES, KEYPOINT_LABELS, strict=True)):
    _LOOKUP[_short.lower()] = _i
    _LOOKUP[_label.lower()] = _i
    _LOOKUP[_label.split(" (")[0].lower()] = _i  # "Muzzle", "Tail top", "Front right upper leg"

SetName = Literal["clean", "occluded"]


class DataError(ValueError):
    """A data problem; the message names the file (and row/keypoint) and what is wrong."""


def keypoint_index(label: str) -> int | None:
    """Canonical index of a keypoint label (CSV label, its short name, or the label without the
    parenthesis); None when unknown."""
    return _LOOKUP.get(label.strip().lower())


@dataclass
class ImageRecord:
    """One image of one class, as loaded (full image, not cropped).

    image: (H, W, 3) float32 RGB in [0, 1]. keypoints: (14, 3) pixel x, y, vis (LASSIE order).
    crop_box: (left, top, side) in pixels of the square crop (docs/method.md §1.4), crop_scale: the
    s it was made with. mask: (H, W) bool or None; part_mask: (H, W) uint8 labels 0..16 or None.
    meta: loader-specific extras (source url, foreground estimate, notes) — never needed to run.
    """

    image_id: str
    cls: str
    dataset: str
    set: SetName
    path: Path
    image: np.ndarray
    keypoints: np.ndarray
    crop_box: tuple[int, int, int]
    crop_scale: float
    mask: np.ndarray | None = None
    part_mask: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) of the full image."""
        return int(self.image.shape[0]), int(self.image.shape[1])
