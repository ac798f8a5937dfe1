"""A synthetic scene with ground truth for developing and testing the optimiser.

A hand-made symmetric quadruped skeleton (16 bones), posed per instance with known Euler offsets
and cameras; GT silhouettes, part labels and 'oracle' features (one-hot part identity, projected
to ``feat_dim``) are rendered from the undeformed ellipsoid parts of the model itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from artic3d_core.model.articulated import ArticulatedModel
from artic3d_core.model.config import ModelConfig
from artic3d_core.render import backend as rb
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


@dataclass
class ToyScene:
    """GT for B instances: masks (B, S, S) int labels 0..nb, silhouettes (B, S, S) float,
    images (B, 3, S, S), feat_img (B, D, 64, 64), masks_lr (B, 64, 64), feat_part (nb, D),
    part_cent (nb, 3), gt_model (the generating model), gt_verts_2d (B, nb·V, 2) at level 3,
    gt_visible (B, nb·V) bool."""

    skeleton: Skeleton
    images: torch.Tensor
    masks: torch.Tensor
    silhouettes: torch.Tensor
    masks_lr: torch.Tensor
    feat_img: torch.Tensor
    feat_part: torch.Tensor
    part_cent: torch.Tensor
    gt_model: ArticulatedModel
    gt_verts_2d: torch.Tensor
    gt_visible: torch.Tensor


def make_toy_scene(
    n_instances: int = 6,
    image_size: int = 64,
    seed: int = 0,
    pose_std: float = 0.3,
    feat_dim: int = 20,
) -> ToyScene:
    """Render a toy ground truth (no deformation; parts are ellipsoids)."""
    g = torch.Generator().manual_seed(seed)
    sk = quadruped_skeleton()
    nb = sk.nb
    az = ((torch.rand(n_instances, generator=g) * 2 - 1) * 1.2).tolist()
    sk.azimuth = az
    model = ArticulatedModel(sk, n_instances, ModelConfig(feat_dim=feat_dim), seed=seed)
    with torch.no_grad():
        rot = torch.randn(n_instances, nb, 3, generator=g) * pose_std
        rot[..., 0] = 0  # axis 0 frozen in the method
        model.bone_rot.copy_(rot)
        model.global_rot[:, 0] = torch.randn(n_instances, generator=g) * 0.1
        model.global_rot[:, 1] = torch.randn(n_instances, generator=g) * 0.15
        model.global_scale.copy_(torch.randn(n_instances, generator=g) * 0.5)
        model.global_trans.add_(torch.randn(n_instances, 2, generator=g) * 0.05)
        mesh = model(level=3, deform=False)
        labels = rb.part_labels(mesh.flat_verts, mesh.faces, mesh.faces_per_part, image_size)
        hi = rb.part_labels(mesh.flat_verts, mesh.faces, mesh.faces_per_part, 64)
        basis = torch.linalg.qr(torch.randn(feat_dim, feat_dim, generator=g))[0][: nb + 1]
        feat_part = basis[1:]
        feat_img = basis[hi].permute(0, 3, 1, 2).contiguous()
        colors = torch.rand(nb, 3, generator=g).repeat_interleave(mesh.flat_verts.shape[1] // nb, 0)
        rgb, _, _ = rb.hard_rgb(
            mesh.flat_verts, mesh.faces, colors.expand(n_instances, -1, -1), image_size
        )
        vis = rb.vertex_visibility(mesh.flat_verts, mesh.faces, 128)
        cent = torch.zeros(nb, 3)
        ys, xs = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
        for b in range(nb):
            m = (hi == b + 1).float()
            n = m.sum((1, 2))
            present = n > 0
            if present.any():
                cx = ((m * xs).sum((1, 2)) / n.clamp_min(1))[present].mean() / 63
                cy = ((m * ys).sum((1, 2)) / n.clamp_min(1))[present].mean() / 63
                cent[b] = torch.tensor([float(cx), float(cy), 1.0])
    return ToyScene(
        skeleton=sk,
        images=rgb,
        masks=labels,
        silhouettes=(labels > 0).float(),
        masks_lr=hi,
        feat_img=F.normalize(feat_img, dim=1),
        feat_part=feat_part,
        part_cent=cent,
        gt_model=model,
        gt_verts_2d=mesh.verts_2d,
        gt_visible=vis,
    )
