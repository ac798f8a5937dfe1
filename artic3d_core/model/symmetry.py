"""Left/right vertex mirror maps (docs/method.md §4.6), vectorised with a KD-tree."""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree


def mirror_map(points: torch.Tensor, part_sym: list[int] | None = None) -> torch.Tensor:
    """Per vertex, the index of the vertex nearest to its x-mirror.

    points: (nb, V, 3) rest-pose part vertices. With ``part_sym`` (per part its partner) the
    search is restricted to the partner part (exact for mirror-symmetric parts); with None it
    runs over all parts (the reference behaviour). Returns (nb·V,) int64 flat indices.
    """
    nb, V, _ = points.shape
    pts = points.detach().cpu().double().numpy()
    mir = pts * np.array([-1.0, 1.0, 1.0])
    if part_sym is None:
        _, idx = cKDTree(pts.reshape(-1, 3)).query(mir.reshape(-1, 3))
        return torch.from_numpy(np.asarray(idx, dtype=np.int64))
    out = np.empty((nb, V), dtype=np.int64)
    trees: dict[int, cKDTree] = {}
    for b in range(nb):
        s = part_sym[b]
        if s not in trees:
            trees[s] = cKDTree(pts[s])
        _, idx = trees[s].query(mir[b])
        out[b] = s * V + np.asarray(idx, dtype=np.int64)
    return torch.from_numpy(out.reshape(-1))
