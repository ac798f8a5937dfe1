"""Random views, random lighting and pose exploration for 3D distillation
(docs/method.md §5, §6.13).

Per pair of views: azimuth a ~ U[0°, 360°) and a + 90°, one elevation ~ U[−15°, 30°], one
orthographic focal ~ U[1.0, 1.2] and one background colour ~ U[0, 1]³ (the reference draws these
once per call for its single pair). Lighting (paper; the reference keeps white ambient light): one
directional light per pair, in world coordinates (PyTorch3D: y up; the unit vector points from the
surface toward the light), azimuth ~ U[0°, 360°), elevation ~ U[0°, 60°], ambient ~ U[0.4, 0.8],
diffuse ~ U[0.2, 0.6]. Without random lighting: ambient 1, diffuse 0.

Pose exploration (paper): bone rotations R′ = α·θ_k + (1 − α)·θ_j between the optimised
instance k and another instance j, α ~ U[0, 1]; reference option ``rest``: α·θ_k (between the
rest pose and instance k). θ are the Euler offsets added to the rest pose (docs/method.md §3.5, §4).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import Literal

import torch

from artic3d_core.guidance.config import GuidanceConfig, GuidedParam, ViewSettings

log = logging.getLogger(__name__)

PoseExploration = Literal["instances", "rest"]


@dataclass
class Views:
    """2·n_pairs random views (views 2i and 2i+1 form pair i, 90° apart in azimuth).

    azim_deg, elev_deg, focal, ambient, diffuse: (2n,); background, light_dir: (2n, 3).
    """

    azim_deg: torch.Tensor
    elev_deg: torch.Tensor
    focal: torch.Tensor
    background: torch.Tensor
    light_dir: torch.Tensor
    ambient: torch.Tensor
    diffuse: torch.Tensor

    def __len__(self) -> int:
        return int(self.azim_deg.shape[0])

    def to(self, device: torch.device | str) -> Views:
        return Views(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})


def _uniform(
    n: int, lo_hi: tuple[float, float], generator: torch.Generator | None, *tail: int
) -> torch.Tensor:
    lo, hi = lo_hi
    if hi < lo:
        raise ValueError(f"range {lo_hi}: the upper bound is below the lower bound")
    dev = generator.device if generator is not None else "cpu"
    u = torch.rand((n, *tail), generator=generator, device=dev).cpu()
    return lo + (hi - lo) * u


def sample_views(
    n_pairs: int,
    generator: torch.Generator | None,
    elev_range_deg: tuple[float, float] = (-15.0, 30.0),
    focal_range: tuple[float, float] = (1.0, 1.2),
    *,
    random_lighting: bool = True,
    ambient_range: tuple[float, float] = (0.4, 0.8),
    diffuse_range: tuple[float, float] = (0.2, 0.6),
    light_elev_range_deg: tuple[float, float] = (0.0, 60.0),
) -> Views:
    """Draw ``n_pairs`` pairs of views (CPU float32 tensors); deterministic given ``generator``."""
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be ≥ 1, got {n_pairs}")
    a = _uniform(n_pairs, (0.0, 360.0), generator)
    elev = _uniform(n_pairs, elev_range_deg, generator)
    focal = _uniform(n_pairs, focal_range, generator)
    bg = _uniform(n_pairs, (0.0, 1.0), generator, 3)
    if random_lighting:
        l_az = torch.deg2rad(_uniform(n_pairs, (0.0, 360.0), generator))
        l_el = torch.deg2rad(_uniform(n_pairs, light_elev_range_deg, generator))
        light = torch.stack([l_el.cos() * l_az.sin(), l_el.sin(), l_el.cos() * l_az.cos()], dim=-1)
        ambient = _uniform(n_pairs, ambient_range, generator)
        diffuse = _uniform(n_pairs, diffuse_range, generator)
    else:
        light = torch.tensor([[0.0, 1.0, 0.0]]).expand(n_pairs, 3)
        ambient = torch.ones(n_pairs)
        diffuse = torch.zeros(n_pairs)

    def pair(x: torch.Tensor) -> torch.Tensor:
        return x.repeat_interleave(2, dim=0).contiguous()

    azim = torch.stack([a, torch.remainder(a + 90.0, 360.0)], dim=1).reshape(-1)
    return Views(azim, pair(elev), pair(focal), pair(bg), pair(light), pair(ambient), pair(diffuse))


def sample_views_from_config(
    cfg: GuidanceConfig | ViewSettings, generator: torch.Generator | None
) -> Views:
    """:func:`sample_views` with the ``guidance.views`` settings."""
    v = cfg.views if isinstance(cfg, GuidanceConfig) else cfg
    return sample_views(
        v.n_pairs,
        generator,
        v.elev_range_deg,
        v.focal_range,
        random_lighting=v.random_lighting,
        ambient_range=v.ambient_range,
        diffuse_range=v.diffuse_range,
        light_elev_range_deg=v.light_elev_range_deg,
    )


def explore_pose(
    bone_rot: torch.Tensor,
    k: int,
    generator: torch.Generator | None,
    mode: PoseExploration = "instances",
) -> torch.Tensor:
    """An explored pose (nb, 3) of Euler bone offsets from ``bone_rot`` (B, nb, 3).

    ``instances`` (paper): α·θ_k + (1 − α)·θ_j, j ≠ k uniform among the other instances (θ_j is
    detached: only instance k is being optimised; with B = 1, j = k). ``rest`` (reference):
    α·θ_k. α ~ U[0, 1]. Differentiable w.r.t. θ_k.
    """
    if bone_rot.ndim != 3 or bone_rot.shape[-1] != 3:
        raise ValueError(f"bone_rot: expected (B, nb, 3), got {tuple(bone_rot.shape)}")
    B = bone_rot.shape[0]
    if not 0 <= k < B:
        raise ValueError(f"instance index k={k} outside 0..{B - 1}")
    dev = generator.device if generator is not None else "cpu"
    alpha = float(torch.rand((), generator=generator, device=dev))
    if mode == "rest":
        return alpha * bone_rot[k]
    if mode != "instances":
        raise ValueError(f"pose exploration {mode!r}: expected 'instances' or 'rest'")
    if B == 1:
        log.debug("pose exploration between instances with one instance: using θ_k")
        return bone_rot[k]
    j = int(torch.randint(0, B - 1, (), generator=generator, device=dev))
    j = j + 1 if j >= k else j
    return alpha * bone_rot[k] + (1.0 - alpha) * bone_rot[j].detach()


def guided_params(cfg: GuidanceConfig) -> frozenset[str]:
    """Parameter groups (texture, parts, bones, camera) that receive the guidance gradient."""
    return frozenset(cfg.guided_params)


def gate_gradient(x: torch.Tensor, group: GuidedParam, cfg: GuidanceConfig) -> torch.Tensor:
    """``x`` if ``group`` receives the guidance gradient, else ``x.detach()``.

    Apply to each parameter group's tensor on the guidance render path only.
    """
    return x if group in cfg.guided_params else x.detach()
