"""Data terms: silhouette, semantic chamfer, part centres, texture (docs/method.md §6.1–6.3, 6.11–6.12)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _nearest_sq_dist(A: torch.Tensor, B: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """For each row of A (n, a, d): squared distance to its nearest row of B (n, b, d).

    The nearest neighbour is found without gradient (matrix-product distances, chunked); the
    distance to it is then recomputed differentiably (same value and gradient as a K = 1 knn).
    """
    with torch.no_grad():
        idx = torch.cat(
            [torch.cdist(A[:, i : i + chunk], B).argmin(-1) for i in range(0, A.shape[1], chunk)], 1
        )
    nn = torch.gather(B, 1, idx[..., None].expand(-1, -1, B.shape[-1]))
    return ((A - nn) ** 2).sum(-1)


def _mean(x: torch.Tensor, per_item: bool) -> torch.Tensor:
    """Mean of everything, or per item of the leading dim ((B,) when ``per_item``)."""
    return x.flatten(1).mean(1) if per_item else x.mean()


def silhouette_loss(sil: torch.Tensor, mask: torch.Tensor, per_item: bool = False) -> torch.Tensor:
    """mean (Ŝ − M)² over (B, H, W) (per image: (B,)); ``mask`` is the foreground (bool/float,
    same size)."""
    return _mean((sil - mask.to(sil)) ** 2, per_item)


def _pixel_points(feat_img: torch.Tensor, fg: torch.Tensor, w_xy: float) -> torch.Tensor:
    B, D, h, w = feat_img.shape
    ys, xs = torch.meshgrid(
        torch.arange(h, device=feat_img.device, dtype=feat_img.dtype),
        torch.arange(w, device=feat_img.device, dtype=feat_img.dtype),
        indexing="ij",
    )
    xy = torch.stack([xs / (w - 1), ys / (h - 1)], -1).reshape(1, -1, 2) * w_xy
    f = fg.reshape(B, -1, 1).to(feat_img)
    k = feat_img.reshape(B, D, -1).transpose(1, 2) / math.sqrt(D)
    return torch.cat([xy.expand(B, -1, -1), f, k], -1)


def semantic_chamfer_loss(
    verts_2d: torch.Tensor,
    vert_part: torch.Tensor,
    feat_verts: torch.Tensor,
    feat_img: torch.Tensor,
    fg_lr: torch.Tensor,
    w_xy: float = 2.0,
    vertex_term: float = 0.1,
    grid: int | None = None,
) -> torch.Tensor:
    """DINO chamfer L_sem (docs/method.md §6.2).

    verts_2d: (B, N, 2) crop units; vert_part: (N,) part of each vertex; feat_verts: (nb, D)
    (detached); feat_img: (B, D, h, w); fg_lr: (B, h, w) foreground. Pixel points
    p = (w_xy·u, w_xy·v, f, K/√D), vertex points q = (w_xy·x, w_xy·y, 1, φ_b/√D); squared
    distances; L = mean_b mean_pix f·min_q ‖p − q‖² + vertex_term·mean_b mean_v min_p ‖q − p‖².
    """
    B, _N, _ = verts_2d.shape
    if grid is not None and feat_img.shape[-1] != grid:
        feat_img = F.interpolate(feat_img, size=(grid, grid), mode="area")
        fg_lr = F.interpolate(fg_lr.float()[:, None], size=(grid, grid), mode="nearest")[:, 0] > 0.5
    D = feat_img.shape[1]
    P = _pixel_points(feat_img, fg_lr, w_xy)
    phi = feat_verts.detach()[vert_part] / math.sqrt(D)
    Q = torch.cat(
        [verts_2d * w_xy, torch.ones_like(verts_2d[..., :1]), phi.expand(B, -1, -1).to(verts_2d)],
        -1,
    )
    with torch.no_grad():  # one distance matrix per image serves both directions
        ipq, iqp = [], []
        for b in range(B):
            pp, qq = (P[b] ** 2).sum(-1), (Q[b] ** 2).sum(-1)
            ipq.append((qq[None] - 2 * P[b] @ Q[b].T).argmin(1))  # |p|² is constant per row
            iqp.append((pp[None] - 2 * Q[b] @ P[b].T).argmin(1))
        ipq, iqp = torch.stack(ipq), torch.stack(iqp)
    d_pq = ((P - torch.gather(Q, 1, ipq[..., None].expand(-1, -1, Q.shape[-1]))) ** 2).sum(-1)
    d_qp = ((Q - torch.gather(P, 1, iqp[..., None].expand(-1, -1, P.shape[-1]))) ** 2).sum(-1)
    f = fg_lr.reshape(B, -1).to(d_pq)
    return (f * d_pq).mean() + vertex_term * d_qp.mean()


def part_centre_loss(
    joints_2d: torch.Tensor,
    parents: list[int],
    part_dino: list[int],
    part_cent: torch.Tensor,
    inner: float = 0.1,
) -> torch.Tensor:
    """Part-centre loss (docs/method.md §6.3). joints_2d (B, nj, 2); part_cent (C, 3) = (x, y,
    present) or (B, C, 3) per image. Only clusters part_dino[1] and part_dino[−1] contribute."""
    B = joints_2d.shape[0]
    mid = (joints_2d[:, 1:] + joints_2d[:, parents[1:]]) / 2  # (B, nb, 2)
    pc = part_cent if part_cent.ndim == 3 else part_cent.expand(B, -1, -1)
    loss = joints_2d.new_zeros(())
    for c in {part_dino[1], part_dino[-1]}:
        bones = [b for b, d in enumerate(part_dino) if d == c]
        centre = mid[:, bones].mean(1)
        loss = loss + (inner * ((centre - pc[:, c, :2]) ** 2).sum(-1) * pc[:, c, 2]).sum()
    return loss / B


def texture_init_loss(
    uv_colors: torch.Tensor, sampled_colors: torch.Tensor, per_item: bool = False
) -> torch.Tensor:
    """mean ‖C_uv − C_sample‖² over (B, N) (per image: (B,)), targets detached,
    docs/method.md §6.11."""
    return _mean(((uv_colors - sampled_colors.detach()) ** 2).sum(-1), per_item)


def texture_loss(
    render: torch.Tensor, image: torch.Tensor, mask: torch.Tensor, per_item: bool = False
) -> torch.Tensor:
    """mean over (B, 3, H, W) of [M > 0]·(Î − I)² (per image: (B,)) (docs/method.md §6.12)."""
    m = (mask > 0).to(render)[:, None]
    return _mean(m * (render - image) ** 2, per_item)
