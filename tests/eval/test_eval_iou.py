"""Silhouette and part IoU against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from artic3d_core.eval.iou import part_iou, part_label_assignment, silhouette_iou


def test_silhouette_iou_hand_computed():
    pred = np.zeros((2, 4, 4), bool)
    gt = np.zeros((2, 4, 4), bool)
    pred[0, 0, :4] = True  # 4 px
    gt[0, 0, 2:] = True  # 2 px inside pred
    gt[0, 1, 2:] = True  # 2 px outside → inter 2, union 6
    pred[1, 1:3, 1:3] = gt[1, 1:3, 1:3] = True  # identical
    res = silhouette_iou(pred, gt)
    np.testing.assert_allclose(res.per_image, [2 / 6, 1.0])
    assert res.mean == pytest.approx((2 / 6 + 1) / 2)
    assert res.images == 2


def test_silhouette_iou_accepts_label_maps_and_empty_images():
    labels = np.array([[[0, 3], [5, 0]]])
    assert silhouette_iou(labels, labels > 0).mean == 1.0
    assert silhouette_iou(np.zeros((1, 2, 2)), np.zeros((1, 2, 2))).mean == 1.0
    with pytest.raises(ValueError, match="differ in shape"):
        silhouette_iou(np.zeros((1, 2, 2)), np.zeros((1, 3, 2)))


def test_part_iou_permuted_labels_are_recovered():
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 5, (3, 16, 16))  # labels 0..4
    perm = np.array([0, 7, 2, 9, 4])  # predicted part ids differ from GT ids
    pred = perm[gt]
    for method in ("hungarian", "majority"):
        res = part_iou(pred, gt, method)
        assert res.mean == pytest.approx(1.0)
        assert res.assignment == {7: 1, 2: 2, 9: 3, 4: 4}


def test_part_iou_hand_computed_with_explicit_map():
    gt = np.array([[[1, 1, 2, 2], [1, 1, 2, 2]]])
    pred = np.array([[[5, 5, 5, 6], [5, 5, 0, 6]]])
    # 5→1: pred{(0,0),(0,1),(0,2),(1,0),(1,1)} vs gt1 4 px: inter 4, union 5 → 0.8
    # 6→2: pred{(0,3),(1,3)} vs gt2 4 px: inter 2, union 4 → 0.5
    res = part_iou(pred, gt, {5: 1, 6: 2})
    assert res.mean == pytest.approx((0.8 + 0.5) / 2)
    assert part_label_assignment(pred, gt, "hungarian") == {5: 1, 6: 2}


def test_majority_allows_many_to_one_hungarian_does_not():
    gt = np.array([[[1, 1, 1, 1], [2, 2, 0, 0]]])
    pred = np.array([[[3, 3, 4, 4], [4, 0, 0, 0]]])
    assert part_label_assignment(pred, gt, "majority") == {3: 1, 4: 1}
    assert part_label_assignment(pred, gt, "hungarian") == {3: 1, 4: 2}
