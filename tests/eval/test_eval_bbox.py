"""Bounding-box transfer PCK baseline: a hand-computed three-image case and the edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from artic3d_core.eval.bbox import (
    bbox_transfer,
    boxes_from_masks,
    facing_from_azimuth,
    pck_bbox,
)
from artic3d_core.eval.pck import pck_transfer
from artic3d_core.eval.rows import pck_rows
from artic3d_core.metrics.schema import RunContext

S = 50  # mask side: pixel p covers [p/S, (p+1)/S] in crop units


def _mask(r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    m = np.zeros((S, S), bool)
    m[r0:r1, c0:c1] = True
    return m


def _three_animals() -> tuple[np.ndarray, np.ndarray]:
    """Three animals, keypoints head / tail / back (relative box positions (u, v)).

    ======  =================  ====================  ======  ===========================
    image   mask (rows, cols)  box (crop units)      facing  head, tail, back (u, v)
    ======  =================  ====================  ======  ===========================
    0       0–19, 0–19         (0, 0, 0.4, 0.4)      +1      (.25,.5), (.75,.5), (.5,0)
    1       10–29, 10–29       (0.2, 0.2, 0.6, 0.6)  +1      (.25,.5), (.75,.5), hidden
    2       20–29, 10–49       (0.2, 0.4, 1.0, 0.6)  −1      (.75,.5), (.25,.5), (.5,0)
    ======  =================  ====================  ======  ===========================

    So head, tail, back are (0.1, 0.2), (0.3, 0.2), (0.2, 0) in image 0; (0.3, 0.4),
    (0.5, 0.4) in image 1; (0.8, 0.5), (0.4, 0.5), (0.6, 0.4) in image 2 (facing the other way:
    the head on the right).
    """
    masks = np.stack([_mask(0, 20, 0, 20), _mask(10, 30, 10, 30), _mask(20, 30, 10, 50)])
    kps = np.array(
        [
            [(0.1, 0.2, 1), (0.3, 0.2, 1), (0.2, 0.0, 1)],
            [(0.3, 0.4, 1), (0.5, 0.4, 1), (0.0, 0.0, 0)],
            [(0.8, 0.5, 1), (0.4, 0.5, 1), (0.6, 0.4, 1)],
        ]
    )
    return masks, kps


def test_boxes_from_masks_in_crop_units():
    masks, kps = _three_animals()
    boxes = boxes_from_masks(masks, kps)
    np.testing.assert_allclose(
        boxes.boxes, [[0, 0, 0.4, 0.4], [0.2, 0.2, 0.6, 0.6], [0.2, 0.4, 1.0, 0.6]]
    )
    assert boxes.source == ("mask", "mask", "mask")


def test_hand_computed_bbox_and_mirrored_pck():
    """Threshold 0.1; valid keypoints: visible in both images.

    Plain bbox transfer keeps (u, v):
    * 0→1, 1→0 (same facing, 2 common keypoints: head, tail): exact → 2/2 = 1 each;
    * 0→2, 2→0 (3 common): head and tail land on each other's place (error 0.4 in box 2's
      width 0.8, 0.2 in box 0's 0.4) — wrong; the back (u = 0.5) is exact → 1/3 each;
    * 1→2, 2→1 (2 common: head, tail): both wrong → 0 each.
    PCK = (1 + 1 + 1/3 + 1/3 + 0 + 0) / 6 = 4/9 ≈ 0.444.

    Mirrored with facing (+1, +1, −1): the pairs with image 2 flip u → 1 − u, which maps
    head onto head and tail onto tail; the back stays at u = 0.5 → every pair 1, PCK = 1.
    Mirrored with a facing that says all three agree: no pair flips → the plain 4/9.
    """
    masks, kps = _three_animals()
    boxes = boxes_from_masks(masks, kps).boxes
    plain = pck_bbox(kps, boxes, threshold=0.1, crop_scale=2.0)
    assert plain.pck == pytest.approx(4 / 9)
    expected = np.array([[np.nan, 1, 1 / 3], [1, np.nan, 0], [1 / 3, 0, np.nan]])
    np.testing.assert_allclose(plain.per_pair, expected)
    assert (plain.pairs_used, plain.pairs_skipped, plain.mode) == (6, 0, "bbox")
    assert (plain.keypoints_used, plain.keypoints_correct) == (14, 6)

    mirror = pck_bbox(kps, boxes, threshold=0.1, facing=np.array([1, 1, -1]))
    assert mirror.pck == pytest.approx(1.0) and mirror.mode == "bbox_mirror"
    same = pck_bbox(kps, boxes, 0.1, np.array([1, 1, 1]), mode="bbox_mirror_gt")
    assert same.pck == pytest.approx(4 / 9) and same.mode == "bbox_mirror_gt"

    # transferred points, by hand: image 0's head into image 2's box, plain and mirrored
    t_plain = bbox_transfer(kps, boxes)
    t_mirror = bbox_transfer(kps, boxes, np.array([1, 1, -1]))
    np.testing.assert_allclose(t_plain[0, 2, 0], (0.2 + 0.25 * 0.8, 0.4 + 0.5 * 0.2))  # (0.4, 0.5)
    np.testing.assert_allclose(t_mirror[0, 2, 0], (0.2 + 0.75 * 0.8, 0.5))  # (0.8, 0.5)


def test_rows_name_the_baseline_metrics():
    masks, kps = _three_animals()
    boxes = boxes_from_masks(masks, kps).boxes
    ctx = RunContext(
        "synthetic", "clean", "zebra", "artic3d", "p", "cpu", "oracle", run_id="r", git_rev="g"
    )
    facing = np.array([1, 1, -1])
    names = [
        pck_rows(ctx, pck_bbox(kps, boxes, 0.1, f, mode=m))[0]
        for f, m in ((None, None), (facing, None), (facing, "bbox_mirror_gt"))
    ]
    assert [(r.metric, round(r.value, 2), r.pairs) for r in names] == [
        ("pck_bbox", 44.44, 6),
        ("pck_bbox_mirror", 100.0, 6),
        ("pck_bbox_mirror_gt", 100.0, 6),
    ]


def test_pairs_without_common_keypoint_are_skipped_as_in_pck_transfer():
    """A fourth image shows only the back, which image 1 hides: pairs (1, 3) and (3, 1) have no
    common keypoint and are skipped, exactly as :func:`pck_transfer` skips them."""
    masks, kps = _three_animals()
    masks = np.concatenate([masks, _mask(0, 10, 0, 10)[None]])
    kps = np.concatenate([kps, [[(0, 0, 0), (0, 0, 0), (0.1, 0.0, 1)]]])
    boxes = boxes_from_masks(masks, kps).boxes
    res = pck_bbox(kps, boxes, 0.1)
    assert (res.pairs_used, res.pairs_skipped) == (10, 2)
    assert np.isnan(res.per_pair[1, 3]) and np.isnan(res.per_pair[3, 1])
    # the back (u = 0.5, v = 0) transfers exactly between images 0, 2, 3: those pairs score 1
    assert res.per_pair[0, 3] == res.per_pair[3, 2] == 1.0
    assert res.pck == pytest.approx((4 / 9 * 6 + 4) / 10)
    mesh = pck_transfer(kps[..., :2], np.ones(kps.shape[:2], bool), kps, 0.1)
    np.testing.assert_array_equal(np.isnan(res.per_pair), np.isnan(mesh.per_pair))
    assert (mesh.pairs_used, mesh.pairs_skipped) == (res.pairs_used, res.pairs_skipped)


def test_no_pair_with_a_common_keypoint_raises():
    kps = np.array([[(0.1, 0.1, 1), (0, 0, 0)], [(0, 0, 0), (0.2, 0.2, 1)]])
    with pytest.raises(ValueError, match="no pair"):
        pck_bbox(kps, boxes_from_masks(None, kps).boxes)


def test_empty_mask_falls_back_to_the_keypoint_box():
    """Image 1's mask is empty: its box is its visible keypoints' box (0.3, 0.4)–(0.5, 0.4)
    (zero height: v maps to the middle of the target box); without any masks every image
    uses its keypoint box; no mask and no visible keypoint: the whole crop."""
    masks, kps = _three_animals()
    masks[1] = False
    boxes = boxes_from_masks(masks, kps)
    np.testing.assert_allclose(boxes.boxes[1], (0.3, 0.4, 0.5, 0.4))
    assert boxes.source == ("mask", "keypoints", "mask") and boxes.count("keypoints") == 1
    t = bbox_transfer(kps, boxes.boxes)
    np.testing.assert_allclose(t[1, 0, :2], [(0.0, 0.2), (0.4, 0.2)])  # u = 0, 1; v → middle
    np.testing.assert_allclose(t[0, 1, 0], (0.3 + 0.25 * 0.2, 0.4))  # v collapses onto y = 0.4

    none = boxes_from_masks(None, kps)
    assert none.source == ("keypoints",) * 3
    np.testing.assert_allclose(none.boxes[0], (0.1, 0.0, 0.3, 0.2))
    kps[1, :, 2] = 0
    assert boxes_from_masks(masks, kps).source[1] == "crop"
    np.testing.assert_allclose(boxes_from_masks(masks, kps).boxes[1], (0, 0, 1, 1))


def test_facing_from_azimuth():
    """sign(sin a): ±90° are the two side views; a and 180° − a face the same way."""
    az = np.array([90.0, -90.0, 60.0, 120.0, 0.0, 270.0])
    assert facing_from_azimuth(az).tolist() == [1, -1, 1, 1, 1, -1]


def test_malformed_input():
    masks, kps = _three_animals()
    boxes = boxes_from_masks(masks, kps).boxes
    with pytest.raises(ValueError, match="boxes"):
        pck_bbox(kps, boxes[:2])
    with pytest.raises(ValueError, match="facing"):
        pck_bbox(kps, boxes, facing=np.ones(2))
    with pytest.raises(ValueError, match="masks"):
        boxes_from_masks(masks[:2], kps)
    with pytest.raises(ValueError, match="2 images"):
        pck_bbox(kps[:1], boxes[:1])
