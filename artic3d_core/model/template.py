"""Ico-sphere part templates (docs/method.md §4.2); the only model module importing PyTorch3D (utils)."""

from __future__ import annotations

from functools import lru_cache

import torch
from pytorch3d.utils import ico_sphere


@lru_cache(maxsize=8)
def _ico(level: int) -> tuple[torch.Tensor, torch.Tensor]:
    m = ico_sphere(level)
    return m.verts_packed().detach().clone(), m.faces_packed().detach().clone()


def sphere_template(
    level: int, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit ico-sphere at ``level``: verts (V, 3) float32, faces (F, 3) int64 (outward normals).

    Level 1: 42/80, 2: 162/320, 3: 642/1280, 4: 2562/5120, 5: 10242/20480 (verts/faces).
    """
    if not 0 <= level <= 6:
        raise ValueError(f"mesh level must be in 0..6, got {level}")
    v, f = _ico(level)
    return v.to(device), f.to(device)


def jittered(verts: torch.Tensor, level: int, generator: torch.Generator | None) -> torch.Tensor:
    """Template + N(0, 1)·0.01/2^level jitter (training); no jitter when generator is None."""
    if generator is None:
        return verts
    noise = torch.randn(verts.shape, generator=generator, dtype=verts.dtype)
    return verts + noise.to(verts.device) * (0.01 / 2**level)
