import math

import torch
from pytorch3d.utils import ico_sphere

from artic3d_core.render.backend import soft_silhouette


def test_ico_sphere_silhouette_area_and_gradient():
    """A sphere of radius r (NDC) covers π r² / 4 of the [-1, 1]² orthographic view."""
    sphere = ico_sphere(3)
    r = 0.5
    verts = (sphere.verts_packed() * r).unsqueeze(0).requires_grad_(True)
    faces = sphere.faces_packed()
    sil = soft_silhouette(verts, faces, image_size=64, sigma=1e-5, faces_per_pixel=10)
    assert sil.shape == (1, 64, 64)
    area = sil.mean().item()
    assert abs(area - math.pi * r * r / 4) < 0.03 * math.pi * r * r / 4
    # centre covered, corners empty
    assert sil[0, 32, 32] > 0.99 and sil[0, 0, 0] < 1e-3
    # the silhouette loss back-propagates to the vertices: growing the sphere raises coverage
    target = torch.ones_like(sil)
    loss = ((sil - target) ** 2).mean()
    loss.backward()
    g = verts.grad[0]
    assert torch.isfinite(g).all() and g.abs().sum() > 0
    # gradient descent direction pushes rim vertices outwards (radial component negative)
    radial = (g * verts.detach()[0]).sum(-1)
    rim = verts.detach()[0, :, 2].abs() < 0.1
    assert radial[rim].mean() < 0
