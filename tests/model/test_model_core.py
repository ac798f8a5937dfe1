"""Articulated model: FK on analytic poses, part MLP, symmetry maps, gradients through the renderer."""

import math
import time

import pytest
import torch

from artic3d_core.model.articulated import ArticulatedModel
from artic3d_core.model.part_mlp import PartMLPs
from artic3d_core.model.symmetry import mirror_map
from artic3d_core.model.template import sphere_template
from artic3d_core.model.texture import sphere_uv, uv_colors
from artic3d_core.render import backend as rb
from artic3d_core.skeleton.skeleton import Skeleton
from artic3d_core.skeleton.toy import quadruped_skeleton


def _chain() -> Skeleton:
    return Skeleton(joints=torch.tensor([[0.0, 0, 0], [0, -1, 0], [0, -2, 0]]), parents=[0, 0, 1])


def test_fk_analytic_chain_rotation():
    sk = _chain()
    m = ArticulatedModel(sk, 1)
    # bone 0 rotated +90° about Z (Euler 'YZX' axis 1): (0,-1,0) → (1,0,0); bone 1 follows.
    rot = torch.zeros(1, 2, 3)
    rot[0, 0, 1] = math.pi / 2
    J, _G = m.pose(bone_rot=rot)
    assert torch.allclose(J[0], torch.tensor([[0.0, 0, 0], [1, 0, 0], [2, 0, 0]]), atol=1e-6)
    # second bone additionally −90° about Z: back to pointing down from (1,0,0)
    rot[0, 1, 1] = -math.pi / 2
    J, _ = m.pose(bone_rot=rot)
    assert torch.allclose(J[0, 2], torch.tensor([1.0, -1, 0]), atol=1e-6)


def test_global_transform_and_projection():
    sk = _chain()
    m = ArticulatedModel(sk, 1, azimuth=[math.pi / 2])
    with torch.no_grad():
        m.global_trans.zero_()
        m.global_scale.fill_(0.0)  # effective scale 1
    x = torch.tensor([[[0.0, 0.0, 1.0]]])
    y = m.global_transform(x)  # R_Y(90°) takes +z to +x
    assert torch.allclose(y, torch.tensor([[[1.0, 0.0, 0.0]]]), atol=1e-6)
    # backend projection agrees: world x = 1 → crop u = 1, y = 0 → v = 0.5
    uv = rb.to_image_coords(y)
    assert torch.allclose(uv, torch.tensor([[[1.0, 0.5]]]), atol=1e-6)


def test_part_mlp_truncation_and_freeze():
    g = torch.Generator().manual_seed(0)
    mlp = PartMLPs(3, generator=g)
    x = sphere_template(1)[0]
    full = mlp(x, 10)
    heads = [mlp(x, s) for s in range(10)]
    assert full.shape == (3, 42, 3)
    assert torch.allclose(heads[9], full)
    assert full.abs().max() < 0.05  # head gain 1e-3: near-zero initial deformation
    assert not torch.allclose(heads[4], heads[5])
    mlp.freeze_shared()
    mlp(x, 10).sum().backward()
    assert mlp.W_lo.grad is None and mlp.W_hi.grad is not None
    assert sum(p.numel() for p in mlp.parameters()) == 3 * 10 * (36 + 6 + 18)


def _part_mlp_reference(mlp: PartMLPs, x: torch.Tensor, p: int, stop_at: int, k=None):
    """F_p(x) of the class docstring, one part (and instance k of a stacked block) at a time:
    h₀ = γ₁(x); h_{i+1} = γ_{i+2}(x) ⊙ (W_i h_i + b_i); F = Σ_{i ≤ stop_at} U_i h_{i+1}."""

    def gamma(i):
        return torch.cat([torch.sin(mlp.omega[i] * x), torch.cos(mlp.omega[i] * x)], -1)

    def layer(name, i):
        lo, hi = getattr(mlp, name + "_lo")[p], getattr(mlp, name + "_hi")
        hi = hi[p] if k is None else hi[k, p]
        return torch.cat([lo, hi])[i]

    h, out = gamma(0), torch.zeros_like(x)
    for i in range(min(stop_at, mlp.layers - 1) + 1):
        h = gamma(i + 1) * (h @ layer("W", i).T + layer("b", i))
        out = out + h @ layer("U", i).T
    return out


def test_part_mlp_matches_per_part_reference_shared_and_stacked_inputs():
    """The batched forward (encodings broadcast over the parts and instances sharing an input)
    equals the formula evaluated part by part, for shared, per-part and per-instance inputs."""
    g = torch.Generator().manual_seed(1)
    mlp = PartMLPs(3, generator=g)
    with torch.no_grad():  # non-trivial instance layers
        for q in mlp.parameters():
            q.add_(0.3 * torch.randn(q.shape, generator=g))
    x = sphere_template(1)[0]  # (42, 3)
    per_part = x + 0.05 * torch.randn(3, 42, 3, generator=g)
    for stop in (0, 4, 10):
        out, out_pp = mlp(x, stop), mlp(per_part, stop)
        for p in range(3):
            torch.testing.assert_close(out[p], _part_mlp_reference(mlp, x, p, stop))
            torch.testing.assert_close(out_pp[p], _part_mlp_reference(mlp, per_part[p], p, stop))
    mlp.stack_instances(2)
    with torch.no_grad():
        mlp.W_hi[1].add_(0.3)
    per_inst = torch.stack([x, x.flip(0)])  # (K, V, 3)
    for inp in (x, per_inst):
        out = mlp(inp, 10)
        assert out.shape == (2, 3, 42, 3)
        for k in range(2):
            xk = inp if inp.ndim == 2 else inp[k]
            for p in range(3):
                ref = _part_mlp_reference(mlp, xk, p, 10, k)
                torch.testing.assert_close(out[k, p], ref)
    assert not torch.allclose(mlp(x, 10)[0], mlp(x, 10)[1])  # each instance its own block
    assert mlp(x, -1).shape == (2, 3, 42, 3) and not mlp(x, -1).any()


def test_symmetry_map_exact_on_symmetric_skeleton():
    sk = quadruped_skeleton()
    m = ArticulatedModel(sk, 1)
    for level in (2, 3):
        sym = m.sym_map(level)
        assert torch.equal(sym[sym], torch.arange(sym.numel()))  # an involution
        X, _ = sphere_template(level)
        v = m._shape_parts(X, deform=False, stop_at=10).detach()
        v = (v + m._midpoints(m.rest_joints[None])[0, :, None]).reshape(-1, 3)
        assert torch.allclose(v[sym] * torch.tensor([-1.0, 1, 1]), v, atol=1e-5)


def test_symmetry_map_level5_fast():
    sk = quadruped_skeleton()
    X, _ = sphere_template(5)
    pts = X.expand(sk.nb, -1, -1) * 0.1 + torch.randn(sk.nb, 1, 3)
    t = time.perf_counter()
    mirror_map(pts, sk.bones_sym())
    assert time.perf_counter() - t < 10.0  # ~0.3 s idle; generous for a loaded shared CPU


def test_uv_texture_mirror_average():
    X, _ = sphere_template(2)
    uv = sphere_uv(X)
    assert uv.abs().max() <= 1.0 + 1e-6
    text = torch.randn(2, 3, 8, 8)
    sym = torch.cat([torch.arange(162, 324), torch.arange(162)])  # swap the two parts
    c = uv_colors(text, X, sym)
    assert torch.allclose(c[:162], c[162:])
    assert ((c >= 0) & (c <= 1)).all()


def test_gradients_reach_camera_pose_codes_mlp():
    sk = quadruped_skeleton()
    m = ArticulatedModel(sk, 2)
    mesh = m(level=1, stop_at=10, deform=True)
    sil = rb.soft_silhouette(mesh.flat_verts, mesh.faces, 24, 1e-4, 1e-4, 10)
    target = torch.zeros_like(sil)
    ((sil - target) ** 2).mean().backward()
    for name, p in [
        ("global_rot", m.global_rot), ("global_trans", m.global_trans),
        ("global_scale", m.global_scale), ("bone_rot", m.bone_rot),
        ("part_codes", m.part_codes), ("mlp", m.parts.U_hi), ("mlp_lo", m.parts.W_lo),
    ]:  # fmt: skip
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("level", [1, 2])
def test_template_counts(level):
    v, f = sphere_template(level)
    assert (v.shape[0], f.shape[0]) == {1: (42, 80), 2: (162, 320)}[level]
    assert torch.allclose(v.norm(dim=-1), torch.ones(v.shape[0]), atol=1e-5)
