"""Vertex colours: per-part UV texture images with mirror averaging, or image sampling (docs/method.md §4.7)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def sphere_uv(x: torch.Tensor) -> torch.Tensor:
    """Equirectangular UV of sphere points: (…, 3) → (…, 2) in [−1, 1]; poles at ±y (bone ends).

    u = atan2(x, z)/π, v = atan2(y, √(x² + z²))·2/π.
    """
    u = torch.atan2(x[..., 0], x[..., 2]) / math.pi
    v = torch.atan2(x[..., 1], torch.sqrt(x[..., 0] ** 2 + x[..., 2] ** 2 + 1e-12)) * 2 / math.pi
    return torch.stack([u, v], -1)


def uv_colors(
    text_logits: torch.Tensor, template: torch.Tensor, sym: torch.Tensor | None
) -> torch.Tensor:
    """Colours from texture logits (nb, 3, T, T) at template points (V, 3) → (nb·V, 3) in [0, 1]
    (bilinear, align_corners=True, sigmoid), mirror-averaged c ← ½(c + c[sym]) when ``sym``.

    K instances at once: logits (K, nb, 3, T, T), template (K, V, 3) → (K, nb·V, 3)."""
    if text_logits.ndim == 5:
        K, nb = text_logits.shape[:2]
        grid = sphere_uv(template)[:, None, None].expand(K, nb, 1, -1, 2).reshape(K * nb, 1, -1, 2)
        c = torch.sigmoid(F.grid_sample(text_logits.flatten(0, 1), grid, align_corners=True))
        c = c[:, :, 0].permute(0, 2, 1).reshape(K, -1, 3)
        return 0.5 * (c + c[:, sym]) if sym is not None else c
    nb = text_logits.shape[0]
    grid = sphere_uv(template)[None, None].expand(nb, 1, -1, 2)
    c = torch.sigmoid(F.grid_sample(text_logits, grid, align_corners=True))  # (nb,3,1,V)
    c = c[:, :, 0].permute(0, 2, 1).reshape(-1, 3)
    if sym is not None:
        c = 0.5 * (c + c[sym])
    return c


def sampled_colors(
    images: torch.Tensor,
    verts_2d: torch.Tensor,
    depth_toward_camera: torch.Tensor,
    sym: torch.Tensor | None,
) -> torch.Tensor:
    """Image-sampled vertex colours (sample mode). images (B, 3, H, W); verts_2d (B, V, 2) crop
    units; depth_toward_camera (B, V) (+z faces the camera). A vertex farther from the camera
    than its mirror takes the mirror's colour. Returns (B, V, 3)."""
    grid = (verts_2d * 2 - 1)[:, None]
    c = F.grid_sample(images, grid, align_corners=False)[:, :, 0].permute(0, 2, 1)
    if sym is None:
        return c
    behind = depth_toward_camera < depth_toward_camera[:, sym]
    return torch.where(behind[..., None], c[:, sym], c)


def mirror_average_texture(text_logits: torch.Tensor, part_sym: list[int]) -> torch.Tensor:
    """Texture images averaged with the partner part's horizontally flipped image
    (u ↦ −u is x ↦ −x on the sphere). (nb, 3, T, T) → (nb, 3, T, T)."""
    flipped = torch.flip(text_logits[part_sym], dims=[-1])
    return 0.5 * (text_logits + flipped)
