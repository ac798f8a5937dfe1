"""Exact, vectorised ray casting of ellipsoids under the model's orthographic camera
(docs/method.md §4.5).

The camera sits on +z looking down −z; NDC x ∈ [−1, 1] maps to pixel u = (1 + x)·W/2 and y to
v = (1 − y)·H/2 (pixel centres at integer + 0.5). Each part is an ellipsoid
{p : |diag(1/a) Mᵀ (p − c)| ≤ 1}; per pixel the nearest (largest z) front hit wins — a z-buffer
with exact depths, no triangles. Not differentiable (data generation only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Ellipsoids", "RayHits", "ndc_to_pixel", "ray_occluded", "raycast"]


@dataclass
class Ellipsoids:
    """P ellipsoids in camera space: centre (P, 3), rot (P, 3, 3) (columns = local axes),
    axes (P, 3) semi-axes along the local axes."""

    centre: np.ndarray
    rot: np.ndarray
    axes: np.ndarray

    def quadric(self) -> np.ndarray:
        """(P, 3, 3) Q = M diag(1/a²) Mᵀ."""
        return np.einsum("pij,pj,pkj->pik", self.rot, 1.0 / self.axes**2, self.rot)

    def half_extent(self) -> np.ndarray:
        """(P, 3) half-size of each axis-aligned bounding box: sqrt(diag(M diag(a²) Mᵀ))."""
        return np.sqrt(np.einsum("pij,pj->pi", self.rot**2, self.axes**2))


@dataclass
class RayHits:
    """Per sample: part (h, w) int (−1 = background), depth (h, w) z of the hit,
    local (h, w, 3) hit point in the part's unit-sphere coordinates, normal (h, w, 3) camera."""

    part: np.ndarray
    depth: np.ndarray
    local: np.ndarray
    normal: np.ndarray


def ndc_to_pixel(xy: np.ndarray, height: int, width: int) -> np.ndarray:
    """(..., 2) NDC x, y → (..., 2) pixel u, v."""
    return np.stack(((1.0 + xy[..., 0]) * width / 2.0, (1.0 - xy[..., 1]) * height / 2.0), -1)


def raycast(ell: Ellipsoids, height: int, width: int) -> RayHits:
    """Render part ids, depths, local coordinates and normals on an ``height``×``width`` grid."""
    Q = ell.quadric()
    ext = ell.half_extent()
    depth = np.full((height, width), -np.inf)
    part = np.full((height, width), -1, dtype=np.int64)
    for p in range(len(ell.centre)):
        cx, cy, cz = ell.centre[p]
        # pixel index ranges covering the bounding box
        i0 = max(0, int(np.floor((cx - ext[p, 0] + 1.0) * width / 2.0)))
        i1 = min(width, int(np.ceil((cx + ext[p, 0] + 1.0) * width / 2.0)) + 1)
        j0 = max(0, int(np.floor((1.0 - cy - ext[p, 1]) * height / 2.0)))
        j1 = min(height, int(np.ceil((1.0 - cy + ext[p, 1]) * height / 2.0)) + 1)
        if i0 >= i1 or j0 >= j1:
            continue
        xs = (np.arange(i0, i1) + 0.5) * 2.0 / width - 1.0 - cx
        ys = 1.0 - (np.arange(j0, j1) + 0.5) * 2.0 / height - cy
        dx, dy = xs[None, :], ys[:, None]
        q = Q[p]
        a = q[2, 2]
        b = q[0, 2] * dx + q[1, 2] * dy
        c = q[0, 0] * dx**2 + 2 * q[0, 1] * dx * dy + q[1, 1] * dy**2 - 1.0
        disc = b * b - a * c
        hit = disc >= 0
        z = cz + (-b + np.sqrt(np.where(hit, disc, 0.0))) / a
        win = depth[j0:j1, i0:i1]
        better = hit & (z > win)
        win[better] = z[better]
        part[j0:j1, i0:i1][better] = p
    local = np.zeros((height, width, 3))
    normal = np.zeros((height, width, 3))
    jj, ii = np.nonzero(part >= 0)
    if len(jj):
        pid = part[jj, ii]
        pts = np.stack(
            ((ii + 0.5) * 2.0 / width - 1.0, 1.0 - (jj + 0.5) * 2.0 / height, depth[jj, ii]), -1
        )
        rel = pts - ell.centre[pid]
        loc = np.einsum("nji,nj->ni", ell.rot[pid], rel) / ell.axes[pid]
        nrm = np.einsum("nij,nj->ni", ell.rot[pid], loc / ell.axes[pid])
        local[jj, ii] = loc
        normal[jj, ii] = nrm / np.linalg.norm(nrm, axis=-1, keepdims=True).clip(1e-12)
    return RayHits(part, depth, local, normal)


def ray_occluded(point: np.ndarray, ell: Ellipsoids, ignore: set[int]) -> bool:
    """Whether the ray from ``point`` (3,) towards the camera (+z) enters any ellipsoid not in
    ``ignore`` and not containing the point."""
    Q = ell.quadric()
    for p in range(len(ell.centre)):
        if p in ignore:
            continue
        d = point - ell.centre[p]
        qd = Q[p] @ d
        c = float(d @ qd) - 1.0
        if c <= 0:  # the point is inside this part
            continue
        a, b = Q[p, 2, 2], float(qd[2])
        if b * b - a * c >= 0 and b < 0:
            return True
    return False
