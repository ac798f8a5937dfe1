"""Left/right facing synchronisation (features/facing.py) on shapes with a known answer."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from artic3d_core.features.facing import facing_signs, normalised_frames


def _animal(rng: np.random.Generator, s: int = 128) -> np.ndarray:
    """An asymmetric side-view silhouette facing +x: body, a raised head, a thin tail, legs;
    random size, position and proportions."""
    m = np.zeros((s, s), np.uint8)
    sc = rng.uniform(0.8, 1.2)
    cx, cy = s / 2 + rng.uniform(-8, 8), s / 2 + rng.uniform(-8, 8)
    bw, bh = 30 * sc * rng.uniform(0.9, 1.1), 14 * sc
    cv2.ellipse(m, (int(cx), int(cy)), (int(bw), int(bh)), 0, 0, 360, 1, -1)
    hx, hy = cx + bw * 0.95, cy - bh * rng.uniform(1.2, 1.8)
    cv2.line(m, (int(cx + bw * 0.6), int(cy)), (int(hx), int(hy)), 1, int(8 * sc))
    cv2.circle(m, (int(hx), int(hy)), int(9 * sc), 1, -1)
    cv2.line(m, (int(cx - bw), int(cy)), (int(cx - bw * 1.5), int(cy + 10 * sc)), 1, 2)
    for fx in (-0.6, -0.4, 0.4, 0.6):
        x = int(cx + fx * bw + rng.uniform(-3, 3))
        cv2.line(m, (x, int(cy)), (x + int(rng.uniform(-5, 5)), int(cy + 2.2 * bh)), 1, 4)
    return m > 0


def test_frames_are_centred_and_mirror_symmetric_for_a_disc() -> None:
    m = np.zeros((1, 64, 64), bool)
    cv2.circle(m[0].view(np.uint8), (20, 40), 10, 1, -1)
    f = normalised_frames(m, grid=32)[0, 0]
    ys, xs = np.nonzero(f > 0.5)
    assert abs(xs.mean() - 15.5) < 0.6 and abs(ys.mean() - 15.5) < 0.6
    assert np.abs(f - f[:, ::-1]).max() < 0.35  # a disc looks the same mirrored


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_signs_recover_random_mirroring(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.choice([-1.0, 1.0], 12)
    truth[0] = 1.0
    fg = np.stack([_animal(rng)[:, ::-1] if t < 0 else _animal(rng) for t in truth])
    res = facing_signs(fg)
    np.testing.assert_array_equal(res.signs, truth)
    assert res.score > 0.5 and (res.agreement > 0).all()


def test_global_sign_follows_image_zero_and_single_image() -> None:
    rng = np.random.default_rng(3)
    fg = np.stack([_animal(rng)[:, ::-1] for _ in range(5)])  # all mirrored: all agree with 0
    np.testing.assert_array_equal(facing_signs(fg).signs, np.ones(5))
    assert facing_signs(fg[:1]).signs.tolist() == [1.0]
