"""The one module that imports PyTorch3D's renderer: swap the backend here.

Conventions (docs/method.md §4.5, §5): orthographic camera on +z looking at the origin from distance
5, focal 1, so a vertex at world (x, y) lands at image coordinates ((1 + x)/2, (1 − y)/2) in crop
units (x right, y down, [0, 1]). Other views (azimuth, elevation, focal) use PyTorch3D's
``look_at_view_transform``. Vertices are projected here (orthographic ⇒ a rotation, a focal
scale and a depth offset) and rasterised directly in NDC, so every render mode shares one path.

Every function takes a batch of N meshes with one shared topology: verts (N, V, 3) world units,
faces (F, 3) int64. Image sizes, faces per pixel and σ are arguments (per-stage parameters).
CPU cost ≈ pixels × faces (naive rasteriser, ``bin_size=0``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from pytorch3d.renderer import (
    BlendParams,
    FoVOrthographicCameras,
    MeshRasterizer,
    MeshRenderer,
    RasterizationSettings,
    SoftSilhouetteShader,
    look_at_view_transform,
)
from pytorch3d.renderer.mesh import rasterize_meshes
from pytorch3d.structures import Meshes

__all__ = [
    "Fragments",
    "Meshes",
    "RenderViews",
    "blur_radius",
    "hard_rgb",
    "layered_rgb",
    "orthographic_camera",
    "part_labels",
    "project",
    "rasterize",
    "soft_silhouette",
    "vertex_normals",
    "vertex_visibility",
]


@dataclass
class RenderViews:
    """Per-view camera and light for N renders (docs/method.md §5 random views; guidance ``Views``).

    azim_deg, elev_deg, focal: (N,); background: (N, 3) RGB in [0, 1];
    light_dir: (N, 3) direction *towards* the light in the camera frame (x right, y up, z to the
    viewer); ambient, diffuse: (N,). ``dist`` only offsets depth (orthographic).
    """

    azim_deg: torch.Tensor
    elev_deg: torch.Tensor
    focal: torch.Tensor
    background: torch.Tensor | None = None
    light_dir: torch.Tensor | None = None
    ambient: torch.Tensor | None = None
    diffuse: torch.Tensor | None = None
    dist: float = 5.0

    def __len__(self) -> int:
        return int(self.azim_deg.shape[0])

    @classmethod
    def input_view(cls, n: int, device: torch.device | str = "cpu", **kw) -> RenderViews:
        """The optimisation camera: azimuth 0, elevation 0, focal 1 (docs/method.md §4.5)."""
        z = torch.zeros(n, device=device)
        return cls(azim_deg=z, elev_deg=z.clone(), focal=torch.ones(n, device=device), **kw)

    @classmethod
    def cat(cls, views: list[RenderViews]) -> RenderViews:
        """The views of several RenderViews, in order (fields absent in all stay absent)."""
        if len(views) == 1:
            return views[0]

        def join(name: str) -> torch.Tensor | None:
            parts = [getattr(v, name) for v in views]
            if all(p is None for p in parts):
                return None
            if any(p is None for p in parts):
                raise ValueError(f"cannot join views with and without {name}")
            return torch.cat(parts)

        names = ("azim_deg", "elev_deg", "focal", "background", "light_dir", "ambient", "diffuse")
        return cls(**{n: join(n) for n in names}, dist=views[0].dist)

    @classmethod
    def from_any(cls, views: object) -> RenderViews:
        """Accept any object with the same attribute names (e.g. guidance ``Views``)."""
        if isinstance(views, RenderViews):
            return views
        get = lambda k: getattr(views, k, None)  # noqa: E731
        return cls(
            azim_deg=get("azim_deg"),
            elev_deg=get("elev_deg"),
            focal=get("focal"),
            background=get("background"),
            light_dir=get("light_dir"),
            ambient=get("ambient"),
            diffuse=get("diffuse"),
        )


@dataclass
class Fragments:
    """Rasteriser output: pix_to_face (N, H, W, K) (−1 = none, index into the packed faces of
    the batch), zbuf, bary (N, H, W, K, 3), dists (N, H, W, K) signed squared NDC distance."""

    pix_to_face: torch.Tensor
    zbuf: torch.Tensor
    bary: torch.Tensor
    dists: torch.Tensor


def orthographic_camera(
    batch: int, device: torch.device, dist: float = 5.0, elev: float = 0.0, azim: float = 0.0
) -> FoVOrthographicCameras:
    """The model's camera (docs/method.md §4.5) as a PyTorch3D object (kept for reference checks)."""
    R, T = look_at_view_transform(dist=dist, elev=elev, azim=azim, device=device)
    return FoVOrthographicCameras(R=R.expand(batch, 3, 3), T=T.expand(batch, 3), device=device)


def blur_radius(sigma: float) -> float:
    """Rasteriser blur radius used with soft blending, ln(1/1e-4 − 1)·σ (docs/method.md §5)."""
    return math.log(1.0 / 1e-4 - 1.0) * sigma


def _view_rt(views: RenderViews | None, n: int, device, dtype) -> tuple[torch.Tensor, ...]:
    if views is None:
        R = torch.tensor([[-1.0, 0, 0], [0, 1, 0], [0, 0, -1]], device=device, dtype=dtype)
        return (
            R.expand(n, 3, 3),
            torch.tensor([0.0, 0, 5], device=device, dtype=dtype).expand(n, 3),
            torch.ones(n, device=device, dtype=dtype),
        )
    if len(views) != n:
        raise ValueError(f"{len(views)} views for {n} meshes")
    R, T = look_at_view_transform(
        dist=views.dist,
        elev=views.elev_deg.detach().to(device, dtype),
        azim=views.azim_deg.detach().to(device, dtype),
        device=device,
    )
    return R.to(dtype), T.to(dtype), views.focal.to(device, dtype)


def project(verts: torch.Tensor, views: RenderViews | None = None) -> torch.Tensor:
    """World → PyTorch3D NDC (x left, y up, z = depth from the camera). (N, V, 3) → (N, V, 3)."""
    R, T, f = _view_rt(views, verts.shape[0], verts.device, verts.dtype)
    v = verts @ R + T[:, None]
    return torch.cat([v[..., :2] * f[:, None, None], v[..., 2:]], -1)


def to_image_coords(verts: torch.Tensor, views: RenderViews | None = None) -> torch.Tensor:
    """(N, V, 3) world → (N, V, 2) image coordinates in crop units (x right, y down, [0, 1])."""
    ndc = project(verts, views)
    return (1.0 - ndc[..., :2]) / 2.0


def rasterize(
    verts: torch.Tensor,
    faces: torch.Tensor,
    image_size: int,
    views: RenderViews | None = None,
    blur: float = 0.0,
    faces_per_pixel: int = 1,
    bin_size: int | None = 0,
    rasteriser: str = "auto",
) -> Fragments:
    """Rasterise N meshes sharing ``faces`` (F, 3). Returns :class:`Fragments`.

    ``rasteriser``: 'pytorch3d' (its C++/CUDA kernels), 'torch' (the vectorised splatting
    rasteriser below, same outputs, much faster on CPU) or 'auto' (torch on CPU)."""
    ndc = project(verts, views)
    if rasteriser == "auto":
        rasteriser = "torch" if verts.device.type == "cpu" else "pytorch3d"
    if rasteriser == "torch":
        with torch.no_grad():
            p2f, zbuf, bary, dists = rasterize_splat(
                ndc.detach(), faces, image_size, blur, faces_per_pixel
            )
        if not ndc.requires_grad:
            return Fragments(p2f, zbuf, bary, dists)
        return _differentiable_fragments(ndc, faces, p2f, image_size, clip=blur > 0)
    if rasteriser != "pytorch3d":
        raise ValueError(f"rasteriser must be auto, torch or pytorch3d, got {rasteriser!r}")
    with torch.no_grad():
        p2f, zbuf, bary, dists = rasterize_pytorch3d(
            ndc.detach(), faces, image_size, blur, faces_per_pixel, bin_size
        )
    if not ndc.requires_grad:
        return Fragments(p2f, zbuf, bary, dists)
    return _differentiable_fragments(ndc, faces, p2f, image_size, clip=blur > 0)


# PyTorch3D's rasterisation kernels index their (N, H, W, K, 3) barycentric output with 32-bit
# ints: a call whose N·H·W·K·3 reaches 2³¹ writes out of bounds (on CUDA, "an illegal memory
# access"; e.g. 90 meshes at 512² with K = 50). rasterize_pytorch3d splits the meshes below it.
P3D_MAX_INDEX = 2**31 - 1


def rasterize_pytorch3d(
    ndc: torch.Tensor,
    faces: torch.Tensor,
    image_size: int,
    blur: float,
    faces_per_pixel: int,
    bin_size: int | None = 0,
    max_index: int = P3D_MAX_INDEX,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """PyTorch3D's ``rasterize_meshes`` of N meshes (N, V, 3 NDC) sharing ``faces`` (F, 3), in
    as few calls as keep each call's N·S²·K·3 ≤ ``max_index``. Returns pix_to_face (N, S, S, K)
    (packed over all N meshes: n·F + f), zbuf, bary (…, 3), dists — the outputs of one call."""
    N, Fn = ndc.shape[0], faces.shape[0]
    per_mesh = 3 * image_size * image_size * faces_per_pixel
    if per_mesh > max_index:
        raise ValueError(
            f"one {image_size}² mesh with {faces_per_pixel} faces per pixel exceeds PyTorch3D's "
            f"32-bit index range ({per_mesh} > {max_index})"
        )
    step = max(1, max_index // per_mesh)
    outs = []
    for i in range(0, N, step):
        v = ndc[i : i + step]
        meshes = Meshes(verts=v, faces=faces[None].expand(v.shape[0], -1, -1))
        p2f, zbuf, bary, dists = rasterize_meshes(
            meshes,
            image_size=image_size,
            blur_radius=blur,
            faces_per_pixel=faces_per_pixel,
            bin_size=bin_size,
            perspective_correct=False,
            clip_barycentric_coords=blur > 0,
        )
        if i:
            p2f = torch.where(p2f >= 0, p2f + i * Fn, p2f)
        outs.append((p2f, zbuf, bary, dists))
    if len(outs) == 1:
        return outs[0]
    return tuple(torch.cat(t, 0) for t in zip(*outs, strict=True))  # type: ignore[return-value]


def _cross2(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """z of the 2D cross product, (…, 2) × (…, 2) → (…)."""
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def _barycentric(p, a, b, c, area) -> torch.Tensor:
    """Barycentric coordinates (…, 3) of points p in triangles (a, b, c) of signed ``area``."""
    w0 = _cross2(b - p, c - p) / area
    w1 = _cross2(c - p, a - p) / area
    return torch.stack([w0, w1, 1.0 - w0 - w1], -1)


def _edge_dist2(p, a, b, c) -> torch.Tensor:
    """Squared distance (…) from points p to the nearest edge of triangles (a, b, c)."""

    def seg(u, v):
        e = v - u
        t = ((p - u) * e).sum(-1) / (e * e).sum(-1).clamp_min(1e-12)
        q = u + t.clamp(0, 1)[..., None] * e
        return ((p - q) ** 2).sum(-1)

    return torch.minimum(torch.minimum(seg(a, b), seg(b, c)), seg(c, a))


def rasterize_splat(
    ndc: torch.Tensor, faces: torch.Tensor, size: int, blur: float, K: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Vectorised CPU rasteriser with PyTorch3D's outputs (no gradient).

    Every face is splatted onto the pixels of its (blur-expanded) bounding box; (face, pixel)
    pairs that are inside or within squared distance ``blur`` are kept, sorted by pixel then
    depth, and the K nearest per pixel are written out. Cost ∝ covered pixels, not pixels × faces.
    Returns pix_to_face (N, S, S, K) (packed: n·F + f), zbuf, bary (…, 3), dists.
    """
    N, Fn, dev, dt = ndc.shape[0], faces.shape[0], ndc.device, ndc.dtype
    tri = ndc[:, faces]  # (N,F,3,3)
    xy = tri[..., :2]
    pad = math.sqrt(blur) if blur > 0 else 0.0
    lo, hi = xy.amin(2) - pad, xy.amax(2) + pad  # (N,F,2)
    # pixel centre c_j = 1 − (2j + 1)/S ⇒ j = ((1 − c)·S − 1)/2 (x → column, y → row)
    jmin = torch.ceil(((1 - hi) * size - 1) / 2).clamp(0, size - 1).long()
    jmax = torch.floor(((1 - lo) * size - 1) / 2).clamp(-1, size - 1).long()
    cnt = (jmax - jmin + 1).clamp_min(0)
    n_pix = cnt[..., 0] * cnt[..., 1]  # (N,F)
    ok = (n_pix > 0) & (tri[..., 2].amax(-1) > 0)
    n_pix = torch.where(ok, n_pix, 0).reshape(-1)
    total = int(n_pix.sum())
    p2f = torch.full((N, size, size, K), -1, dtype=torch.long, device=dev)
    zbuf = torch.full((N, size, size, K), -1.0, dtype=dt, device=dev)
    bary_out = torch.full((N, size, size, K, 3), -1.0, dtype=dt, device=dev)
    dist_out = torch.full((N, size, size, K), -1.0, dtype=dt, device=dev)
    if total == 0:
        return p2f, zbuf, bary_out, dist_out
    flat_face = torch.repeat_interleave(torch.arange(N * Fn, device=dev), n_pix)
    start = torch.cumsum(n_pix, 0) - n_pix
    local = torch.arange(total, device=dev) - start[flat_face]
    cw = cnt[..., 0].reshape(-1)[flat_face]
    col = jmin[..., 0].reshape(-1)[flat_face] + local % cw
    row = jmin[..., 1].reshape(-1)[flat_face] + local // cw
    t = tri.reshape(-1, 3, 3)[flat_face]
    c = 1.0 - (2.0 * torch.stack([col, row], -1).to(dt) + 1.0) / size
    a2, b2, c2 = t[:, 0, :2], t[:, 1, :2], t[:, 2, :2]

    area = _cross2(b2 - a2, c2 - a2)
    nz = area.abs() > 1e-12
    area = torch.where(nz, area, torch.ones_like(area))
    bary = _barycentric(c, a2, b2, c2, area)
    inside = (bary > 0).all(-1)
    d2 = _edge_dist2(c, a2, b2, c2)
    if blur > 0:
        bc = bary.clamp_min(0)
        bary = bc / bc.sum(-1, keepdim=True).clamp_min(1e-12)
    z = (bary * t[:, :, 2]).sum(-1)
    keep = nz & (inside | (d2 < blur)) & (z >= 0)
    flat_face, row, col, bary, z = flat_face[keep], row[keep], col[keep], bary[keep], z[keep]
    dist = torch.where(inside[keep], -d2[keep], d2[keep])
    mesh = flat_face // Fn
    pix = (mesh * size + row) * size + col
    order = torch.argsort(z, stable=True)
    order = order[torch.argsort(pix[order], stable=True)]
    pix_s = pix[order]
    first = torch.ones_like(pix_s, dtype=torch.bool)
    first[1:] = pix_s[1:] != pix_s[:-1]
    idx = torch.arange(pix_s.shape[0], device=dev)
    grp_start = torch.cummax(torch.where(first, idx, 0), 0).values
    rank = idx - grp_start
    sel = order[rank < K]
    rk = rank[rank < K]
    pix_sel = pix[sel]
    flat = pix_sel * K + rk
    p2f.view(-1)[flat] = flat_face[sel]
    zbuf.view(-1)[flat] = z[sel]
    dist_out.view(-1)[flat] = dist[sel]
    bary_out.view(-1, 3)[flat] = bary[sel]
    return p2f, zbuf, bary_out, dist_out


def _pixel_centres(size: int, device, dtype) -> torch.Tensor:
    """(H, W, 2) NDC centres of the pixels (PyTorch3D: +x left, +y up)."""
    c = 1.0 - (2.0 * torch.arange(size, device=device, dtype=dtype) + 1.0) / size
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([xx, yy], -1)


def _differentiable_fragments(
    ndc: torch.Tensor, faces: torch.Tensor, p2f: torch.Tensor, size: int, clip: bool
) -> Fragments:
    """Recompute dists, barycentrics and depth in torch for the faces the (no-grad) rasteriser
    selected, so autograd differentiates them. PyTorch3D's CPU backward is ~10× its forward;
    this is the same function (signed squared 2D distance to the nearest edge, negative inside)
    evaluated on N·H·W·K (pixel, face) pairs only."""
    _N, Fn = ndc.shape[0], faces.shape[0]
    valid = p2f >= 0
    idx = valid.nonzero(as_tuple=True)  # only (pixel, face) pairs that exist
    packed = p2f[idx]
    tri = ndc[(packed // Fn)[:, None], faces[packed % Fn]]  # (M,3,3)
    p = _pixel_centres(size, ndc.device, ndc.dtype)[idx[1], idx[2]]  # (M,2)
    a2, b2, c2 = tri[:, 0, :2], tri[:, 1, :2], tri[:, 2, :2]

    area = _cross2(b2 - a2, c2 - a2)
    area = torch.where(area.abs() < 1e-12, torch.full_like(area, 1e-12), area)
    bary = _barycentric(p, a2, b2, c2, area)
    inside = (bary > 0).all(-1)
    d2 = _edge_dist2(p, a2, b2, c2)
    d = torch.where(inside, -d2, d2)
    if clip:
        bc = bary.clamp_min(0)
        bary = bc / bc.sum(-1, keepdim=True).clamp_min(1e-12)
    z = (bary * tri[..., 2]).sum(-1)
    dists = torch.full(p2f.shape, -1.0, dtype=ndc.dtype, device=ndc.device).index_put(idx, d)
    zbuf = torch.full(p2f.shape, -1.0, dtype=ndc.dtype, device=ndc.device).index_put(idx, z)
    bary_full = torch.zeros(*p2f.shape, 3, dtype=ndc.dtype, device=ndc.device).index_put(idx, bary)
    return Fragments(p2f, zbuf, bary_full, dists)


def soft_silhouette(
    verts: torch.Tensor,
    faces: torch.Tensor,
    image_size: int,
    sigma: float = 1e-4,
    gamma: float = 1e-4,
    faces_per_pixel: int = 50,
    bin_size: int | None = 0,
    views: RenderViews | None = None,
    rasteriser: str = "auto",
) -> torch.Tensor:
    """Soft silhouettes (SoftRas, PyTorch3D ``SoftSilhouetteShader`` blending).

    alpha = 1 − Π_k (1 − sigmoid(−d_k/σ)). Returns (N, H, W) in [0, 1], differentiable w.r.t.
    ``verts``. ``gamma`` is unused by silhouettes (kept for the reference's σ/γ pairs).
    """
    del gamma
    frag = rasterize(
        verts, faces, image_size, views, blur_radius(sigma), faces_per_pixel, bin_size, rasteriser
    )
    prob = torch.sigmoid(-frag.dists / sigma) * (frag.pix_to_face >= 0)
    return 1.0 - torch.prod(1.0 - prob, dim=-1)


def soft_silhouette_reference(
    verts: torch.Tensor,
    faces: torch.Tensor,
    image_size: int,
    sigma: float = 1e-4,
    gamma: float = 1e-4,
    faces_per_pixel: int = 50,
) -> torch.Tensor:
    """PyTorch3D's own MeshRenderer + SoftSilhouetteShader (for cross-checking)."""
    B = verts.shape[0]
    raster = RasterizationSettings(
        image_size=image_size,
        blur_radius=blur_radius(sigma),
        faces_per_pixel=faces_per_pixel,
        bin_size=0,
    )
    renderer = MeshRenderer(
        rasterizer=MeshRasterizer(
            cameras=orthographic_camera(B, verts.device), raster_settings=raster
        ),
        shader=SoftSilhouetteShader(blend_params=BlendParams(sigma=sigma, gamma=gamma)),
    )
    return renderer(Meshes(verts=list(verts), faces=[faces] * B))[..., 3]


def vertex_normals(verts: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Area-weighted unit vertex normals. (N, V, 3), (F, 3) → (N, V, 3)."""
    v0, v1, v2 = (verts[:, faces[:, i]] for i in range(3))
    fn = torch.cross(v1 - v0, v2 - v0, dim=-1)
    n = torch.zeros_like(verts)
    for i in range(3):
        n = n.index_add(1, faces[:, i], fn)
    return F.normalize(n, dim=-1, eps=1e-8)


def _shade(
    verts: torch.Tensor,
    faces: torch.Tensor,
    colors: torch.Tensor,
    frag: Fragments,
    views: RenderViews | None,
    ambient: float,
    diffuse: float,
    light_dir: tuple[float, float, float] | list[float],
) -> torch.Tensor:
    """Per-fragment colour (N, H, W, K, 3): ambient·c + diffuse·max(0, n·l)·c (Phong-interpolated
    normals, light direction in the camera frame); 0 where no face is.

    Computed on the M fragments that hold a face only (often a few % of N·H·W·K), then written
    into the dense tensor: the blending weights of empty slots are 0, so the result and its
    gradients are those of shading every slot."""
    N = verts.shape[0]
    Fn = faces.shape[0]
    idx = (frag.pix_to_face >= 0).nonzero(as_tuple=True)  # 4 × (M,)
    mesh_idx = idx[0]  # the packed face n·F + f of a fragment of image n
    vidx = faces[frag.pix_to_face[idx] % Fn]  # (M, 3)
    bidx = mesh_idx[:, None].expand_as(vidx)
    bary = frag.bary[idx][..., None]  # (M, 3, 1)
    col = (colors[bidx, vidx] * bary).sum(-2)  # (M, 3)
    amb = _per_view(views, "ambient", ambient, N, verts)
    dif = _per_view(views, "diffuse", diffuse, N, verts)
    if float(dif.abs().max()) == 0.0:
        col = col * amb[mesh_idx, None]
    else:
        # normals in the camera frame (x right, y up, z to viewer): rotate world normals by R,
        # flip x, z
        R, _, _ = _view_rt(views, N, verts.device, verts.dtype)
        vn = vertex_normals(verts, faces) @ R * torch.tensor([-1.0, 1.0, -1.0]).to(verts)
        nrm = F.normalize((vn[bidx, vidx] * bary).sum(-2), dim=-1, eps=1e-8)
        if views is not None and views.light_dir is not None:
            ld = views.light_dir.to(verts)
        else:
            ld = torch.tensor(list(light_dir), dtype=verts.dtype, device=verts.device)
            ld = ld.expand(N, 3)
        ld = F.normalize(ld, dim=-1)
        lam = (nrm * ld[mesh_idx]).sum(-1, keepdim=True).clamp_min(0)
        col = col * (amb[mesh_idx, None] + dif[mesh_idx, None] * lam)
    out = col.new_zeros((*frag.pix_to_face.shape, 3))
    return out.index_put(idx, col)


def _per_view(views, name: str, default, n: int, ref: torch.Tensor) -> torch.Tensor:
    val = getattr(views, name, None) if views is not None else None
    if val is None:
        val = default
    return torch.as_tensor(val, dtype=ref.dtype, device=ref.device).expand(
        n, *([] if name != "background" else [3])
    )


def layered_rgb(
    verts: torch.Tensor,
    faces: torch.Tensor,
    colors: torch.Tensor,
    image_size: int,
    sigma: float = 1e-4,
    faces_per_pixel: int = 50,
    views: RenderViews | None = None,
    background: tuple[float, float, float] | list[float] = (0.0, 0.0, 0.0),
    ambient: float = 1.0,
    diffuse: float = 0.0,
    light_dir: tuple[float, float, float] | list[float] = (0.0, 1.0, 2.0),
    bin_size: int | None = 0,
    rasteriser: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Layered RGB blending of Monnier et al. (docs/method.md §5): for the K depth-sorted faces per
    pixel, α_k = exp(−max(d_k, 0)/σ)·[valid]; rgb = Σ_k α_k Π_{l<k}(1 − α_l) c_k + Π_k(1 − α_k)
    c_bg.

    colors: (N, V, 3) vertex colours. Returns rgb (N, 3, H, W) and alpha (N, H, W).
    """
    frag = rasterize(
        verts, faces, image_size, views, blur_radius(sigma), faces_per_pixel, bin_size, rasteriser
    )
    col = _shade(verts, faces, colors, frag, views, ambient, diffuse, light_dir)
    return layered_blend(
        col, frag.dists, frag.pix_to_face >= 0, sigma, _background(views, background, verts)
    )


def _background(views, background, ref: torch.Tensor) -> torch.Tensor:
    n = ref.shape[0]
    if views is not None and views.background is not None:
        return views.background.to(ref).reshape(n, 3)
    return torch.as_tensor(list(background), dtype=ref.dtype, device=ref.device).expand(n, 3)


def layered_blend(
    col: torch.Tensor, dists: torch.Tensor, valid: torch.Tensor, sigma: float, bg: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Front-to-back compositing. col (N,H,W,K,3), dists/valid (N,H,W,K), bg (N,3)
    → rgb (N,3,H,W), alpha (N,H,W)."""
    alpha = torch.exp(-dists.clamp_min(0) / sigma) * valid
    trans = torch.cumprod(1.0 - alpha, dim=-1)
    before = torch.cat([torch.ones_like(trans[..., :1]), trans[..., :-1]], -1)
    w = alpha * before
    rgb = (w[..., None] * col).sum(-2) + trans[..., -1:] * bg[:, None, None, :]
    return rgb.permute(0, 3, 1, 2), 1.0 - trans[..., -1]


def hard_rgb(
    verts: torch.Tensor,
    faces: torch.Tensor,
    colors: torch.Tensor,
    image_size: int,
    views: RenderViews | None = None,
    background: tuple[float, float, float] | list[float] = (1.0, 1.0, 1.0),
    ambient: float = 1.0,
    diffuse: float = 0.0,
    light_dir: tuple[float, float, float] | list[float] = (0.0, 1.0, 2.0),
    bin_size: int | None = 0,
    rasteriser: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hard (1 face/pixel) Phong/ambient render. Returns rgb (N, 3, H, W), mask (N, H, W) bool,
    pix_to_face (N, H, W) (index into ``faces``; −1 = background). Differentiable w.r.t. colours
    (and vertices through barycentrics)."""
    frag = rasterize(verts, faces, image_size, views, 0.0, 1, bin_size, rasteriser)
    col = _shade(verts, faces, colors, frag, views, ambient, diffuse, light_dir)[..., 0, :]
    mask = frag.pix_to_face[..., 0] >= 0
    bg = _background(views, background, verts)[:, None, None, :]
    rgb = torch.where(mask[..., None], col, bg).permute(0, 3, 1, 2)
    p2f = torch.where(mask, frag.pix_to_face[..., 0] % faces.shape[0], -1)
    return rgb, mask, p2f


def part_labels(
    verts: torch.Tensor,
    faces: torch.Tensor,
    faces_per_part: int,
    image_size: int,
    views: RenderViews | None = None,
    bin_size: int | None = 0,
) -> torch.Tensor:
    """Part label per pixel: ⌊face / faces_per_part⌋ + 1, 0 = background. (N, H, W) int64."""
    frag = rasterize(verts.detach(), faces, image_size, views, 0.0, 1, bin_size)
    p2f = frag.pix_to_face[..., 0]
    return torch.where(p2f >= 0, (p2f % faces.shape[0]) // faces_per_part + 1, 0)


def vertex_visibility(
    verts: torch.Tensor,
    faces: torch.Tensor,
    image_size: int,
    views: RenderViews | None = None,
    bin_size: int | None = 0,
) -> torch.Tensor:
    """(N, V) bool: vertices of any face hit by a pixel of a hard render (background excluded,
    fixing the reference's −1 defect, docs/method.md §10.1)."""
    frag = rasterize(verts.detach(), faces, image_size, views, 0.0, 1, bin_size)
    N, V = verts.shape[:2]
    vis = torch.zeros(N, V, dtype=torch.bool, device=verts.device)
    p2f = frag.pix_to_face[..., 0]
    for n in range(N):
        f = p2f[n][p2f[n] >= 0] % faces.shape[0]
        vis[n, faces[f.unique()].reshape(-1)] = True
    return vis
