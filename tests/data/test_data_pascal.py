"""Pascal-Part: first-object rule, 16-slot labels, automatic keypoints, crop box, list paths."""

from __future__ import annotations

import numpy as np
import pytest

from artic3d_core.data.loaders import load_class
from artic3d_core.data.pascal_part import image_set_path, load_pascal_part
from artic3d_core.data.records import KEYPOINT_NAMES, DataError

K = {k: i for i, k in enumerate(KEYPOINT_NAMES)}


def test_pascal_keypoints_labels_and_box(pascal_root):
    recs = load_pascal_part(pascal_root, "horse")
    assert [r.image_id for r in recs] == ["2008_000001", "2008_000002"]  # stem and file name
    r = recs[0]
    kp = r.keypoints
    np.testing.assert_allclose(kp[K["leye"]], [32, 3, 1])  # centroid of one pixel
    np.testing.assert_allclose(kp[K["muzzle"]], [36.25, 5.5, 1])  # mid(centroid, bottom)
    np.testing.assert_allclose(kp[K["tail"]], [5, 9, 1])  # top-most, first occurrence
    np.testing.assert_allclose(kp[K["lfuleg"]], [12, 20, 1])  # bottom of upper leg
    np.testing.assert_allclose(kp[K["lflleg"]], [12, 25, 1])  # bottom of lower leg
    assert kp[:, 2].sum() == 5  # reye, ears, other legs absent
    pm = r.part_mask
    assert pm[3, 32] == 2 and pm[5, 36] == 2 and pm[10, 20] == 3 and pm[10, 6] == 4
    assert pm[15, 12] == 10 and pm[15, 20] == 3  # last painted wins (leg over torso)
    assert pm[23, 12] == 14 and pm[27, 13] == 14  # lower leg and hoof → slot 14
    assert pm[0, 0] == 0  # object 1 (covers everything) ignored
    assert r.mask.sum() == (pm > 0).sum()
    # all part pixels: x 5..37, y 2..27 → w 32, h 25; s = 1.5 → side 48, (21, 14.5) → (−3, −9)
    assert r.crop_box == (-3, -9, 48) and r.crop_scale == 1.5
    r2 = load_pascal_part(pascal_root, "horse", crop_scale=2.0)[0]
    assert r2.crop_box == (-11, -17, 64)  # int(14.5 − 32) = int(−17.5) = −17
    zt = load_pascal_part(pascal_root, "horse", zero_tail=True)[0]
    assert zt.keypoints[K["tail"], 2] == 0


def test_image_set_path_variants(pascal_root):
    assert image_set_path(pascal_root, "horse").parent.name == "image-sets"
    (pascal_root / "image-sets").rename(pascal_root / "image_sets")
    assert image_set_path(pascal_root, "horse").parent.name == "image_sets"
    assert len(load_class("pascal_part", pascal_root, "horse", crop_scale=1.5)) == 2
    with pytest.raises(DataError, match=r"image_sets/cow.txt \(nor image-sets/cow.txt\)"):
        load_pascal_part(pascal_root, "cow")


def test_pascal_bad_annotation(pascal_root):
    (pascal_root / "Annotations_Part" / "2008_000002.mat").write_bytes(b"not a mat file")
    recs = load_pascal_part(pascal_root, "horse")
    assert len(recs) == 1
    with pytest.raises(DataError, match=r"horse.txt:2 \(2008_000002\).*2008_000002.mat"):
        load_pascal_part(pascal_root, "horse", policy="stop")
