"""Texture baking for exported meshes: the renderer's per-vertex colours written into UV images.

The model's colours (docs/method.md §4.7) are per-vertex: the part texture is sampled bilinearly
at each template vertex's sphere UV, mirror-averaged, and the renderer interpolates those vertex
colours linearly across each face. The learnt texture image itself only carries signal at the
texels next to vertex UVs (nothing else receives a gradient), so an exporter that ships it
unchanged shows a grey, speckled surface. Instead each face's vertex colours are rasterised into
the face's own UV triangle (a bake): a viewer that interpolates UVs and samples the image then
shows what the renderer shows, up to texel resolution.

Layout: every part uses the equirectangular sphere UV of its template (u = atan2(x, z)/π across,
v = atan2(y, √(x² + z²))·2/π down, as in :func:`~artic3d_core.model.texture.sphere_uv`), so the
baked tile looks like the part texture. Faces straddling the u = ±1 seam get copies of their
u < 0 corners at u + 2 (the tile extends past u = 1 to hold them), and faces at a pole get a
copy of the pole vertex at the mean u of their other corners (the pole is a point on the sphere
but a line in UV). Parts share the layout; each part's tile sits in a grid atlas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from artic3d_core.model.texture import sphere_uv

__all__ = ["BakedMesh", "PartLayout", "bake_model_mesh", "bake_size", "part_layout"]


def bake_size(level: int) -> int:
    """Tile height in texels for template ``level``: about 6 texels per equatorial edge
    (the level-L ico-sphere has ~10·2^L edges around the equator), 64 to 512."""
    return int(min(512, max(64, 32 * 2**level)))


@dataclass
class PartLayout:
    """UV layout of one part template, shared by all parts.

    uv: (V', 2) in [0, 1]² of the tile (OBJ/trimesh convention: v up). faces: (F, 3) into V'.
    src: (V',) template vertex of each UV vertex; the first V are the template's own, in order.
    texel_face: (H, W) face whose colours fill each texel; texel_bary: (H, W, 3) its weights.
    """

    uv: np.ndarray
    faces: np.ndarray
    src: np.ndarray
    texel_face: np.ndarray
    texel_bary: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.texel_face.shape

    def bake(self, colors: np.ndarray) -> np.ndarray:
        """Per-vertex colours (nb, V, 3) in [0, 1] → tiles (nb, H, W, 3) uint8."""
        corners = self.src[self.faces][self.texel_face]  # (H, W, 3) template vertices
        c = (np.asarray(colors, np.float64)[:, corners] * self.texel_bary[None, ..., None]).sum(-2)
        return (np.clip(c, 0, 1) * 255 + 0.5).astype(np.uint8)


def _unwrapped_corners(template: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-corner sphere u (F, 3) with the seam and poles resolved (see module doc), and a
    (F, 3) mask of corners whose u differs from their vertex's own."""
    uv = sphere_uv(torch.from_numpy(np.asarray(template, np.float64))).numpy()
    pole = np.hypot(template[:, 0], template[:, 2]) < 1e-6
    cu = uv[faces, 0].copy()
    cp = pole[faces]
    big = np.where(cp, -np.inf, cu).max(1) - np.where(cp, np.inf, cu).min(1)
    shifted = (big > 1.0)[:, None] & (cu < 0) & ~cp
    cu[shifted] += 2.0
    mean = np.where(cp, 0.0, cu).sum(1) / np.maximum((~cp).sum(1), 1)
    cu = np.where(cp, mean[:, None], cu)
    return cu, shifted | cp


def _rasterise(px: np.ndarray, tri: np.ndarray, H: int, W: int) -> tuple[np.ndarray, np.ndarray]:
    """Texel-centre rasterisation of UV triangles px (F, 3, 2) (x, y in texel units) → face per
    texel (−1 = none) and barycentrics (H, W, 3)."""
    face = np.full((H, W), -1, np.int64)
    bary = np.zeros((H, W, 3))
    for f in range(len(tri)):
        a, b, c = px[f]
        area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        if abs(area) < 1e-12:
            continue
        x0, y0 = np.floor(px[f].min(0)).astype(int)
        x1, y1 = np.ceil(px[f].max(0)).astype(int)
        xs = np.arange(max(x0, 0), min(x1, W - 1) + 1)
        ys = np.arange(max(y0, 0), min(y1, H - 1) + 1)
        if not len(xs) or not len(ys):
            continue
        gx, gy = np.meshgrid(xs, ys)
        w = _bary(np.stack([gx, gy], -1).astype(np.float64), a, b, c, area)
        inside = (w >= -1e-9).all(-1)
        face[gy[inside], gx[inside]] = f
        bary[gy[inside], gx[inside]] = w[inside]
    return face, bary


def _bary(p: np.ndarray, a, b, c, area) -> np.ndarray:
    def cross(o, q):
        return (q[0] - o[0]) * (p[..., 1] - o[1]) - (q[1] - o[1]) * (p[..., 0] - o[0])

    return np.stack([cross(b, c), cross(c, a), cross(a, b)], -1) / np.asarray(area)[..., None]


def part_layout(template: np.ndarray, faces: np.ndarray, height: int) -> PartLayout:
    """The UV layout and texel rasterisation of a part template (V, 3) with faces (F, 3).

    Texels outside every UV triangle take the colour of the nearest covered texel's face,
    extrapolated and clamped to it, so bilinear filtering at triangle edges never mixes in an
    unbaked texel."""
    from scipy.ndimage import distance_transform_edt

    template = np.asarray(template, np.float64)
    faces = np.asarray(faces, np.int64)
    V = len(template)
    cu, moved = _unwrapped_corners(template, faces)
    # UV vertices: the template's own, then one per distinct (vertex, moved u)
    key = np.stack([faces[moved].astype(np.float64), cu[moved]], -1)
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    new_faces = faces.copy()
    new_faces[moved] = V + inv.reshape(-1)
    src = np.concatenate([np.arange(V), uniq[:, 0].astype(np.int64)])
    uv_sphere = sphere_uv(torch.from_numpy(template)).numpy()
    su = np.concatenate([uv_sphere[:, 0], uniq[:, 1]])
    sv = uv_sphere[src, 1]
    su_min, su_max = float(cu.min()), float(cu.max())
    H = int(height)
    W = int(np.ceil(H * (su_max - su_min) / 2))
    # texel-centre coordinates: u_min … u_max → columns 0 … W−1, v = −1 … 1 → rows 0 … H−1
    x = (su - su_min) / (su_max - su_min) * (W - 1)
    y = (sv + 1) / 2 * (H - 1)
    face, bary = _rasterise(np.stack([x, y], -1)[new_faces], new_faces, H, W)
    empty = face < 0
    if empty.any():
        _, (iy, ix) = distance_transform_edt(empty, return_indices=True)
        near = face[iy, ix]
        gy, gx = np.nonzero(empty)
        tri = np.stack([x, y], -1)[new_faces[near[gy, gx]]]  # (n, 3, 2)
        a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
        area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
        p = np.stack([gx, gy], -1).astype(np.float64)
        w = _bary(p, a.T, b.T, c.T, np.where(np.abs(area) < 1e-12, 1.0, area))
        w = np.clip(w, 0, None)
        w = w / np.maximum(w.sum(-1, keepdims=True), 1e-12)
        face[gy, gx] = near[gy, gx]
        bary[gy, gx] = w
    uv = np.stack([(x + 0.5) / W, 1.0 - (y + 0.5) / H], -1)
    return PartLayout(uv, new_faces, src, face, bary)


@dataclass
class BakedMesh:
    """A combined mesh ready for OBJ/GLB: verts (V', 3), faces (F, 3), per-vertex uvs (V', 2)
    into ``image`` (H, W, 3) uint8, normals (V', 3) of the unsplit mesh (so the UV seams shade
    smoothly), src (V',) vertex of the input mesh behind each output vertex."""

    verts: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray
    normals: np.ndarray
    image: np.ndarray
    src: np.ndarray


def _vertex_normals(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    fn = np.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]])
    n = np.zeros_like(verts)
    for k in range(3):
        np.add.at(n, faces[:, k], fn)
    return n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)


def bake_mesh(
    verts: np.ndarray, template: np.ndarray, part_faces: np.ndarray, colors: np.ndarray, height: int
) -> BakedMesh:
    """Bake the combined mesh of nb parts (verts (nb·V, 3), part b's vertices at b·V …) with
    per-vertex ``colors`` (nb·V, 3) into an atlas of nb tiles (a near-square grid)."""
    verts = np.asarray(verts, np.float64)
    V = len(template)
    nb = len(verts) // V
    lay = part_layout(template, part_faces, height)
    tiles = lay.bake(np.asarray(colors).reshape(nb, V, 3))
    H, W = lay.shape
    cols = int(np.ceil(np.sqrt(nb)))
    rows = int(np.ceil(nb / cols))
    image = np.full((rows * H, cols * W, 3), 128, np.uint8)
    normals = _vertex_normals(
        verts, (np.asarray(part_faces)[None] + V * np.arange(nb)[:, None, None]).reshape(-1, 3)
    )
    uvs, faces, src = [], [], []
    for b in range(nb):
        r, c = divmod(b, cols)
        image[r * H : (r + 1) * H, c * W : (c + 1) * W] = tiles[b]
        # tile uv (v up) → atlas uv (v up, row 0 of the grid at the top)
        uvs.append(np.stack([(c + lay.uv[:, 0]) / cols, (rows - 1 - r + lay.uv[:, 1]) / rows], -1))
        faces.append(lay.faces + b * len(lay.src))
        src.append(lay.src + b * V)
    src = np.concatenate(src)
    return BakedMesh(
        verts[src], np.concatenate(faces), np.concatenate(uvs), normals[src], image, src
    )


@torch.no_grad()
def bake_model_mesh(model, mesh, instance: int = 0, height: int | None = None) -> BakedMesh:
    """Bake ``mesh`` (a :class:`~artic3d_core.model.articulated.PosedMesh` of ``model``; batch
    row ``instance``) with the colours the renders use, ``model.uv_vertex_colors``."""
    col = model.uv_vertex_colors(mesh).detach().cpu().numpy()
    return bake_mesh(
        mesh.flat_verts[instance].detach().cpu().numpy(),
        mesh.template.detach().cpu().numpy(),
        mesh.faces[: mesh.faces_per_part].cpu().numpy(),
        col,
        height or bake_size(mesh.level),
    )
