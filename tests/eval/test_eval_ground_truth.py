"""Synthetic-only metrics: similarity alignment, 3D keypoint / joint errors, azimuth error."""

from __future__ import annotations

import numpy as np
import pytest

from artic3d_core.eval.ground_truth import (
    Similarity,
    azimuth_error,
    joint_error_3d,
    keypoint_error_3d,
    keypoints_3d_from_vertices,
    umeyama,
)


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return q


def test_umeyama_recovers_a_known_similarity():
    rng = np.random.default_rng(0)
    src = rng.normal(size=(20, 3))
    rot, s, t = _rotation(rng), 2.5, np.array([1.0, -2.0, 0.5])
    dst = s * src @ rot.T + t
    tr = umeyama(src, dst)
    assert tr.scale == pytest.approx(s)
    np.testing.assert_allclose(tr.rotation, rot, atol=1e-10)
    np.testing.assert_allclose(tr.translation, t, atol=1e-10)
    rigid = umeyama(src, dst, with_scale=False)
    assert rigid.scale == 1.0


def test_keypoint_error_is_zero_for_a_similar_prediction_and_invariant():
    rng = np.random.default_rng(1)
    gt = rng.normal(size=(14, 3))
    pred = Similarity(0.3, _rotation(rng), np.array([4.0, 0, 0])).apply(gt)
    res = keypoint_error_3d(pred, gt)
    assert res.mean == pytest.approx(0.0, abs=1e-9)
    noisy = pred + rng.normal(scale=0.05, size=pred.shape)
    e1 = keypoint_error_3d(noisy, gt).mean
    e2 = keypoint_error_3d(Similarity(3.0, _rotation(rng), np.ones(3)).apply(noisy), gt).mean
    assert e1 > 0.01 and e1 == pytest.approx(e2, rel=1e-9)


def test_keypoint_error_hand_computed_with_invalid_points():
    gt = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [9, 9, 9]], float)
    pred = gt.copy()
    pred[4] = [100, 100, 100]  # invalid: ignored in the fit and the mean
    res = keypoint_error_3d(pred, gt, valid=np.array([1, 1, 1, 1, 0], bool))
    assert res.mean == pytest.approx(0.0, abs=1e-12) and res.points == 4
    assert np.isnan(res.per_point[4])
    with pytest.raises(ValueError, match=">= 3"):
        keypoint_error_3d(pred, gt, valid=np.array([1, 1, 0, 0, 0], bool))


def test_joint_error_chamfer_with_different_joint_counts():
    gt = np.array([[0, 0, 0], [1, 0, 0]], float)
    pred = np.array([[0, 0, 0], [1, 0, 0], [1, 0.5, 0]], float)
    ident = Similarity(1.0, np.eye(3), np.zeros(3))
    res = joint_error_3d(pred, gt, transform=ident)
    # pred→gt: 0, 0, 0.5; gt→pred: 0, 0 → mean 0.1; extent 1
    assert res.mean == pytest.approx(0.1)
    assert res.relative == pytest.approx(0.1)
    with pytest.raises(ValueError, match="transform"):
        joint_error_3d(pred, gt)


def test_keypoints_3d_from_vertices_picks_the_nearest_visible_vertex():
    v3 = np.array([[0, 0, 1], [1, 0, 2], [2, 0, 3]], float)
    v2 = np.array([[0.1, 0.1], [0.5, 0.5], [0.52, 0.5]])
    vis = np.array([True, True, False])
    kps = np.array([[0.5, 0.51, 1], [0, 0, 0]])
    out, valid = keypoints_3d_from_vertices(v3, v2, vis, kps)
    np.testing.assert_allclose(out[0], [1, 0, 2])
    assert valid.tolist() == [True, False]


def test_azimuth_error_wraps_and_handles_the_mirror():
    res = azimuth_error(np.array([350.0, 180.0, 150.0]), np.array([10.0, -180.0, 30.0]))
    np.testing.assert_allclose(res.per_image_deg, [20.0, 0.0, 120.0])
    # 150 is the mirror of 30 about the side view (2·90 − 30 = 150)
    np.testing.assert_allclose(res.per_image_mirror_deg, [20.0, 0.0, 0.0])
    assert res.mean_deg == pytest.approx(140 / 3)
    shifted = azimuth_error(
        np.array([50.0, 100.0, -170.0]), np.array([10.0, 60.0, 150.0]), align_offset=True
    )
    assert shifted.offset_deg == pytest.approx(40.0)
    np.testing.assert_allclose(shifted.per_image_deg, 0.0, atol=1e-9)
