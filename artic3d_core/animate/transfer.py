"""Texture and pose transfer between instances and between classes (paper Fig. 6–7).

Within a class every instance shares the skeleton, so transfer is a copy; across classes bones
are matched with :func:`artic3d_core.animate.sequences.bone_map` (names, topology, structure).
"""

from __future__ import annotations

import torch

from artic3d_core.animate.sequences import bone_map, retarget
from artic3d_core.skeleton.skeleton import Skeleton


def transfer_texture(
    texture_src: torch.Tensor,
    src: Skeleton,
    dst: Skeleton,
    texture_dst: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-part UV textures (nb_src, 3, T, T) → (nb_dst, 3, T, T) on the destination skeleton.

    Destination parts with no source partner keep ``texture_dst`` (default: zeros = grey after
    the sigmoid). Textures of different sizes are resampled bilinearly.
    """
    if texture_src.shape[0] != src.nb:
        raise ValueError(f"texture has {texture_src.shape[0]} parts, source skeleton {src.nb}")
    T = texture_src.shape[-1] if texture_dst is None else texture_dst.shape[-1]
    if texture_src.shape[-1] != T:
        texture_src = torch.nn.functional.interpolate(
            texture_src, size=(T, T), mode="bilinear", align_corners=True
        )
    out = (
        texture_src.new_zeros(dst.nb, texture_src.shape[1], T, T)
        if texture_dst is None
        else texture_dst.clone()
    )
    for b, s in enumerate(bone_map(src, dst)):
        if s >= 0:
            out[b] = texture_src[s]
    return out


def transfer_pose(pose_src: torch.Tensor, src: Skeleton, dst: Skeleton) -> torch.Tensor:
    """A pose (nb_src, 3) of Euler offsets → (nb_dst, 3); unmatched bones stay at rest."""
    return retarget(pose_src[None], src, dst)[0]
