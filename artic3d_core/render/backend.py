"""The one module that imports PyTorch3D's renderer: swap the backend here.

Conventions (spec §4.5, §5): orthographic camera on +z looking at the origin from distance 5,
focal 1, so a vertex at NDC (x, y) ∈ [-1, 1]² lands in the image; image size is a per-stage
parameter.
"""

from __future__ import annotations

import math

import torch
from pytorch3d.renderer import (
    BlendParams,
    FoVOrthographicCameras,
    MeshRasterizer,
    MeshRenderer,
    RasterizationSettings,
    SoftSilhouetteShader,
    look_at_view_transform,
)
from pytorch3d.structures import Meshes

__all__ = ["Meshes", "blur_radius", "orthographic_camera", "soft_silhouette"]


def orthographic_camera(
    batch: int, device: torch.device, dist: float = 5.0, elev: float = 0.0, azim: float = 0.0
) -> FoVOrthographicCameras:
    """The spec's camera: orthographic, on +z at ``dist``, looking at the origin."""
    R, T = look_at_view_transform(dist=dist, elev=elev, azim=azim, device=device)
    return FoVOrthographicCameras(R=R.expand(batch, 3, 3), T=T.expand(batch, 3), device=device)


def blur_radius(sigma: float) -> float:
    """Rasteriser blur radius used with soft blending, ln(1/1e-4 − 1)·σ (spec §5)."""
    return math.log(1.0 / 1e-4 - 1.0) * sigma


def soft_silhouette(
    verts: torch.Tensor,
    faces: torch.Tensor,
    image_size: int,
    sigma: float = 1e-4,
    gamma: float = 1e-4,
    faces_per_pixel: int = 50,
    bin_size: int | None = 0,
) -> torch.Tensor:
    """Soft silhouettes (SoftRas) of a batch of meshes.

    verts: (B, V, 3) in world units (NDC at scale 1); faces: (F, 3) int64 shared by the batch.
    Returns (B, H, W) alpha in [0, 1], differentiable w.r.t. ``verts``.
    """
    B = verts.shape[0]
    meshes = Meshes(verts=list(verts), faces=[faces] * B)
    raster = RasterizationSettings(
        image_size=image_size,
        blur_radius=blur_radius(sigma),
        faces_per_pixel=faces_per_pixel,
        bin_size=bin_size,
    )
    renderer = MeshRenderer(
        rasterizer=MeshRasterizer(
            cameras=orthographic_camera(B, verts.device), raster_settings=raster
        ),
        shader=SoftSilhouetteShader(blend_params=BlendParams(sigma=sigma, gamma=gamma)),
    )
    return renderer(meshes)[..., 3]
