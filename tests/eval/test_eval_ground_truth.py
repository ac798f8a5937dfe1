"""Synthetic-only metrics: similarity alignment, 3D keypoint / joint errors, azimuth error."""

from __future__ import annotations

import numpy as np
import pytest

from artic3d_core.eval.ground_truth import (
    ImageError3D,
    PointError3D,
    Similarity,
    azimuth_error,
    image_error_3d,
    joint_error_3d,
    keypoint_error_3d,
    keypoints_3d_from_vertices,
    set_error_3d,
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
    # same counts: per joint, unless the joints do not correspond (chamfer)
    swapped = np.array([[1, 0, 0], [0, 0, 0]], float)
    assert joint_error_3d(swapped, gt, transform=ident).mean == pytest.approx(1.0)
    assert joint_error_3d(swapped, gt, transform=ident, chamfer=True).mean == 0.0


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


# ---- per-image and per-set 3D errors (what the evaluation records) ----------------------------
OCTAHEDRON = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float)
JOINTS = np.array([[0.5, 0, 0], [-0.5, 0, 0], [0, 0.5, 0], [0, -0.5, 0]])
KPS_2D = np.array([[0.1 * (i + 1), 0.05 * (i + 1), 1.0] for i in range(6)])


def _mesh(kp3d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices whose first 6 project exactly onto KPS_2D (3D: ``kp3d``), plus 2 far ones."""
    far = np.array([[5.0, 5, 5], [-5, 5, 5]])
    v3 = np.concatenate([kp3d, far])
    v2 = np.concatenate([KPS_2D[:, :2], [[0.9, 0.0], [0.0, 0.9]]])
    return v3, v2, np.ones(8, bool)


def test_image_error_3d_is_zero_for_a_similarity_of_the_ground_truth():
    rng = np.random.default_rng(2)
    sim = Similarity(0.4, _rotation(rng), np.array([0.3, -1.0, 2.0]))
    v3, v2, vis = _mesh(sim.apply(OCTAHEDRON))
    joints = sim.apply(JOINTS)[::-1]  # order does not matter: chamfer
    present = np.ones(6, bool)
    res = image_error_3d(v3, v2, vis, joints, KPS_2D, OCTAHEDRON, present, JOINTS)
    assert res.keypoints.mean == pytest.approx(0.0, abs=1e-9)
    assert res.joints.mean == pytest.approx(0.0, abs=1e-9)
    assert res.extent == pytest.approx(2.0)  # the octahedron's diameter


def test_image_error_3d_of_a_known_perturbation():
    delta, shift = 0.2, 0.1
    # symmetric shear: the best rigid map is the identity, so each x/y keypoint is off by delta
    shear = np.eye(3) + delta * np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]])
    v3, v2, vis = _mesh(OCTAHEDRON @ shear.T)
    joints = JOINTS.copy()
    joints[0, 2] += shift  # one of four joints moved: chamfer (shift + shift) / 8
    present = np.ones(6, bool)
    rigid = image_error_3d(
        v3, v2, vis, joints, KPS_2D, OCTAHEDRON, present, JOINTS, with_scale=False
    )
    assert rigid.keypoints.mean == pytest.approx(4 * delta / 6)
    assert rigid.joints.mean == pytest.approx(shift / 4)
    # with scale: s = 1 / (1 + 2δ²/3), x/y keypoints off by √((1 − s)² + s²δ²), z by 1 − s;
    # the joints go through the keypoints' map, so joints scaled by 1/s land exactly on the GT
    s = 1 / (1 + 2 * delta**2 / 3)
    sim = image_error_3d(v3, v2, vis, JOINTS / s, KPS_2D, OCTAHEDRON, present, JOINTS)
    want = (4 * np.hypot(1 - s, s * delta) + 2 * (1 - s)) / 6
    assert sim.keypoints.transform.scale == pytest.approx(s)
    assert sim.keypoints.mean == pytest.approx(want)
    assert sim.joints.mean == pytest.approx(0.0, abs=1e-12)


def test_image_error_3d_uses_only_visible_present_keypoints():
    v3, v2, vis = _mesh(OCTAHEDRON)
    kps = KPS_2D.copy()
    gt = OCTAHEDRON.copy()
    gt[5] = [7.0, 7, 7]  # wrong, but the animal has no such keypoint
    present = np.array([1, 1, 1, 1, 1, 0], bool)
    res = image_error_3d(v3, v2, vis, JOINTS, kps, gt, present, JOINTS)
    assert res.keypoints.points == 5 and res.keypoints.mean == pytest.approx(0.0, abs=1e-9)
    assert res.extent == pytest.approx(2.0)  # the absent keypoint is not part of the extent
    kps[2:, 2] = 0  # two visible keypoints left: cannot be aligned
    with pytest.raises(ValueError, match=">= 3"):
        image_error_3d(v3, v2, vis, JOINTS, kps, gt, present, JOINTS)


def test_set_error_3d_means_over_scored_images():
    def img(kp: float, jt: float, extent: float) -> ImageError3D:
        def pe(m: float) -> PointError3D:
            return PointError3D(m, m / extent, np.array([m]), 1, Similarity(1, np.eye(3), 0))

        return ImageError3D(pe(kp), pe(jt), extent)

    agg = set_error_3d([img(0.1, 0.2, 2.0), None, img(0.3, 0.4, 1.0)])
    assert (agg.images, agg.skipped) == (2, 1)
    assert agg.kp_mean == pytest.approx(0.2) and agg.joint_mean == pytest.approx(0.3)
    assert agg.kp_relative == pytest.approx((0.05 + 0.3) / 2)
    assert agg.joint_relative == pytest.approx((0.1 + 0.4) / 2)
    assert set_error_3d([None, None]) is None
