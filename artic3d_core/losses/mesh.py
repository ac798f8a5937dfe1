"""Mesh regularisers: uniform Laplacian, normal consistency, inflation (docs/method.md §6.9–6.10).

Implemented on plain tensors (one shared topology for all parts) so they need no Meshes.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F


@lru_cache(maxsize=16)
def _edges(faces_key: tuple[int, int], faces_bytes: bytes) -> tuple[torch.Tensor, torch.Tensor]:
    faces = torch.frombuffer(bytearray(faces_bytes), dtype=torch.int64).reshape(faces_key)
    e = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    e = torch.sort(e, 1).values
    # unique undirected edges and, for interior edges, the two opposite vertices
    opp = torch.cat([faces[:, 2], faces[:, 0], faces[:, 1]])
    key = e[:, 0] * (int(faces.max()) + 1) + e[:, 1]
    order = torch.argsort(key, stable=True)
    ks = key[order]
    _uniq, counts = torch.unique_consecutive(ks, return_counts=True)
    edges = e[order][torch.cumsum(counts, 0) - counts]
    two = counts == 2
    start = (torch.cumsum(counts, 0) - counts)[two]
    quads = torch.stack([edges[two, 0], edges[two, 1], opp[order][start], opp[order][start + 1]], 1)
    return edges, quads


def _topology(faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    f = faces.detach().cpu().to(torch.int64).contiguous()
    e, q = _edges(tuple(f.shape), f.numpy().tobytes())
    return e.to(faces.device), q.to(faces.device)


def _flat(verts: torch.Tensor, per_item: bool) -> torch.Tensor:
    """(K, M, V, 3) → (K·M, V, 3) when ``per_item`` (K instances of M meshes each)."""
    return verts.flatten(0, 1) if per_item else verts


def _reduce(x: torch.Tensor, k: int, per_item: bool) -> torch.Tensor:
    return x.reshape(k, -1).mean(1) if per_item else x.mean()


def laplacian_loss(
    verts: torch.Tensor, faces: torch.Tensor, per_item: bool = False
) -> torch.Tensor:
    """Uniform Laplacian smoothing (PyTorch3D 'uniform'): mean over meshes and vertices of
    ‖mean_{j∈N(i)} v_j − v_i‖. verts (M, V, 3), faces (F, 3); ``per_item``: verts
    (K, M, V, 3) → (K,), one mean per instance."""
    k = verts.shape[0]
    verts = _flat(verts, per_item)
    edges, _ = _topology(faces)
    _M, V, _ = verts.shape
    src = torch.cat([edges[:, 0], edges[:, 1]])
    dst = torch.cat([edges[:, 1], edges[:, 0]])
    deg = torch.zeros(V, device=verts.device, dtype=verts.dtype).index_add(
        0, src, torch.ones_like(src, dtype=verts.dtype)
    )
    nsum = torch.zeros_like(verts).index_add(1, src, verts[:, dst])
    lap = nsum / deg.clamp_min(1)[None, :, None] - verts
    return _reduce(lap.norm(dim=-1), k, per_item)


def normal_consistency_loss(
    verts: torch.Tensor, faces: torch.Tensor, per_item: bool = False
) -> torch.Tensor:
    """Mean over interior edges of 1 − cos(n₁, n₂) of the two adjacent faces (PyTorch3D
    ``mesh_normal_consistency``). verts (M, V, 3); ``per_item``: (K, M, V, 3) → (K,)."""
    k = verts.shape[0]
    verts = _flat(verts, per_item)
    _, q = _topology(faces)
    v0, v1, a, b = (verts[:, q[:, i]] for i in range(4))
    n1 = torch.cross(v1 - v0, a - v0, dim=-1)
    n2 = torch.cross(b - v0, v1 - v0, dim=-1)
    return _reduce(1 - F.cosine_similarity(n1, n2, dim=-1, eps=1e-6), k, per_item)


def inflation_loss(verts: torch.Tensor, faces: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Σ_corners mean √(‖target − v‖² + eps), target = v + unit face normal (detached), on one
    mesh verts (V, 3) (docs/method.md §6.10)."""
    tri = verts[faces]  # (F,3,3)
    n = F.normalize(torch.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], dim=-1), dim=-1)
    target = (tri + n[:, None]).detach()
    return torch.sqrt(((target - tri) ** 2).sum(-1) + eps).mean(0).sum()
