"""Dense correspondences between animation frames from mesh rasterisation (docs/method.md §9.3), and
latent warping with them.

A frame's pixel that sees face f is sent to where f's three vertices project in the other
frame (mean of the three), so flows are exact for rigid parts up to the face's size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def correspondence_grid(
    pix_to_face: torch.Tensor, verts_2d_other: torch.Tensor, faces: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """For one frame: where each pixel's surface point lies in another frame.

    pix_to_face: (H, W) long, face index into ``faces`` or −1 for background.
    verts_2d_other: (V, 2) vertex projections in the other frame, crop units [0, 1] (x, y down).
    faces: (F, 3) long.
    Returns grid (H, W, 2) in grid_sample's [−1, 1] coordinates and valid (H, W) float.
    """
    valid = pix_to_face >= 0
    f = pix_to_face.clamp_min(0)
    pos = verts_2d_other[faces[f]].mean(-2)  # (H, W, 2)
    grid = pos * 2 - 1
    grid = torch.where(valid[..., None], grid, torch.zeros_like(grid))
    return grid, valid.float()


def frame_flows(
    pix_to_face: torch.Tensor, verts_2d: torch.Tensor, faces: torch.Tensor, size: int
) -> dict[str, torch.Tensor]:
    """Forward and backward flows of an N-frame sequence at ``size``² (bilinear down-sampling;
    validity becomes fractional at the silhouette edge).

    pix_to_face: (N, H, W) per-frame face indices (−1 background); verts_2d: (N, V, 2).
    Returns ``fwd``/``bwd`` (N−1, size, size, 2) and ``fwd_valid``/``bwd_valid`` (N−1, size, size):
    fwd[k] samples frame k at the positions of frame k+1's pixels (for warp(z_k) → z_{k+1}),
    bwd[k] samples frame k+1 at the positions of frame k's pixels.
    """
    N = pix_to_face.shape[0]
    fwd, fwd_v, bwd, bwd_v = [], [], [], []
    for k in range(N - 1):
        g, v = correspondence_grid(pix_to_face[k + 1], verts_2d[k], faces)
        fwd.append(g)
        fwd_v.append(v)
        g, v = correspondence_grid(pix_to_face[k], verts_2d[k + 1], faces)
        bwd.append(g)
        bwd_v.append(v)

    def down(grids, valids):
        gr = torch.stack(grids).permute(0, 3, 1, 2)
        va = torch.stack(valids)[:, None]
        gr = F.interpolate(gr * va, size=(size, size), mode="bilinear", align_corners=False)
        va = F.interpolate(va, size=(size, size), mode="bilinear", align_corners=False)
        gr = gr / va.clamp_min(1e-6)  # average over the covered part of each cell
        return gr.permute(0, 2, 3, 1), va[:, 0]

    f, fv = down(fwd, fwd_v)
    b, bv = down(bwd, bwd_v)
    return {"fwd": f, "fwd_valid": fv, "bwd": b, "bwd_valid": bv}


def warp(x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Sample x (B, C, h, w) at grid (B, h, w, 2) (bilinear, align_corners=False)."""
    return F.grid_sample(x, grid.to(x.dtype), mode="bilinear", align_corners=False)


def temporal_loss(z: torch.Tensor, flows: dict[str, torch.Tensor]) -> torch.Tensor:
    """Symmetric warped-frame loss (docs/method.md §9.5): mean[(z_k − warp(z_{k−1}, F_fwd))²·valid]
    + mean[(z_{k−1} − warp(z_k, F_bwd))²·valid]. z: (N, C, h, w)."""
    fw = warp(z[:-1], flows["fwd"])
    bw = warp(z[1:], flows["bwd"])
    lf = ((z[1:] - fw) ** 2 * flows["fwd_valid"][:, None]).mean()
    lb = ((z[:-1] - bw) ** 2 * flows["bwd_valid"][:, None]).mean()
    return lf + lb


def warped_frame_difference(frames: torch.Tensor, flows: dict[str, torch.Tensor]) -> float:
    """Mean absolute difference between each frame and its predecessor warped onto it, over
    valid pixels — the temporal-consistency figure T-DASS should lower. frames: (N, 3, H, W)."""
    size = flows["fwd"].shape[1]
    small = F.interpolate(frames.float(), size=(size, size), mode="bilinear", align_corners=False)
    diff = (small[1:] - warp(small[:-1], flows["fwd"])).abs().mean(1)
    v = flows["fwd_valid"]
    return float((diff * v).sum() / v.sum().clamp_min(1e-6))
