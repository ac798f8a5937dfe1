"""Renderer: splat rasteriser = PyTorch3D, layered blending = front-to-back compositing, views."""

import torch

from artic3d_core.model.template import sphere_template
from artic3d_core.render import backend as rb


def _scene(level=2, n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    v, f = sphere_template(level)
    verts = torch.cat(
        [
            v * 0.2
            + torch.cat([torch.rand(2, generator=g) * 1.2 - 0.6, torch.rand(1, generator=g)])
            for _ in range(n)
        ]
    )
    faces = torch.cat([f + i * v.shape[0] for i in range(n)])
    return verts[None], faces


def test_splat_rasteriser_matches_pytorch3d_hard():
    v, f = _scene()
    a = rb.rasterize(v, f, 32, None, 0.0, 1, rasteriser="pytorch3d")
    b = rb.rasterize(v, f, 32, None, 0.0, 1, rasteriser="torch")
    assert torch.equal(a.pix_to_face, b.pix_to_face)
    assert torch.allclose(a.zbuf, b.zbuf, atol=1e-3)


def test_pytorch3d_rasterisation_split_below_its_index_range_equals_one_call():
    # five different meshes, 16², K = 4: 3·16²·4 = 3072 indices per mesh; a limit of two meshes
    # per call makes three calls, whose packed face indices must point at the same faces
    v0, f = _scene(level=1, n=2)
    g = torch.Generator().manual_seed(1)
    verts = v0 + torch.rand(5, 1, 3, generator=g) * torch.tensor([0.4, 0.4, 0.2]) - 0.2
    ndc = rb.project(verts)
    one = rb.rasterize_pytorch3d(ndc, f, 16, 1e-4, 4)
    split = rb.rasterize_pytorch3d(ndc, f, 16, 1e-4, 4, max_index=2 * 3 * 16 * 16 * 4 + 1)
    assert (one[0] >= 0).any() and (one[0] >= 4 * f.shape[0]).any()  # the last mesh is drawn
    for a, b in zip(one, split, strict=True):
        assert torch.equal(a, b)
    try:
        rb.rasterize_pytorch3d(ndc, f, 16, 1e-4, 4, max_index=3 * 16 * 16 * 4 - 1)
    except ValueError as e:
        assert "index range" in str(e)
    else:
        raise AssertionError("a single mesh above the index range must be refused")


def test_soft_silhouette_matches_pytorch3d_shader():
    v, f = _scene(level=1)
    ref = rb.soft_silhouette_reference(v, f, 32, 1e-4, 1e-4, 50)
    ours = rb.soft_silhouette(v, f, 32, 1e-4, 1e-4, 50)
    assert (ref - ours).abs().mean() < 1e-3


def _two_faces():
    # two parallel triangles covering the image centre, front one at z = 1 (closer to camera)
    tri = torch.tensor([[-0.9, -0.9, 0.0], [0.9, -0.9, 0.0], [0.0, 0.9, 0.0]])
    verts = torch.cat([tri + torch.tensor([0, 0, 1.0]), tri])[None]
    faces = torch.tensor([[0, 2, 1], [3, 5, 4]])
    colors = torch.tensor([[1.0, 0, 0]] * 3 + [[0, 0, 1.0]] * 3)[None]
    return verts, faces, colors


def test_layered_blend_equals_front_to_back_compositing():
    verts, faces, colors = _two_faces()
    frag = rb.rasterize(verts, faces, 16, None, rb.blur_radius(1e-2), 4)
    col = colors[0][faces[frag.pix_to_face.clamp_min(0) % 2]].mean(-2)  # constant per face
    sigma = 1e-2
    bg = torch.tensor([[0.0, 1.0, 0.0]])
    rgb, alpha = rb.layered_blend(col, frag.dists, frag.pix_to_face >= 0, sigma, bg)
    # reference: explicit front-to-back loop
    a = torch.exp(-frag.dists.clamp_min(0) / sigma) * (frag.pix_to_face >= 0)
    acc = torch.zeros(1, 16, 16, 3)
    T = torch.ones(1, 16, 16, 1)
    for k in range(4):
        acc = acc + T * a[..., k : k + 1] * col[..., k, :]
        T = T * (1 - a[..., k : k + 1])
    acc = acc + T * bg
    assert torch.allclose(rgb.permute(0, 2, 3, 1), acc, atol=1e-6)
    # centre pixel: fully inside the front (red) face
    assert torch.allclose(rgb[0, :, 8, 8], torch.tensor([1.0, 0, 0]), atol=1e-5)
    assert torch.allclose(alpha[0, 0, 0], torch.tensor(0.0), atol=1e-3)  # corner: background
    rgb2, _ = rb.layered_rgb(verts, faces, colors, 16, sigma, 4, background=(0.0, 1.0, 0.0))
    assert torch.allclose(rgb2, rgb, atol=1e-5)


def _shade_every_slot(verts, faces, colors, frag, views):
    """Reference: shade all N·H·W·K slots (empty ones with face 0), lit as rb._shade."""
    n, fn = verts.shape[0], faces.shape[0]
    packed = frag.pix_to_face.clamp_min(0)
    vidx = faces[packed % fn]
    bidx = (packed // fn)[..., None].expand_as(vidx)
    bary = frag.bary[..., None]
    col = (colors[bidx, vidx] * bary).sum(-2)
    R, _, _ = rb._view_rt(views, n, verts.device, verts.dtype)
    vn = rb.vertex_normals(verts, faces) @ R * torch.tensor([-1.0, 1.0, -1.0])
    nrm = torch.nn.functional.normalize((vn[bidx, vidx] * bary).sum(-2), dim=-1, eps=1e-8)
    ld = torch.nn.functional.normalize(views.light_dir, dim=-1).view(n, 1, 1, 1, 3)
    lam = (nrm * ld).sum(-1, keepdim=True).clamp_min(0)
    return col * (views.ambient.view(n, 1, 1, 1, 1) + views.diffuse.view(n, 1, 1, 1, 1) * lam)


def test_layered_rgb_shading_of_occupied_fragments_equals_shading_every_slot():
    # two lit views of a six-sphere scene: the sparse shading gives the render and the gradients
    # (vertices, colours) of shading every fragment slot, empty slots included
    v, f = _scene(level=1, n=6)
    v = v.expand(2, -1, -1).contiguous()
    g = torch.Generator().manual_seed(2)
    colors = torch.rand(v.shape, generator=g)
    views = rb.RenderViews(
        torch.tensor([20.0, 200.0]), torch.tensor([10.0, -5.0]), torch.ones(2),
        background=torch.rand(2, 3, generator=g), light_dir=torch.rand(2, 3, generator=g),
        ambient=torch.tensor([0.5, 0.7]), diffuse=torch.tensor([0.4, 0.3]),
    )  # fmt: skip
    sigma, grads = 1e-3, []
    for shade in (rb._shade, None):
        x, c = v.clone().requires_grad_(), colors.clone().requires_grad_()
        if shade is None:  # the reference, through the same blending
            frag = rb.rasterize(x, f, 24, views, rb.blur_radius(sigma), 8)
            col = _shade_every_slot(x, f, c, frag, views)
            bg = views.background
            rgb, _ = rb.layered_blend(col, frag.dists, frag.pix_to_face >= 0, sigma, bg)
        else:
            rgb, _ = rb.layered_rgb(x, f, c, 24, sigma, 8, views)
        (rgb * torch.linspace(0, 1, rgb.numel()).view_as(rgb)).sum().backward()
        grads.append((rgb.detach(), x.grad, c.grad))
    (a, ga, ca), (b, gb, cb) = grads
    assert (a - views.background.view(2, 3, 1, 1)).abs().amax() > 0.1  # something is drawn
    assert torch.allclose(a, b, atol=1e-6)
    assert torch.allclose(ga, gb, atol=1e-5) and ga.abs().sum() > 0
    assert torch.allclose(ca, cb, atol=1e-6) and ca.abs().sum() > 0


def test_views_hard_render_labels_visibility():
    verts, faces, colors = _two_faces()
    rgb, mask, p2f = rb.hard_rgb(verts, faces, colors, 16)
    assert torch.allclose(rgb[0, :, 8, 8], torch.tensor([1.0, 0, 0]))
    assert (p2f[mask] == 0).all()
    labels = rb.part_labels(verts, faces, 1, 16)
    assert set(labels.unique().tolist()) == {0, 1}
    vis = rb.vertex_visibility(verts, faces, 16)
    assert vis[0, :3].all() and not vis[0, 3:].any()
    # seen from behind (azimuth 180°) the blue face is in front
    views = rb.RenderViews(torch.tensor([180.0]), torch.zeros(1), torch.ones(1))
    rgb_b, _, _ = rb.hard_rgb(verts, faces, colors, 16, views)
    assert torch.allclose(rgb_b[0, :, 8, 8], torch.tensor([0.0, 0, 1.0]))


def test_directional_light_darkens_faces_turned_away():
    v, f = sphere_template(2)
    verts = (v * 0.8)[None]
    colors = torch.ones_like(verts)
    views = rb.RenderViews(
        torch.zeros(1), torch.zeros(1), torch.ones(1), background=torch.zeros(1, 3),
        light_dir=torch.tensor([[0.0, 1.0, 0.0]]), ambient=torch.zeros(1), diffuse=torch.ones(1),
    )  # fmt: skip
    rgb, _mask, _ = rb.hard_rgb(verts, f, colors, 32, views)
    assert rgb[0, 0, 6, 16] > 0.7 and rgb[0, 0, 26, 16] < 0.05  # lit top, dark bottom


def test_soft_silhouette_gradient():
    v, f = _scene(level=1, n=2)
    x = v.clone().requires_grad_()
    rb.soft_silhouette(x, f, 24, 1e-4, 1e-4, 20).sum().backward()
    assert x.grad.abs().sum() > 0
