"""A hand-made symmetric quadruped skeleton: a fixed 17-bone model without skeleton discovery.

Tests of the model, losses, optimiser and export build on it, and ``benchmarks/gpu_check.py``
times the articulated model with it, so results do not depend on discovery's output.
"""

from __future__ import annotations

import torch

from artic3d_core.skeleton.skeleton import Skeleton


def quadruped_skeleton() -> Skeleton:
    """A symmetric 18-joint / 17-bone quadruped in runtime units (body along z, legs down −y).

    Bones: front body(0), neck(1), head(2), rear body(3), tail(4), 4 legs × 3 segments."""
    J = [
        [0.0, 0.0, 0.0],  # 0 root (body centre)
        [0.0, 0.0, 0.35],  # 1 front body / shoulders
        [0.0, 0.15, 0.5],  # 2 neck top
        [0.0, 0.2, 0.7],  # 3 head tip
        [0.0, 0.0, -0.35],  # 4 hips
        [0.0, -0.05, -0.6],  # 5 tail end
    ]
    parents = [0, 0, 1, 2, 0, 4]
    for side in (-1, 1):
        for base, z in ((1, 0.3), (4, -0.3)):
            x = 0.1 * side
            J += [[x, -0.15, z], [x, -0.35, z], [x, -0.5, z + 0.03]]
            n = len(J)
            parents += [base, n - 3, n - 2]
    nb = len(J) - 1
    xz = [0.35] * nb
    ys = [1.1] * nb
    xz[0], xz[3] = 0.55, 0.55  # fat body bones
    return Skeleton(
        joints=torch.tensor(J),
        parents=parents,
        part_dino=[min(b, 7) for b in range(nb)],
        part_scale_xz=xz,
        part_scale_y=ys,
    )
