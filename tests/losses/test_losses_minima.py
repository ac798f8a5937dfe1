"""Each loss is zero at its known minimum (and positive away from it)."""

import torch

from artic3d_core import losses as L
from artic3d_core.model.template import sphere_template
from artic3d_core.skeleton.toy import quadruped_skeleton


def test_silhouette_and_texture_zero_at_target():
    m = torch.rand(2, 8, 8) > 0.5
    assert L.silhouette_loss(m.float(), m) == 0
    assert L.silhouette_loss(1 - m.float(), m) == 1
    img = torch.rand(2, 3, 8, 8)
    assert L.texture_loss(img, img, m) == 0
    assert L.texture_loss(img * 0, img, m) > 0
    c = torch.rand(5, 3)
    assert L.texture_init_loss(c, c) == 0


def test_semantic_chamfer_zero_when_points_coincide():
    h = w = 4
    D = 3
    feat = torch.zeros(1, D, h, w)
    feat[0, 0] = 1.0
    fg = torch.ones(1, h, w, dtype=torch.bool)
    ys, xs = torch.meshgrid(torch.arange(h) / (h - 1), torch.arange(w) / (w - 1), indexing="ij")
    verts_2d = torch.stack([xs, ys], -1).reshape(1, -1, 2)
    vert_part = torch.zeros(h * w, dtype=torch.long)
    fv = torch.tensor([[1.0, 0, 0]])
    assert L.semantic_chamfer_loss(verts_2d, vert_part, fv, feat, fg) < 1e-10
    assert L.semantic_chamfer_loss(verts_2d + 0.3, vert_part, fv, feat, fg) > 1e-3


def test_priors_zero_at_rest():
    sk = quadruped_skeleton()
    J = sk.joints[None].repeat(2, 1, 1)
    assert L.canonical_prior(J, sk.joints_sym()) < 1e-10
    Jb = J.clone()
    Jb[:, 7, 1] += 0.1
    assert L.canonical_prior(Jb, sk.joints_sym()) > 0
    z = torch.zeros(2, sk.nb, 3)
    assert L.pose_prior(z, torch.zeros(sk.nb)) == 0
    z[0, 3, 0] = 1.0  # axis 0 is free (gradient zeroed instead)
    assert L.pose_prior(z, torch.zeros(sk.nb)) == 0
    z[0, 3, 1] = 1.0
    assert L.pose_prior(z, torch.zeros(sk.nb)) > 0
    g = torch.zeros(3, 3)
    g[:, 2] = torch.rand(3)  # azimuth free
    assert L.global_prior(g) == 0
    d = torch.zeros(4, 10, 3)
    assert L.shape_prior(d) == 0 and L.instance_prior(d, d) == 0
    assert L.shape_prior(d + 1) > 0


def test_part_centre_zero_at_cluster_centres():
    sk = quadruped_skeleton()
    J2 = torch.rand(1, sk.nj, 2)
    mid = (J2[:, 1:] + J2[:, sk.parents[1:]]) / 2
    cent = torch.zeros(8, 3)
    for c in {sk.part_dino[1], sk.part_dino[-1]}:
        bones = [b for b, d in enumerate(sk.part_dino) if d == c]
        cent[c, :2] = mid[0, bones].mean(0)
        cent[c, 2] = 1
    assert L.part_centre_loss(J2, sk.parents, sk.part_dino, cent) < 1e-12
    cent[:, :2] += 0.2
    assert L.part_centre_loss(J2, sk.parents, sk.part_dino, cent) > 0


def test_mesh_regularisers():
    # a flat, consistently oriented grid: normal consistency 0; interior Laplacian 0
    n = 4
    ys, xs = torch.meshgrid(torch.arange(n + 1.0), torch.arange(n + 1.0), indexing="ij")
    verts = torch.stack([xs, ys, torch.zeros_like(xs)], -1).reshape(1, -1, 3)
    faces = []
    for i in range(n):
        for j in range(n):
            a = i * (n + 1) + j
            faces += [[a, a + 1, a + n + 2], [a, a + n + 2, a + n + 1]]
    faces = torch.tensor(faces)
    assert L.normal_consistency_loss(verts, faces) < 1e-6
    bumped = verts.clone()
    bumped[0, 12, 2] = 1.0
    assert L.normal_consistency_loss(bumped, faces) > 1e-3
    # Laplacian: zero when all vertices coincide, positive on a sphere
    v, f = sphere_template(2)
    assert L.laplacian_loss(torch.zeros(1, v.shape[0], 3), f) == 0
    assert L.laplacian_loss(v[None], f) > 0
    assert L.normal_consistency_loss(v[None], f) < 0.05  # smooth sphere: small
    # inflation: gradient pushes vertices outward (along normals)
    x = v.clone().requires_grad_()
    L.inflation_loss(x, f).backward()
    assert ((-x.grad * v).sum(-1) > 0).float().mean() > 0.95


def test_camera_anchor_zero_at_initial_azimuth_with_analytic_gradient():
    a0 = torch.tensor([0.3, -2.0, 3.1])
    assert L.camera_anchor(a0.clone(), a0) == 0
    assert L.camera_anchor(a0 + 2 * torch.pi, a0).abs() < 1e-6  # 2π-periodic
    a = (a0 + torch.tensor([0.5, -1.0, 2.0])).requires_grad_()
    L.camera_anchor(a, a0).backward()
    torch.testing.assert_close(a.grad, torch.sin(a.detach() - a0) / 3)
