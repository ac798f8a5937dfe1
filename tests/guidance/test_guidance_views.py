"""Random views, lighting, pose exploration and gradient gating for 3D distillation."""

from __future__ import annotations

import pytest
import torch

from artic3d_core.guidance.config import GuidanceConfig, ViewSettings
from artic3d_core.guidance.views import (
    explore_pose,
    gate_gradient,
    guided_params,
    sample_views,
    sample_views_from_config,
)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_view_pairs_follow_the_spec():
    v = sample_views(2000, gen(0))
    assert len(v) == 4000 and v.background.shape == (4000, 3) and v.light_dir.shape == (4000, 3)
    az = v.azim_deg.reshape(-1, 2)
    assert torch.allclose(
        torch.remainder(az[:, 1] - az[:, 0], 360.0), torch.tensor(90.0), atol=1e-3
    )
    assert (v.azim_deg >= 0).all() and (v.azim_deg < 360).all()
    for name in ("elev_deg", "focal", "background", "light_dir", "ambient", "diffuse"):
        x = getattr(v, name).reshape(2000, 2, -1)
        assert torch.equal(x[:, 0], x[:, 1]), f"{name} differs inside a pair"
    e = v.elev_deg[::2]
    assert e.min() >= -15 and e.max() <= 30 and abs(float(e.mean()) - 7.5) < 0.8
    assert e.min() < -14 and e.max() > 29  # the whole range is used
    f = v.focal[::2]
    assert f.min() >= 1.0 and f.max() <= 1.2 and abs(float(f.mean()) - 1.1) < 0.005
    assert (v.background >= 0).all() and (v.background <= 1).all()
    assert torch.allclose(v.light_dir.norm(dim=-1), torch.ones(4000), atol=1e-5)
    assert (v.light_dir[:, 1] >= -1e-6).all()  # elevation in [0°, 60°]: never from below
    assert (v.light_dir[:, 1] <= torch.sin(torch.deg2rad(torch.tensor(60.0))) + 1e-6).all()
    assert v.ambient.min() >= 0.4 and v.ambient.max() <= 0.8
    assert v.diffuse.min() >= 0.2 and v.diffuse.max() <= 0.6


def test_views_are_seeded_and_reference_lighting_is_ambient():
    a, b, c = sample_views(3, gen(1)), sample_views(3, gen(1)), sample_views(3, gen(2))
    assert torch.equal(a.azim_deg, b.azim_deg) and torch.equal(a.light_dir, b.light_dir)
    assert not torch.equal(a.azim_deg, c.azim_deg)
    ref = sample_views_from_config(
        GuidanceConfig(views=ViewSettings(random_lighting=False)), gen(0)
    )
    assert torch.equal(ref.ambient, torch.ones(2)) and torch.equal(ref.diffuse, torch.zeros(2))
    with pytest.raises(ValueError, match="n_pairs"):
        sample_views(0, gen(0))


def test_pose_exploration_between_two_instances():
    B, nb, k = 4, 5, 2
    theta = torch.randn(B, nb, 3, generator=gen(0), requires_grad=True)
    seen = set()
    for s in range(60):
        r = explore_pose(theta, k, gen(s), mode="instances")
        assert r.shape == (nb, 3)
        # r = α θ_k + (1 − α) θ_j for exactly one j ≠ k with α ∈ [0, 1]
        hits = []
        for j in range(B):
            if j == k:
                continue
            d = (theta[k] - theta[j]).detach().reshape(-1)
            alpha = float(((r.detach() - theta[j].detach()).reshape(-1) @ d) / (d @ d))
            fit = alpha * theta[k].detach() + (1 - alpha) * theta[j].detach()
            if torch.allclose(fit, r.detach(), atol=1e-5) and -1e-6 <= alpha <= 1 + 1e-6:
                hits.append((j, alpha))
        assert len(hits) == 1
        seen.add(hits[0][0])
    assert seen == {0, 1, 3}
    # gradient reaches θ_k only (the other instance is not optimised here)
    r = explore_pose(theta, k, gen(5), mode="instances")
    r.sum().backward()
    assert theta.grad[k].abs().min() > 0
    assert sum(int(theta.grad[j].abs().max() > 0) for j in range(B)) == 1


def test_pose_exploration_rest_variant_and_errors():
    theta = torch.randn(3, 4, 3, generator=gen(0))
    r = explore_pose(theta, 1, gen(7), mode="rest")
    alpha = float((r * theta[1]).sum() / theta[1].square().sum())
    assert 0 <= alpha <= 1 and torch.allclose(r, alpha * theta[1], atol=1e-6)
    assert torch.equal(explore_pose(theta[:1], 0, gen(0)), theta[0])  # one instance
    with pytest.raises(ValueError, match="outside"):
        explore_pose(theta, 3, gen(0))
    with pytest.raises(ValueError, match=r"\(B, nb, 3\)"):
        explore_pose(theta[0], 0, gen(0))


def test_gradient_gating_paper_and_reference():
    x = torch.ones(2, requires_grad=True)
    paper = GuidanceConfig()
    ref = GuidanceConfig(guided_params=["texture", "parts"])
    assert guided_params(paper) == {"texture", "parts", "bones", "camera"}
    assert gate_gradient(x, "bones", paper).requires_grad
    assert not gate_gradient(x, "bones", ref).requires_grad
    assert gate_gradient(x, "texture", ref).requires_grad
