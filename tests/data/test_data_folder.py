"""Unannotated image folder: crop from the foreground estimate."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from artic3d_core.data.folder import estimate_foreground, load_folder
from artic3d_core.data.records import DataError


def _scene(h=120, w=160, seed=0):
    rng = np.random.default_rng(seed)
    img = np.empty((h, w, 3))
    img[:] = [0.3, 0.6, 0.3]
    img += rng.normal(0, 0.02, img.shape)
    yy, xx = np.mgrid[0:h, 0:w]
    animal = ((xx - 90) / 30.0) ** 2 + ((yy - 50) / 15.0) ** 2 <= 1  # x 60..120, y 35..65
    img[animal] = [0.9, 0.5, 0.1]
    return np.clip(img, 0, 1), animal


def test_estimate_foreground_iou():
    img, animal = _scene()
    fg = estimate_foreground(img.astype(np.float32))
    iou = (fg & animal).sum() / (fg | animal).sum()
    assert iou > 0.85


def test_load_folder_crop_from_estimate(tmp_path):
    d = tmp_path / "imgs" / "fox"
    d.mkdir(parents=True)
    for i in range(2):
        img, _ = _scene(seed=i)
        Image.fromarray((img * 255).astype(np.uint8)).save(d / f"p{i}.png")
    (d / "broken.jpg").write_bytes(b"nope")
    recs = load_folder(tmp_path / "imgs", "fox")
    assert [r.image_id for r in recs] == ["p0", "p1"]
    left, top, side = recs[0].crop_box
    # tight box ≈ x 60..120, y 35..65 → w 60, side ≈ 1.5·60 = 90 around (90, 50)
    assert abs(side - 90) <= 6 and abs(left + side / 2 - 90) <= 3 and abs(top + side / 2 - 50) <= 3
    assert recs[0].keypoints.sum() == 0 and recs[0].crop_scale == 1.5
    with pytest.raises(DataError, match=r"broken\.jpg"):
        load_folder(tmp_path / "imgs", "fox", policy="stop")
