"""Stage runner: fit improves on a toy scene, checkpoints/resume, determinism, guidance errors,
per-instance outputs (OBJ/GLB/GIF)."""

from pathlib import Path

import pytest
import torch

from artic3d_core.model.articulated import ArticulatedModel
from artic3d_core.optim.config import OptimConfig, StageSpec
from artic3d_core.optim.outputs import instance_geometry, save_instance_outputs
from artic3d_core.optim.runner import (
    FitInputs,
    GuidanceMissingError,
    fit_instance,
    fit_joint,
    run_stage,
)


@pytest.fixture(scope="module")
def scene(toy_scene_factory):
    return toy_scene_factory(n_instances=2, image_size=32, seed=1)


def _inputs(sc):
    return FitInputs(
        sc.images, sc.masks, sc.masks_lr, sc.feat_img, sc.part_cent, "A photo of a toy"
    )


def _model(sc):
    az = [a + 0.3 for a in sc.skeleton.azimuth]
    return ArticulatedModel(sc.skeleton, 2, feat_part=sc.feat_part, azimuth=az)


def _tiny_stages():
    common = {"image_size": 32, "faces_per_pixel": 10, "mesh_level": 1, "feat_grid": 16}
    return [
        StageSpec(name="pose", iters=4, lr=0.05, params=["global", "bone_rot"],
                  weights={"feat": 1.0, "pose_prior": 0.01, "can_prior": 0.1}, **common),
        StageSpec(name="shape", iters=3, lr=5e-3, params=["part_codes", "mlp"], deform=True,
                  weights={"sil": 0.1, "shape_prior": 0.2, "lap": 0.02, "norm": 0.02,
                           "inflat": 1e-4}, **common),
        StageSpec(name="inst", phase="instance", iters=2, lr=1e-2, params=["mlp_instance"],
                  deform=True, weights={"sil": 0.05, "instance": 0.1}, **common),
        StageSpec(name="tex", phase="instance", iters=3, lr=0.1, params=["texture"],
                  deform=True, texture="uv", weights={"text_init": 1.0, "text": 0.1}, **common),
    ]  # fmt: skip


def test_schedules_from_params_yaml():
    from artic3d_core.config import load_params

    cfg = load_params(Path(__file__).parents[2] / "params.yaml").optim
    paper = cfg.schedules["paper"]
    # docs/method.md §7.1: 8 × 100 + 300 = 1,100 iterations
    assert sum(s.iters for s in paper if s.phase == "joint") == 1100
    assert [s.name for s in paper if s.phase == "instance"] == [
        "instance_shape", "texture_init", "instance_refine",
    ]  # fmt: skip
    names = [s.name for s in paper]
    names.insert(names.index("all") + 1, "all_hires")  # the demo's stand-in for 512² renders
    assert [s.name for s in cfg.schedules["demo"]] == names
    # the guidance loss has one generic weight key, in the guided stage of both schedules
    for sched in ("paper", "demo"):
        guided = [s.name for s in cfg.schedules[sched] if "guidance" in s.weights]
        assert guided == ["instance_refine"]
    # params.yaml is the only copy: the model has no schedule of its own
    assert OptimConfig().schedules == {}
    with pytest.raises(ValueError, match=r"schedules live in params\.yaml"):
        OptimConfig().stages()
    with pytest.raises(ValueError, match="unknown losses"):
        StageSpec(name="x", weights={"nope": 1.0})


def test_stage_reduces_its_loss(scene):
    m = _model(scene)
    st = StageSpec(name="g", iters=15, lr=0.05, params=["global"], feat_grid=16,
                   weights={"feat": 1.0})  # fmt: skip
    res = run_stage(m, _inputs(scene), st, torch.arange(2), seed=0, prior_level=1, progress=False)
    h = res.history["feat"]
    assert h[-1] < 0.8 * h[0]


def test_stage_rasteriser_choice_reaches_the_renders_and_gives_the_same_fit(scene, monkeypatch):
    from artic3d_core.render import backend as rb

    calls = []
    p3d = rb.rasterize_pytorch3d
    monkeypatch.setattr(rb, "rasterize_pytorch3d", lambda *a, **k: calls.append(1) or p3d(*a, **k))
    hist = {}
    for r in ("torch", "pytorch3d"):
        st = StageSpec(name="s", iters=3, lr=5e-3, params=["part_codes", "mlp"], deform=True,
                       image_size=32, faces_per_pixel=10, mesh_level=1, rasteriser=r,
                       weights={"sil": 1.0})  # fmt: skip
        n0 = len(calls)
        res = run_stage(_model(scene), _inputs(scene), st, torch.arange(2), 0, progress=False)
        hist[r] = torch.tensor(res.history["sil"])
        assert (len(calls) > n0) == (r == "pytorch3d")
    assert torch.allclose(hist["torch"], hist["pytorch3d"], rtol=1e-4, atol=1e-6)


def test_render_rasteriser_fills_stages_without_their_own():
    from artic3d_core.config import load_params
    from artic3d_core.pipeline.methods import get_method, method_stages

    root = Path(__file__).parents[2]
    p = load_params(root / "params.yaml", ["render.rasteriser=pytorch3d"])
    specs = method_stages(p, get_method("artic3d", p.guidance))
    assert {s.rasteriser for s in specs} == {"pytorch3d"}
    p = load_params(root / "params.yaml")
    sched = p.optim.schedules[p.optim.schedule]
    sched[0] = sched[0].model_copy(update={"rasteriser": "torch"})  # a stage's own choice stays
    specs = method_stages(p, get_method("hi-lassie", p.guidance))
    assert [s.rasteriser for s in specs[:2]] == ["torch", "auto"]


def test_resume_equals_uninterrupted_and_is_deterministic(scene, tmp_path):
    stages = _tiny_stages()
    a = _model(scene)
    fit_joint(a, _inputs(scene), stages, tmp_path / "a", seed=3, prior_level=1, progress=False)
    b = _model(scene)
    fit_joint(b, _inputs(scene), stages[:1], tmp_path / "b", seed=3, prior_level=1, progress=False)
    assert (tmp_path / "b" / "stage_00_pose.pt").is_file()
    c = _model(scene)  # "restarted process": resumes after stage 0, runs stage 1
    res = fit_joint(
        c, _inputs(scene), stages, tmp_path / "b", seed=3, prior_level=1, progress=False
    )
    assert res[0].resumed and not res[1].resumed
    for (k, va), vc in zip(a.state_dict().items(), c.state_dict().values(), strict=True):
        assert torch.equal(va, vc), k


def test_checkpoints_of_other_inputs_or_stages_are_not_resumed(scene, tmp_path):
    stages = _tiny_stages()
    fit_joint(_model(scene), _inputs(scene), stages, tmp_path, seed=3, prior_level=1,
              progress=False)  # fmt: skip
    other = _inputs(scene)
    other.images = other.images.flip(-1)  # another image set, same shapes
    res = fit_joint(_model(scene), other, stages, tmp_path, seed=3, prior_level=1, progress=False)
    assert not any(r.resumed for r in res)
    changed = [stages[0], stages[1].model_copy(update={"iters": stages[1].iters + 1})]
    res = fit_joint(_model(scene), other, changed, tmp_path, seed=3, prior_level=1, progress=False)
    assert res[0].resumed and not res[1].resumed


def test_instance_phase_outputs_and_geometry(scene, tmp_path):
    m = _model(scene)
    stages = _tiny_stages()
    fit_joint(m, _inputs(scene), stages, None, prior_level=1, progress=False)
    before = m.parts.W_lo.detach().clone()
    mk, _res = fit_instance(
        m, 1, _inputs(scene), stages, tmp_path / "i1", prior_level=1, progress=False
    )
    assert torch.equal(mk.parts.W_lo, before)  # shared layers frozen
    assert not torch.equal(mk.text_img, m.text_img)  # texture trained
    assert torch.equal(mk.bone_rot, m.bone_rot)  # camera/pose not optimised
    geo = instance_geometry([m, mk], level=1, image_size=32)
    assert geo.verts_2d.shape == (2, m.nb * 42, 2) and geo.vert_visible.any(1).all()
    files = save_instance_outputs(
        mk, 1, tmp_path / "out", level=1, image_size=32, turntable_frames=4
    )
    import trimesh

    tm = trimesh.load(files["obj"], force="mesh")
    assert len(tm.vertices) > 0
    assert len(trimesh.load(files["glb"], force="mesh").faces) == m.nb * 80
    assert files["turntable"].stat().st_size > 0


def test_guided_stage_without_guidance_fails(scene):
    m = _model(scene)
    st = StageSpec(name="instance_refine", phase="instance", iters=1, params=["texture"],
                   texture="uv", weights={"guidance": 1.0})  # fmt: skip
    with pytest.raises(GuidanceMissingError):
        run_stage(m, _inputs(scene).select(0), st, torch.tensor([0]), 0, progress=False)


def test_shared_deformation_cached_only_while_the_shared_layers_are_frozen(scene):
    """The instance prior's anchor F(X; f_instance − 1) is computed once per stage when the
    shared layers are frozen (it cannot change), and every iteration while they train; the
    losses are the same with and without the cache."""
    from artic3d_core.losses.config import LossesConfig
    from artic3d_core.optim.runner import compute_losses

    m = _model(scene)
    with torch.no_grad():
        for q in m.parts.parameters():
            q.add_(0.1 * torch.randn(q.shape, generator=torch.Generator().manual_seed(0)))
    st = StageSpec(name="inst", phase="instance", iters=1, lr=1e-2, params=["mlp_instance"],
                   deform=True, image_size=32, faces_per_pixel=10, mesh_level=1,
                   weights={"instance": 0.1, "lap": 0.02, "norm": 0.02})  # fmt: skip
    inst = torch.tensor([0])
    inputs = _inputs(scene).select(0)

    def losses(cache):
        mesh = m(1, 10, True, None, inst)
        return compute_losses(m, mesh, inputs, st, inst, 1e-4, 10, LossesConfig(), 2, cache)

    cache: dict = {}
    plain, cached = losses(None), losses(cache)
    assert cache == {}  # the shared layers still train: nothing is constant
    m.parts.freeze_shared()
    first = losses(cache)
    assert len(cache) == 1
    (anchor,) = cache.values()
    assert not anchor.requires_grad and anchor.abs().max() > 0
    with torch.no_grad():  # instance layers move; the anchor (shared layers only) does not
        m.parts.W_hi.add_(0.5)
    after, fresh = losses(cache), losses(None)
    assert cache[next(iter(cache))] is anchor
    assert after["instance"] != first["instance"]
    for k in plain:
        torch.testing.assert_close(cached[k], plain[k])
        torch.testing.assert_close(after[k], fresh[k])


def test_camera_anchor_pulls_the_azimuth_back_to_its_initial_estimate(scene):
    m = _model(scene)
    a0 = m.global_rot[:, 2].detach().clone()
    assert torch.equal(m.azimuth_init, a0)
    with torch.no_grad():
        m.global_rot[:, 2] += 0.5
    st = StageSpec(name="g", iters=20, lr=0.05, params=["global"], weights={"cam_anchor": 1.0})
    res = run_stage(m, _inputs(scene), st, torch.arange(2), seed=0, prior_level=1, progress=False)
    assert res.history["cam_anchor"][0] == pytest.approx(1 - torch.cos(torch.tensor(0.5)).item())
    assert (m.global_rot[:, 2] - a0).abs().max() < 0.5 * 0.5
    assert torch.equal(m.azimuth_init, a0)  # the estimate itself is not fitted
