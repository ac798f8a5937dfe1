"""A side-view quadruped label mask (body 1, legs 2, head 3, tail 4) for discovery tests."""

import cv2
import numpy as np
import pytest


def quadruped(size: int = 512, facing: int = 1) -> np.ndarray:
    m = np.zeros((size, size), np.uint8)
    s = size / 256
    cx, cy, bl, bh = size / 2, size / 2 - 10 * s, 58 * s, 26 * s
    for dx, lab in ((-0.8, 2), (-0.45, 2), (0.45, 2), (0.8, 2)):
        x0 = int(cx + dx * bl - 5 * s)
        cv2.rectangle(m, (x0, int(cy)), (int(x0 + 10 * s), int(cy + bh + 52 * s)), lab, -1)
    cv2.ellipse(m, (int(cx), int(cy)), (int(bl), int(bh)), 0, 0, 360, 1, -1)
    hx = cx + facing * (bl + 16 * s)
    cv2.line(
        m,
        (int(cx + facing * bl * 0.7), int(cy - bh * 0.3)),
        (int(hx), int(cy - bh - 16 * s)),
        3,
        int(14 * s),
    )
    cv2.circle(m, (int(hx), int(cy - bh - 18 * s)), int(13 * s), 3, -1)
    tx = cx - facing * (bl + 26 * s)
    cv2.line(
        m,
        (int(cx - facing * bl * 0.9), int(cy - bh * 0.2)),
        (int(tx), int(cy + bh * 0.8)),
        4,
        int(5 * s),
    )
    return m


@pytest.fixture
def quadruped_mask():
    return quadruped
