"""The cropped-class store written by the ``data`` stage and read by every later stage.

``<dir>/crops.npz``: images (N, S, S, 3) uint8, keypoints (N, 14, 3) crop units, masks
(N, S, S) bool and part_masks (N, S, S) uint8 when the dataset has them; ``<dir>/index.json``:
one entry per image (image_id, set, path, crop_box, crop_scale).
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from artic3d_core.atomic import atomic_write_bytes


@dataclass
class ClassCrops:
    """The stored crops of one class. images: (N, 3, S, S) float32 [0, 1]; keypoints (N, 14, 3)."""

    images: torch.Tensor
    keypoints: np.ndarray
    masks: np.ndarray | None
    part_masks: np.ndarray | None
    index: list[dict[str, Any]]

    @property
    def sets(self) -> list[str]:
        return [r["set"] for r in self.index]

    @property
    def image_ids(self) -> list[str]:
        return [str(r["image_id"]) for r in self.index]


def load_crops(data_dir: str | Path) -> ClassCrops:
    """Read ``crops.npz`` + ``index.json``; a missing or broken file is named in the error."""
    data_dir = Path(data_dir)
    npz, idx = data_dir / "crops.npz", data_dir / "index.json"
    for f in (npz, idx):
        if not f.is_file():
            raise FileNotFoundError(f"{f}: missing (run the data stage first)")
    try:
        with np.load(npz) as z:
            images = torch.from_numpy(z["images"]).permute(0, 3, 1, 2).float() / 255.0
            masks = z["masks"] if "masks" in z else None
            parts = z["part_masks"] if "part_masks" in z else None
            kps = z["keypoints"]
        index = json.loads(idx.read_text())
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"{data_dir}: unreadable crops store ({exc})") from None
    if len(index) != images.shape[0]:
        raise ValueError(f"{idx}: {len(index)} entries for {images.shape[0]} images")
    return ClassCrops(images, kps, masks, parts, index)


def save_crops(out_dir: str | Path, crops: list, records: list) -> dict[str, Any]:
    """Write ``crops.npz`` + ``index.json`` for ``crops`` (:class:`~artic3d_core.data.crop.Crop`)
    of ``records`` (:class:`~artic3d_core.data.records.ImageRecord`), each file atomically.

    Returns a small summary (images, crop size, sets)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {
        "images": np.stack(
            [(c.image.permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8) for c in crops]
        ),
        "keypoints": np.stack([c.keypoints for c in crops]).astype(np.float32),
    }
    if all(c.mask is not None for c in crops):
        arrays["masks"] = np.stack([c.mask for c in crops])
    if all(c.part_mask is not None for c in crops):
        arrays["part_masks"] = np.stack([c.part_mask for c in crops])
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    index = [
        {
            "image_id": r.image_id,
            "set": r.set,
            "path": str(r.path),
            "crop_box": list(c.box),
            "crop_scale": c.scale,
        }
        for r, c in zip(records, crops, strict=True)
    ]
    for name, data in (
        ("crops.npz", buf.getvalue()),
        ("index.json", json.dumps(index, indent=1).encode()),
    ):
        atomic_write_bytes(out / name, data, fsync=False)
    return {
        "n_images": len(records),
        "crop_size": int(arrays["images"].shape[1]),
        "sets": sorted({r.set for r in records}),
    }
