"""The guidance term of the per-instance stage: pose exploration and gradient gating."""

import torch

from artic3d_core.guidance.config import GuidanceConfig
from artic3d_core.model.articulated import ArticulatedModel
from artic3d_core.optim.config import StageSpec
from artic3d_core.optim.runner import FitInputs, _guidance_term
from artic3d_core.skeleton.toy import quadruped_skeleton


class SumGuidance:
    """A stand-in guidance whose loss is the mean rendered intensity."""

    name, info = "sum", None

    def loss(self, images, prompt, generator=None):
        self.seen = images.shape
        return images.mean()


def _views(g):
    z = torch.zeros(2)
    return type("V", (), {"azim_deg": torch.tensor([0.0, 90.0]), "elev_deg": z, "focal": torch.ones(2),
                          "background": torch.ones(2, 3) * 0.5, "light_dir": None, "ambient": None,
                          "diffuse": None})()  # fmt: skip


def _grads(guided, mode="instances"):
    m = ArticulatedModel(quadruped_skeleton(), n_instances=3, seed=0)
    with torch.no_grad():
        m.bone_rot.normal_(0, 0.3)
        m.text_img.normal_()
    stage = StageSpec(name="instance_refine", phase="instance", iters=1, lr=0.01,
                      params=["texture", "mlp_instance"], mesh_level=1, deform=True, sigma=1e-6,
                      texture="uv", image_size=32, faces_per_pixel=4,
                      weights={"guidance": 1.0})  # fmt: skip
    cfg = GuidanceConfig(guided_params=guided, pose_exploration=mode)
    inputs = FitInputs(torch.zeros(1, 3, 32, 32), torch.zeros(1, 32, 32, dtype=torch.long),
                       torch.zeros(1, 8, 8, dtype=torch.long), torch.zeros(1, 20, 8, 8),
                       torch.zeros(8, 3))  # fmt: skip
    g = SumGuidance()
    gen = torch.Generator().manual_seed(0)
    loss = _guidance_term(m, stage, torch.tensor([1]), g, _views, inputs, gen, 10, cfg)
    loss.backward()
    assert g.seen == (2, 3, 32, 32)
    mlp = sum(p.grad.abs().sum() for p in m.parts.parameters() if p.grad is not None)
    tex = m.text_img.grad.abs().sum() if m.text_img.grad is not None else torch.tensor(0.0)
    br = m.bone_rot.grad
    return float(mlp), float(tex), br


def test_gating_follows_guided_params():
    mlp, tex, br = _grads(["texture", "parts", "bones"])
    assert mlp > 0 and tex > 0 and br is not None and br[1].abs().sum() > 0
    # paper pose exploration: only instance k = 1 receives the pose gradient
    assert br[0].abs().sum() == 0 and br[2].abs().sum() == 0
    mlp, tex, br = _grads(["texture"])
    assert tex > 0 and mlp == 0 and br is None
    mlp, tex, br = _grads(["parts"])
    assert mlp > 0 and tex == 0 and br is None


def test_reference_pose_exploration_reaches_only_instance_k():
    _, _, br = _grads(["bones"], mode="rest")
    assert br[1].abs().sum() > 0 and br[0].abs().sum() == 0
