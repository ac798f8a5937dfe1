"""Keypoint-transfer PCK: analytic cases, a hand-computed three-image case, the reference defect."""

from __future__ import annotations

import numpy as np
import pytest

from artic3d_core.eval.pck import pck_transfer


def _grid_keypoints(n_img: int, seed: int = 0) -> np.ndarray:
    """(B, 14, 3) keypoints on a 0.3-spaced grid (± 0.01 jitter), a few invisible."""
    rng = np.random.default_rng(seed)
    grid = np.array([(0.05 + 0.3 * (k % 4), 0.05 + 0.3 * (k // 4)) for k in range(14)])
    kps = np.zeros((n_img, 14, 3))
    kps[..., :2] = grid[None] + rng.uniform(-0.01, 0.01, (n_img, 14, 2))
    kps[..., 2] = 1.0
    kps[1, 3] = 0.0  # invisible keypoints are (0, 0, 0)
    if n_img > 2:
        kps[2, [0, 7]] = 0.0
    return kps


def _mesh_from_keypoints(kps: np.ndarray, offset=(0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """Vertex k sits at keypoint k (+ offset); 20 extra far-away vertices, half of them hidden.
    Vertices of unannotated keypoints sit far away too (the animal's part is elsewhere)."""
    n_img = kps.shape[0]
    extra = np.full((n_img, 20, 2), 5.0) + np.arange(20)[None, :, None]
    on_kp = np.where(kps[..., 2:] > 0, kps[..., :2] + np.asarray(offset), -3.0)
    verts = np.concatenate([on_kp, extra], axis=1)
    vis = np.ones(verts.shape[:2], bool)
    vis[:, 14::2] = False
    return verts, vis


def test_prediction_equal_to_ground_truth_gives_one():
    kps = _grid_keypoints(5)
    verts, vis = _mesh_from_keypoints(kps)
    res = pck_transfer(verts, vis, kps, threshold=0.1)
    assert res.pck == 1.0
    assert res.pairs_used == 20 and res.pairs_skipped == 0
    assert res.threshold == 0.1 and res.mode == "paper"


def test_every_keypoint_displaced_by_0_11_gives_zero():
    kps = _grid_keypoints(5)
    verts, vis = _mesh_from_keypoints(kps, offset=(0.11, 0.0))
    assert pck_transfer(verts, vis, kps, threshold=0.1).pck == 0.0
    # diagonal displacement of length 0.11 too
    d = 0.11 / np.sqrt(2.0)
    verts, vis = _mesh_from_keypoints(kps, offset=(d, -d))
    assert pck_transfer(verts, vis, kps, threshold=0.1).pck == 0.0
    # just inside the threshold → everything correct (the test above can fail)
    verts, vis = _mesh_from_keypoints(kps, offset=(0.09, 0.0))
    assert pck_transfer(verts, vis, kps, threshold=0.1).pck == 1.0


# Hand-computed case: 3 images, 4 vertices, 3 keypoints (crop units).
VERTS = np.array(
    [
        [(0.1, 0.1), (0.5, 0.4), (0.9, 0.1), (0.5, 0.9)],  # image 0, all visible
        [(0.2, 0.1), (0.5, 0.6), (0.8, 0.13), (0.2, 0.16)],  # image 1, v3 hidden
        [(0.1, 0.3), (0.4, 0.5), (0.9, 0.5), (0.6, 0.9)],  # image 2, v0 hidden
    ]
)
VIS = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [0, 1, 1, 1]], bool)
KPS = np.array(
    [
        [(0.12, 0.10, 1), (0.50, 0.52, 1), (0.85, 0.10, 1)],
        [(0.20, 0.15, 1), (0.00, 0.00, 0), (0.80, 0.25, 1)],
        [(0.00, 0.00, 0), (0.42, 0.55, 1), (0.00, 0.00, 0)],
    ]
)


def test_hand_computed_three_image_case():
    # nearest visible vertex: img0 k0→v0, k1→v1 (0.12 away), k2→v2; img1 k0→v0 (the hidden v3
    # would be nearer), k2→v2; img2 k1→v1.
    # (0→1): k0 → (0.2,0.1) vs (0.2,0.15): 0.05 ok; k2 → (0.8,0.13) vs (0.8,0.25): 0.12 miss → 1/2
    # (0→2): k1 → (0.4,0.5) vs (0.42,0.55): 0.054 ok → 1
    # (1→0): k0 → (0.1,0.1) vs (0.12,0.1) ok; k2 → (0.9,0.1) vs (0.85,0.1) ok → 1
    # (2→0): k1 → (0.5,0.4) vs (0.5,0.52): 0.12 miss → 0
    # (1→2), (2→1): no common visible keypoint → skipped
    res = pck_transfer(VERTS, VIS, KPS, threshold=0.1, crop_scale=2.0)
    assert res.pck == pytest.approx((0.5 + 1 + 1 + 0) / 4, abs=1e-6)
    assert (res.pairs_used, res.pairs_skipped) == (4, 2)
    assert (res.keypoints_used, res.keypoints_correct) == (6, 4)
    expected = np.array([[np.nan, 0.5, 1.0], [1.0, np.nan, np.nan], [0.0, np.nan, np.nan]])
    np.testing.assert_allclose(res.per_pair, expected, atol=1e-6)
    assert res.crop_scale == 2.0
    # per keypoint: k0 in (0→1) ok, (1→0) ok; k1 in (0→2) ok, (2→0) miss; k2 (0→1) miss,
    # (1→0) ok; keypoints 3.. do not exist here
    np.testing.assert_allclose(res.per_keypoint, [1.0, 0.5, 0.5], atol=1e-6)


def test_hand_computed_three_image_case_reference_mode():
    # reference: search over all 12 projections; the transferred point is the found vertex itself
    # (0→1): k0 → img0 v0 (0.1,0.1) vs (0.2,0.15): 0.112 miss; k2 → img0 v2 (0.9,0.1) miss → 0
    # (0→2): k1 → img1 v1 (0.5,0.6) vs (0.42,0.55): 0.094 ok → 1
    # (1→0): k0 → img1 v0 (0.2,0.1) vs (0.12,0.1) ok; k2 → img1 v2 (0.8,0.13) vs (0.85,0.1) ok → 1
    # (2→0): k1 → img2 v1 (0.4,0.5) vs (0.5,0.52): 0.102 miss → 0
    res = pck_transfer(VERTS, VIS, KPS, threshold=0.1, mode="reference")
    assert res.pck == pytest.approx(0.5, abs=1e-6)
    assert res.mode == "reference"
    assert res.pck != pck_transfer(VERTS, VIS, KPS, threshold=0.1).pck


def test_reference_mode_reproduces_the_indexing_defect():
    """A perfect reconstruction of animals sitting at different places in their crops: correct
    per-image indexing gives 1.0; the reference's flat search finds the source image's own vertex
    and 'transfers' it to the same place, so every transfer misses."""
    kps = _grid_keypoints(3)
    kps[..., :2] *= 0.3
    kps[1, :, :2] += 0.6  # animal 1 in the lower right of its crop
    verts, vis = _mesh_from_keypoints(kps)
    assert pck_transfer(verts, vis, kps, mode="paper").pck == 1.0
    ref = pck_transfer(verts, vis, kps, mode="reference")
    # only pairs between images 0 and 2 (same place) survive
    assert ref.pck == pytest.approx(2 / 6, abs=1e-6)
    np.testing.assert_allclose(ref.per_pair[0, 1], 0.0)
    np.testing.assert_allclose(ref.per_pair[0, 2], 1.0)


def test_reference_mode_with_full_batch_arrays():
    # 2 images, 1 vertex, 1 keypoint. full[i, b] = image b posed with instance i's networks.
    verts = np.array([[(0.5, 0.5)], [(0.5, 0.5)]])
    vis = np.ones((2, 1), bool)
    kps = np.array([[(0.5, 0.5, 1)], [(0.7, 0.5, 1)]])
    full = np.array([[[(0.5, 0.5)], [(0.5, 0.5)]], [[(0.7, 0.5)], [(0.5, 0.5)]]])
    full_vis = np.ones((2, 2, 1), bool)
    # paper: 0→1 lands on (0.5,0.5), 0.2 off; 1→0 lands on (0.5,0.5), exact → 0.5
    assert pck_transfer(verts, vis, kps).pck == pytest.approx(0.5)
    # reference with full arrays: 0→1 search full[0] → flat 0 (tie → lowest), read full[1] flat 0
    # = (0.7,0.5) ok; 1→0 search full[1] → flat 0 (exact), read full[0] flat 0 = (0.5,0.5) ok
    res = pck_transfer(verts, vis, kps, mode="reference", verts_2d_full=full, visible_full=full_vis)
    assert res.pck == pytest.approx(1.0)
    # without them the per-instance arrays stand in: 0→1 reads (0.5,0.5), misses
    assert pck_transfer(verts, vis, kps, mode="reference").pck == pytest.approx(0.5)


def test_reference_mode_background_face_quirk():
    # image 1's vertex 0 is hidden but sits on image 0's keypoint; the last face [0,1,2] of the
    # last mesh is marked visible by the reference (background id -1 → packed_faces[-1]).
    verts = np.array(
        [
            [(0.3, 0.42), (0.9, 0.9), (0.95, 0.9), (0.9, 0.95)],
            [(0.3, 0.3), (0.9, 0.1), (0.95, 0.1), (0.1, 0.9)],
        ]
    )
    vis = np.array([[1, 0, 0, 0], [0, 0, 0, 1]], bool)
    kps = np.array([[(0.3, 0.3, 1)], [(0.3, 0.3, 1)]])
    faces = np.array([[1, 2, 3], [0, 1, 2]])
    without = pck_transfer(verts, vis, kps, mode="reference")
    with_quirk = pck_transfer(verts, vis, kps, mode="reference", faces=faces)
    assert without.per_pair[0, 1] == 0.0  # (0.3,0.42) is 0.12 from (0.3,0.3)
    assert with_quirk.per_pair[0, 1] == 1.0  # the hidden vertex at (0.3,0.3) is now "visible"


def test_pairs_without_common_keypoint_are_skipped_never_nan():
    kps = _grid_keypoints(3)
    kps[2, :, 2] = 0.0
    kps[2, :, :2] = 0.0
    verts, vis = _mesh_from_keypoints(_grid_keypoints(3))
    res = pck_transfer(verts, vis, kps)
    assert np.isfinite(res.pck)
    assert (res.pairs_used, res.pairs_skipped) == (2, 4)
    kps[1:, :, 2] = 0.0
    with pytest.raises(ValueError, match="no pair"):
        pck_transfer(verts, vis, kps)


def test_source_without_visible_vertex_counts_as_failure():
    kps = _grid_keypoints(3)
    verts, vis = _mesh_from_keypoints(kps)
    vis[0] = False
    res = pck_transfer(verts, vis, kps)
    assert res.sources_without_visible_vertex == (0,)
    assert np.all(res.per_pair[0, 1:] == 0.0)
    assert res.pck == pytest.approx(4 / 6)


@pytest.mark.parametrize(
    ("verts_shape", "vis_shape", "kps_shape", "match"),
    [
        ((3, 5, 3), (3, 5), (3, 14, 3), "verts_2d"),
        ((3, 5, 2), (3, 4), (3, 14, 3), "visible"),
        ((3, 5, 2), (3, 5), (2, 14, 3), "kps"),
        ((1, 5, 2), (1, 5), (1, 14, 3), "at least 2"),
    ],
)
def test_bad_input_names_the_problem(verts_shape, vis_shape, kps_shape, match):
    with pytest.raises(ValueError, match=match):
        pck_transfer(np.zeros(verts_shape), np.ones(vis_shape, bool), np.zeros(kps_shape))


def test_bad_mode_and_nan_rejected():
    kps = _grid_keypoints(2)
    verts, vis = _mesh_from_keypoints(kps)
    with pytest.raises(ValueError, match="mode"):
        pck_transfer(verts, vis, kps, mode="nope")  # type: ignore[arg-type]
    verts[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pck_transfer(verts, vis, kps)
