import functools

import torch
import torch.nn.functional as F

from artic3d_core.animate.config import AnimateConfig
from artic3d_core.animate.flow import frame_flows, temporal_loss, warp, warped_frame_difference
from artic3d_core.animate.tdass import tdass

H = 64
CELL = 4  # the mesh is a grid of CELL-px quads, two triangles each


def _grid_mesh(n_cells: int, x0: float, y0: float):
    """A square grid mesh: vertices (V, 2) in crop units, faces (F, 3)."""
    ij = torch.stack(
        torch.meshgrid(torch.arange(n_cells + 1), torch.arange(n_cells + 1), indexing="ij"), -1
    )
    verts = torch.stack([x0 + ij[..., 1] * CELL / H, y0 + ij[..., 0] * CELL / H], -1).reshape(-1, 2)
    faces = []
    for r in range(n_cells):
        for c in range(n_cells):
            a = r * (n_cells + 1) + c
            faces += [[a, a + 1, a + n_cells + 2], [a, a + n_cells + 2, a + n_cells + 1]]
    return verts.float(), torch.tensor(faces)


def _scene(n_frames=4, shift_px=4, n_cells=6):
    """A textured square translating by shift_px per frame; exact pix_to_face per frame."""
    base_v, faces = _grid_mesh(n_cells, 0.2, 0.25)
    verts = torch.stack([base_v + torch.tensor([k * shift_px / H, 0.0]) for k in range(n_frames)])
    p2f = torch.full((n_frames, H, H), -1, dtype=torch.long)
    yy, xx = torch.meshgrid(torch.arange(H), torch.arange(H), indexing="ij")
    pix = torch.stack([(xx + 0.5) / H, (yy + 0.5) / H], -1)
    # one colour per mesh cell: a face centroid always lands in a cell of the right colour
    cells = torch.rand(3, n_cells, n_cells, generator=torch.Generator().manual_seed(0))
    tex = cells.repeat_interleave(CELL, 1).repeat_interleave(CELL, 2)
    frames = torch.ones(n_frames, 3, H, H)
    for k in range(n_frames):
        rel = (pix - verts[k, 0]) * H / CELL  # in cells
        inside = (rel >= 0).all(-1) & (rel < n_cells).all(-1)
        cx, cy = rel[..., 0].floor().long(), rel[..., 1].floor().long()
        upper = (rel[..., 0] - cx) >= (rel[..., 1] - cy)  # triangle a, a+1, a+n+2
        f = 2 * (cy * n_cells + cx) + (~upper).long()
        p2f[k][inside] = f[inside]
        x0 = round(float(verts[k, 0, 0]) * H)
        y0 = round(float(verts[k, 0, 1]) * H)
        frames[k, :, y0 : y0 + n_cells * CELL, x0 : x0 + n_cells * CELL] = tex
    return frames, p2f, verts, faces


def test_flows_from_rasterisation_recover_rigid_motion():
    frames, p2f, verts, faces = _scene()
    fl = frame_flows(p2f, verts, faces, size=H)
    # where frame k+1 is covered, fwd points 4 px to the left (the same surface in frame k),
    # up to the face-centroid offset (at most 2/3 of a cell)
    v = fl["fwd_valid"][0] > 0.99
    _yy, xx = torch.meshgrid(torch.arange(H), torch.arange(H), indexing="ij")
    px = ((fl["fwd"][0][..., 0] + 1) / 2 * H - 0.5)[v]
    assert (px - (xx[v] - 4)).abs().max() <= 2 / 3 * CELL + 1e-4
    # warping frame k with the flow reproduces frame k+1 on the interior of the surface
    interior = F.max_pool2d(1 - fl["fwd_valid"][:, None], 5, 1, 2)[:, 0] < 1e-6
    err = (warp(frames[:-1], fl["fwd"]) - frames[1:]).abs().mean(1)
    static = (frames[:-1] - frames[1:]).abs().mean(1)
    assert err[interior].mean() < 0.1 * static[interior].mean()
    assert warped_frame_difference(frames, fl) < warped_frame_difference(frames.flip(0), fl)


def test_temporal_loss_zero_for_consistent_latents():
    _frames, p2f, verts, faces = _scene()
    fl = frame_flows(p2f, verts, faces, size=H)
    const = torch.ones(4, 2, H, H)
    assert temporal_loss(const, fl) < 1e-10
    assert temporal_loss(torch.rand(4, 2, H, H), fl) > 1e-3


def _noisy_targets(z, scale, gen):
    """A stand-in for per-frame DASS: an independent perturbation of each frame's latent."""
    return z + scale * torch.randn(z.shape, generator=gen)


def test_tdass_lowers_warped_frame_difference_vs_per_frame_baseline():
    frames, p2f, verts, faces = _scene(n_frames=6)
    fl = frame_flows(p2f, verts, faces, size=16)
    down = functools.partial(F.interpolate, size=(16, 16), mode="area")
    up = functools.partial(F.interpolate, size=(H, H), mode="bilinear", align_corners=False)
    cfg = AnimateConfig(tdass_iters=40, tdass_lr=5e-2, temporal_weight=2.0, temporal_until=35)
    gen = torch.Generator().manual_seed(0)
    res = tdass(
        frames,
        fl,
        down,
        up,
        functools.partial(_noisy_targets, scale=0.15, gen=gen),
        cfg,
        progress=False,
    )
    assert res.frames.shape == frames.shape and len(res.losses) == 40
    assert res.warp_diff_output < res.warp_diff_baseline
    assert res.losses[-1]["recon"] < 0.1


def test_tdass_with_tiny_prior_plumbing():
    """With the tiny random prior this only proves the plumbing (shapes, gradients, decode)."""
    from artic3d_core.guidance.config import TDassSettings
    from artic3d_core.guidance.dass import update_latents
    from artic3d_core.guidance.stable_diffusion import StableDiffusion
    from artic3d_core.weights import WeightsConfig, load_stable_diffusion

    sd = StableDiffusion(load_stable_diffusion(WeightsConfig(profile="tiny")))
    frames, p2f, verts, faces = _scene(n_frames=3)
    fl = frame_flows(p2f, verts, faces, size=H // 8)
    gen = torch.Generator().manual_seed(0)
    settings = TDassSettings(n=1)
    targets = functools.partial(
        update_latents,
        sd,
        prompt="A photo of zebra in white background",
        settings=settings,
        generator=gen,
    )
    enc = functools.partial(sd.encode, generator=torch.Generator().manual_seed(1))
    cfg = AnimateConfig(tdass_iters=3)
    res = tdass(frames, fl, enc, sd.decode, targets, cfg, progress=False)
    assert res.frames.shape == frames.shape and torch.isfinite(res.frames).all()
    assert all(torch.isfinite(torch.tensor(list(r.values()))).all() for r in res.losses)
    assert res.losses[0]["temporal"] > 0
