"""Shared fixtures: a toy class of procedural 'animals' on cluttered backgrounds, with GT."""

from __future__ import annotations

import cv2
import numpy as np
import pytest


def animal_mask(size: int, rng: np.random.Generator, facing: int = 1) -> np.ndarray:
    """A side-view quadruped silhouette (body, 4 legs, neck+head, tail) as uint8 part ids
    (1 body, 2 legs, 3 head/neck, 4 tail); roughly centred."""
    m = np.zeros((size, size), np.uint8)
    s = size / 256
    cx = size / 2 + rng.uniform(-8, 8) * s
    cy = size / 2 + rng.uniform(-6, 6) * s
    bl, bh = rng.uniform(52, 62) * s, rng.uniform(24, 30) * s
    leg_len, leg_w = rng.uniform(48, 58) * s, rng.uniform(9, 12) * s
    for dx in (-0.75, -0.5, 0.5, 0.75):
        x0 = int(cx + dx * bl - leg_w / 2)
        cv2.rectangle(m, (x0, int(cy)), (int(x0 + leg_w), int(cy + bh * 0.6 + leg_len)), 2, -1)
    cv2.ellipse(m, (int(cx), int(cy)), (int(bl), int(bh)), 0, 0, 360, 1, -1)
    hx = cx + facing * (bl + 14 * s)
    cv2.line(
        m,
        (int(cx + facing * bl * 0.7), int(cy - bh * 0.3)),
        (int(hx), int(cy - bh - 14 * s)),
        3,
        int(14 * s),
    )
    cv2.circle(m, (int(hx), int(cy - bh - 16 * s)), int(13 * s), 3, -1)
    tx = cx - facing * (bl + 22 * s)
    cv2.line(
        m,
        (int(cx - facing * bl * 0.9), int(cy - bh * 0.2)),
        (int(tx), int(cy + bh * 0.6)),
        4,
        int(5 * s),
    )
    return m


def clutter(size: int, rng: np.random.Generator) -> np.ndarray:
    """A cluttered background: smooth colour gradient, random blobs, rectangles and noise."""
    base = rng.uniform(0.2, 0.8, 3)
    yy, _xx = np.mgrid[0:size, 0:size] / size
    img = base[None, None] + 0.25 * (yy[..., None] - 0.5) * rng.uniform(-1, 1, 3)
    for _ in range(rng.integers(8, 16)):
        col = rng.uniform(0, 1, 3).tolist()
        c = tuple(int(v) for v in rng.integers(0, size, 2))
        if rng.uniform() < 0.5:
            cv2.circle(img, c, int(rng.integers(size // 20, size // 6)), col, -1)
        else:
            d = rng.integers(size // 20, size // 5, 2)
            cv2.rectangle(img, c, (int(c[0] + d[0]), int(c[1] + d[1])), col, -1)
    img = cv2.GaussianBlur(img.astype(np.float32), (0, 0), 1.5)
    return np.clip(img + rng.normal(0, 0.03, img.shape), 0, 1).astype(np.float32)


def animal_texture(size: int, rng: np.random.Generator, kind: str) -> np.ndarray:
    """Animal coat: 'striped' (black/white), 'spotted' (tan with dark spots) or 'plain'."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    if kind == "striped":
        ph = rng.uniform(0, 6.28)
        v = (np.sin((xx + 0.3 * yy) / size * 60 + ph) > 0).astype(np.float32)
        tex = np.stack([v, v, v], -1) * 0.9 + 0.05
    elif kind == "spotted":
        tex = np.ones((size, size, 3), np.float32) * np.array([0.85, 0.65, 0.3], np.float32)
        for _ in range(int(size * size / 600)):
            c = tuple(int(v) for v in rng.integers(0, size, 2))
            cv2.circle(tex, c, int(rng.integers(2, 5) * size / 256), (0.3, 0.15, 0.05), -1)
    else:
        tex = np.ones((size, size, 3), np.float32) * np.array([0.55, 0.35, 0.2], np.float32)
    return np.clip(tex + rng.normal(0, 0.02, tex.shape), 0, 1).astype(np.float32)


def toy_class(n: int, size: int, kind: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, size, size, 3) images and (n, size, size) uint8 part masks."""
    rng = np.random.default_rng(seed)
    imgs, parts = [], []
    for i in range(n):
        pm = animal_mask(size, rng, facing=1 if i % 2 == 0 else -1)
        img = clutter(size, rng)
        tex = animal_texture(size, rng, kind)
        fg = (pm > 0)[..., None]
        imgs.append(np.where(fg, tex, img))
        parts.append(pm)
    return np.stack(imgs), np.stack(parts)


@pytest.fixture(scope="session")
def make_toy_class():
    return toy_class
