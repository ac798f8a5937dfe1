"""Priors on pose, camera, symmetry and shape (docs/method.md §6.4–6.8)."""

from __future__ import annotations

import torch


def canonical_prior(joints_can: torch.Tensor, joints_sym: list[int]) -> torch.Tensor:
    """Symmetry of the posed canonical joints (B, nj, 3) (docs/method.md §6.4), divided by B."""
    B = joints_can.shape[0]
    J = joints_can
    Js = J[:, joints_sym]
    t1 = J[..., 0].mean(1) ** 2
    t2 = ((J[..., 1:] - Js[..., 1:]) ** 2).sum(-1).mean(1)
    t3 = ((J[..., 0] + Js[..., 0]) ** 2).mean(1)
    return (t1 + t2 + t3).sum() / B


def pose_prior(
    bone_rot: torch.Tensor,
    bone_scale: torch.Tensor,
    w_scale: float = 0.001,
    w_axis1: float = 0.05,
    w_axis2: float = 0.02,
    w_root_axis2: float = 0.05,
) -> torch.Tensor:
    """Euler-offset prior (docs/method.md §6.5). bone_rot (B, nb, 3), bone_scale (nb,)."""
    nb = bone_rot.shape[1]
    L = (
        w_scale * (bone_scale**2).sum()
        + w_axis1 * (bone_rot[..., 1] ** 2).sum()
        + w_axis2 * (bone_rot[..., 2] ** 2).sum()
        + w_root_axis2 * (bone_rot[:, 0, 2] ** 2).sum()
    )
    return L / nb


def global_prior(global_rot: torch.Tensor, w_elev: float = 0.1) -> torch.Tensor:
    """[Σ a₀² + 0.1 Σ a₁²]/B: roll and elevation penalised, azimuth free (docs/method.md §6.6)."""
    B = global_rot.shape[0]
    return ((global_rot[:, 0] ** 2).sum() + w_elev * (global_rot[:, 1] ** 2).sum()) / B


def camera_anchor(azimuth: torch.Tensor, azimuth_init: torch.Tensor) -> torch.Tensor:
    """mean (1 − cos(a − a₀)): azimuths a near their initial estimates a₀, 2π-periodic."""
    return (1 - torch.cos(azimuth - azimuth_init.detach())).mean()


def shape_prior(deformation: torch.Tensor, inner: float = 0.01) -> torch.Tensor:
    """(1/nb) Σ_b inner·mean F_b(X)² for deformation (nb, V, 3) (docs/method.md §6.7)."""
    return inner * (deformation**2).mean((1, 2)).mean()


def instance_prior(
    deformation: torch.Tensor, base_deformation: torch.Tensor, per_item: bool = False
) -> torch.Tensor:
    """(1/nb) Σ_b mean ‖F_b(X; s) − F_b(X; f_instance − 1)‖², the base detached (docs/method.md
    §6.8). Deformations (nb, V, 3); ``per_item``: (K, nb, V, 3) → (K,) one value per instance."""
    d = ((deformation - base_deformation.detach()) ** 2).sum(-1)
    return d.flatten(1).mean(1) if per_item else d.mean()
