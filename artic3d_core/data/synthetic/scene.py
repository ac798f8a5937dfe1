"""The wide preset's scene: cameras all around the animal, coloured sun and sky light, a ground
plane with a horizon, the animal's cast shadow, and photographic sensor noise.

Frames as in :mod:`artic3d_core.data.synthetic.raster`: camera space with the orthographic
camera on +z, NDC x right, y up; the animal's canonical frame has up = +y, so the ground plane's
normal in camera space is ``R[:, 1]`` for the global rotation ``R``. Everything is numpy with an
explicit ``Generator``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from artic3d_core.data.synthetic.raster import Ellipsoids
from artic3d_core.data.synthetic.texture import lattice_noise, smooth_noise

__all__ = ["Lighting", "ground_height", "photo_noise", "sample_lighting", "sample_wide_camera"]

# camera ranges of the wide preset (degrees)
AZIMUTH_RANGE = (-180.0, 180.0)
ELEVATION_RANGE = (-10.0, 45.0)
ROLL_RANGE = (-5.0, 5.0)


def sample_wide_camera(rng: np.random.Generator) -> np.ndarray:
    """(3,) 'ZXY' global rotation (roll, elevation, azimuth) in radians: azimuth uniform over
    the circle, elevation U(−10°, 45°), roll U(−5°, 5°)."""
    roll = rng.uniform(*ROLL_RANGE)
    elev = rng.uniform(*ELEVATION_RANGE)
    azim = rng.uniform(*AZIMUTH_RANGE)
    return np.radians([roll, elev, azim])


@dataclass(frozen=True)
class Lighting:
    """A sun (direction ``sun`` (3,) unit, in the animal's frame: +y up; colour ``sun_rgb``)
    and a sky ambient term ``ambient_rgb``; shade = ambient + sun · max(n·l, 0)."""

    sun: np.ndarray
    sun_rgb: np.ndarray
    ambient_rgb: np.ndarray
    shadow: float  # fraction of light left in the cast shadow


def sample_lighting(rng: np.random.Generator) -> Lighting:
    """Sun at elevation U(20°, 75°) and any azimuth; colour from warm low sun to cool overcast."""
    el, az = np.radians(rng.uniform(20, 75)), rng.uniform(-np.pi, np.pi)
    sun = np.array([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)])
    warmth = rng.uniform(-1, 1)  # +1 warm (evening), −1 cool (overcast)
    tint = np.array([1 + 0.12 * warmth, 1.0, 1 - 0.15 * warmth])
    strength = rng.uniform(0.5, 0.8)
    amb = rng.uniform(0.35, 0.55) * np.array([1 - 0.06 * warmth, 1.0, 1 + 0.1 * warmth])
    return Lighting(sun, strength * tint, amb, float(rng.uniform(0.45, 0.7)))


def ground_height(ell: Ellipsoids, up: np.ndarray) -> float:
    """The lowest extent of the ellipsoids along the unit vector ``up`` (camera space): the
    ground plane {p : up·p = h} touches the animal from below."""
    sigma = np.einsum("pij,pj,pkj->pik", ell.rot, ell.axes**2, ell.rot)
    support = np.sqrt(np.einsum("i,pij,j->p", up, sigma, up))
    return float((ell.centre @ up - support).min())


def _shadowed(points: np.ndarray, light: np.ndarray, ell: Ellipsoids) -> np.ndarray:
    """(N,) whether the ray point + μ·light (μ > 0, light unit) from each (N, 3) point enters
    an ellipsoid; the exact test runs only where the ray passes the part's bounding sphere."""
    Q = ell.quadric()
    radius = ell.axes.max(-1)
    out = np.zeros(len(points), bool)
    for p in range(len(ell.centre)):
        d = points - ell.centre[p]
        t = d @ light
        near = (t < radius[p]) & ((d * d).sum(-1) - t * t <= radius[p] ** 2)
        idx = np.nonzero(near & ~out)[0]
        if not len(idx):
            continue
        dn = d[idx]
        qd = dn @ Q[p]
        a = float(light @ Q[p] @ light)
        b = qd @ light
        c = (qd * dn).sum(-1) - 1.0
        disc = b * b - a * c
        out[idx] = (disc >= 0) & (-b + np.sqrt(np.clip(disc, 0, None)) > 0) & (c > 0)
    return out


def scene_background(
    rng: np.random.Generator,
    h: int,
    w: int,
    ell: Ellipsoids,
    R: np.ndarray,
    elevation: float,
    light: Lighting,
    shadow_stride: int = 1,
) -> np.ndarray:
    """(h, w, 3) sky, horizon band and textured ground plane with the animal's cast shadow.

    The ground is the plane under the animal (:func:`ground_height`); each pixel's orthographic
    ray meets it at a point whose plane coordinates index the ground texture, and a ray from
    that point towards the sun decides the shadow. The horizon row follows the camera
    elevation (higher views see more ground; at ≥ 30° the ground fills the image). Shadows are
    traced on every ``shadow_stride``-th pixel (the native grid of a supersampled image).
    """
    up = R[:, 1]
    h0 = ground_height(ell, up)
    sky = np.array([0.55, 0.7, 0.92]) * rng.uniform(0.75, 1.1) + rng.normal(0, 0.05, 3)
    ground_cols = np.array(
        [[0.42, 0.52, 0.24], [0.62, 0.52, 0.34], [0.74, 0.66, 0.48], [0.36, 0.44, 0.3],
         [0.86, 0.88, 0.9]]
    )  # fmt: skip
    ground = ground_cols[rng.integers(len(ground_cols))] + rng.normal(0, 0.04, 3)
    horizon = (0.45 - 0.9 * np.sin(elevation) + rng.uniform(-0.1, 0.1)) * h
    yy = np.arange(h)[:, None]
    # sky: vertical gradient and clouds
    clouds = smooth_noise(rng, h, w, 5)[..., None]
    top = sky * (0.8 + 0.3 * yy[..., None] / h) * (0.9 + 0.2 * clouds)
    # ground plane: the ray of pixel (x, y) meets up·p = h0 at depth z
    xs = (np.arange(w) + 0.5) * 2.0 / w - 1.0
    ys = 1.0 - (np.arange(h) + 0.5) * 2.0 / h
    X, Y = np.meshgrid(xs, ys)
    nz = up[2] if abs(up[2]) > 0.05 else np.copysign(0.05, up[2] if up[2] != 0 else 1.0)
    Z = (h0 - up[0] * X - up[1] * Y) / nz
    pts = np.stack((X, Y, Z), -1).reshape(-1, 3)
    plane = pts @ R  # canonical-frame coordinates: x, z span the plane
    uv = plane[:, [0, 2]]
    tex = 0.6 * lattice_noise(rng, uv * 6.0) + 0.4 * lattice_noise(rng, uv * 30.0)
    low = (ground[None] * (0.75 + 0.45 * tex[:, None])).reshape(h, w, 3)
    dist = np.clip((yy - horizon) / max(h - horizon, 1.0), 0, 1)[..., None]  # 0 at the horizon
    haze = np.exp(-4.0 * dist)
    low = low * (1 - 0.5 * haze) + sky * 0.9 * 0.5 * haze
    sun_cam = R @ light.sun
    k = shadow_stride
    grid = pts.reshape(h, w, 3)[k // 2 :: k, k // 2 :: k]
    shade = _shadowed(grid.reshape(-1, 3), sun_cam / np.linalg.norm(sun_cam), ell)
    shade = shade.reshape(grid.shape[:2]).repeat(k, 0).repeat(k, 1)[:h, :w]
    low = np.where(shade[..., None], low * light.shadow, low)
    img = np.where((yy < horizon)[..., None], top, low)
    # distant hills / tree line along the horizon
    ridge = horizon - (0.02 + 0.08 * smooth_noise(rng, 1, w, 8)[0]) * h
    band = (yy >= ridge[None, :]) & (yy < horizon)
    hill = np.array([0.3, 0.4, 0.3]) * rng.uniform(0.7, 1.2)
    img[band] = img[band] * 0.4 + hill * 0.6
    return np.clip(img, 0, 1)


def photo_noise(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """(H, W, 3) float image in [0, 1] → with exposure / white-balance gain, gamma, a mild
    vignette and signal-dependent sensor noise (luma and chroma)."""
    h, w = image.shape[:2]
    gain = rng.uniform(0.85, 1.15) * np.exp(rng.normal(0, 0.04, 3))
    out = np.clip(image * gain, 0, 1) ** rng.uniform(0.85, 1.15)
    yy, xx = np.mgrid[0:h, 0:w]
    r2 = ((yy - h / 2) ** 2 + (xx - w / 2) ** 2) / (0.5 * (h * h + w * w))
    out = out * (1 - rng.uniform(0.0, 0.25) * r2)[..., None]
    sigma = rng.uniform(0.006, 0.03)
    luma = rng.normal(0, 1, (h, w, 1)) * sigma
    chroma = rng.normal(0, 1, (h, w, 3)) * sigma * 0.5
    return np.clip(out + (luma + chroma) * np.sqrt(0.2 + out), 0, 1)
