"""A resumed optimisation equals an uninterrupted one, and a bad checkpoint is recomputed.

Toy scene, tiny stages: every case runs in about a second. The real-process kills (SIGKILL of
``artic3d run`` and of ``dvc repro``) are in ``test_faults_kill.py``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch

from artic3d_core.model.articulated import ArticulatedModel
from artic3d_core.optim.config import StageSpec
from artic3d_core.optim.runner import FitInputs, fit_instance, fit_joint, stage_checkpoint

COMMON = {"image_size": 32, "faces_per_pixel": 10, "mesh_level": 1, "feat_grid": 16}


@pytest.fixture(scope="module")
def scene(toy_scene_factory):
    return toy_scene_factory(n_instances=2, image_size=32, seed=1)


def _inputs(sc) -> FitInputs:
    return FitInputs(sc.images, sc.masks, sc.masks_lr, sc.feat_img, sc.part_cent, "a toy")


def _model(sc) -> ArticulatedModel:
    az = [a + 0.3 for a in sc.skeleton.azimuth]
    return ArticulatedModel(sc.skeleton, 2, feat_part=sc.feat_part, azimuth=az)


def _stages() -> list[StageSpec]:
    """A part-code stage, then a deforming stage that uses the mirror map, then two instance
    stages (the shape of the demo and paper schedules)."""
    return [
        StageSpec(name="codes", iters=4, lr=0.05, params=["global", "part_codes"],
                  weights={"sil": 1.0}, **COMMON),
        StageSpec(name="shape", iters=3, lr=5e-3, params=["part_codes", "mlp"], deform=True,
                  weights={"sil": 0.1, "shape_prior": 0.2}, **COMMON),
        StageSpec(name="inst", phase="instance", iters=2, lr=1e-2, params=["mlp_instance"],
                  deform=True, weights={"sil": 0.05, "instance": 0.1}, **COMMON),
        StageSpec(name="tex", phase="instance", iters=3, lr=0.1, params=["texture"],
                  deform=True, texture="uv", weights={"text_init": 1.0, "text": 0.1}, **COMMON),
    ]  # fmt: skip


def _joint(sc, stages, ckpt: Path | None) -> tuple[ArticulatedModel, list]:
    m = _model(sc)
    res = fit_joint(m, _inputs(sc), stages, ckpt, seed=3, prior_level=1, progress=False)
    return m, res


def _assert_same_state(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    diff = [k for k in sa if not torch.equal(sa[k], sb[k])]
    assert not diff, f"differs in {diff}"


@pytest.fixture(scope="module")
def uninterrupted(scene, tmp_path_factory):
    d = tmp_path_factory.mktemp("ref")
    m, res = _joint(scene, _stages(), d / "joint")
    return m, res


@pytest.mark.fault(
    "resume after a part-code stage (in process)",
    result="identical to uninterrupted",
    data_lost="none",
)
def test_joint_resumed_after_a_part_code_stage_equals_uninterrupted(scene, uninterrupted, tmp_path):
    ref, ref_res = uninterrupted
    _joint(scene, _stages()[:1], tmp_path)  # the "killed" run: finished stage 0 only
    m, res = _joint(scene, _stages(), tmp_path)  # a fresh process resumes after stage 0
    assert [r.resumed for r in res] == [True, False]
    _assert_same_state(ref, m)
    # the resumed stage reports the final losses it had, as in the uninterrupted run
    assert res[0].final() == pytest.approx(ref_res[0].final())


def test_mirror_map_depends_on_the_skeleton_only(scene, uninterrupted):
    ref, _ = uninterrupted
    fresh = _model(scene)
    assert not torch.equal(ref.part_codes, fresh.part_codes)  # the codes were optimised
    for level in (1, 2):
        assert torch.equal(ref.sym_map(level), fresh.sym_map(level))


@pytest.mark.fault(
    "instances on a joint model rebuilt from disk",
    result="identical to in-memory",
    data_lost="none",
)
def test_instance_on_a_rebuilt_joint_model_equals_in_memory(scene, uninterrupted, tmp_path):
    """The flow rebuilds the joint model from ``model.pt`` in another process; the CLI keeps it
    in memory. Both must fit the same instance."""
    ref, _ = uninterrupted
    rebuilt = ArticulatedModel(scene.skeleton, 2)
    rebuilt.load_state_dict(ref.state_dict(), strict=True)
    a, _ = fit_instance(ref, 1, _inputs(scene), _stages(), None, 3, prior_level=1, progress=False)
    b, _ = fit_instance(rebuilt, 1, _inputs(scene), _stages(), None, 3, prior_level=1,
                        progress=False)  # fmt: skip
    _assert_same_state(a, b)


def _instance(ref, scene, ckpt: Path | None):
    return fit_instance(ref, 0, _inputs(scene), _stages(), ckpt, 3, prior_level=1, progress=False)


def _flip_bytes(path: Path, n: int = 64) -> None:
    raw = bytearray(path.read_bytes())
    mid = len(raw) // 2
    for i in range(mid, mid + n):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))


def _nan_with_matching_sha(path: Path) -> None:
    """Non-finite values in a checkpoint whose recorded sha256 matches (a bad stage, not a
    damaged file)."""
    from artic3d_core.atomic import file_sha256

    state = torch.load(path, weights_only=True)
    key = next(k for k, v in state["model"].items() if v.is_floating_point())
    state["model"][key] = state["model"][key].clone().fill_(float("nan"))
    torch.save(state, path)
    prog = path.parent / "progress.json"
    d = json.loads(prog.read_text())
    i = int(path.name.split("_")[1])
    d["sha256"][i] = file_sha256(path)
    prog.write_text(json.dumps(d))


DAMAGE = {
    "flipped bytes": _flip_bytes,
    "garbage": lambda p: p.write_bytes(b"not a checkpoint" * 8),
    "deleted": lambda p: p.unlink(),
    "non-finite values": _nan_with_matching_sha,
}


@pytest.fixture(scope="module")
def clean_instance(scene, uninterrupted):
    return _instance(uninterrupted[0], scene, None)[0]


@pytest.mark.fault(
    "checkpoint flipped / garbage / deleted / NaN",
    result="identical to uninterrupted",
    data_lost="none (bad stage recomputed)",
)
@pytest.mark.parametrize(
    ("damage", "damaged"), [(d, "last") for d in DAMAGE] + [("flipped bytes", "all")]
)
def test_damaged_instance_checkpoint_is_recomputed(
    scene, uninterrupted, clean_instance, tmp_path, caplog, damage, damaged
):
    """Resuming needs the last finished stage's checkpoint; when it is bad the run falls back
    to the one before, and recomputes everything when none verifies."""
    ref, _ = uninterrupted
    _instance(ref, scene, tmp_path)
    stages = [s for s in _stages() if s.phase == "instance"]
    paths = [stage_checkpoint(tmp_path, i, s) for i, s in enumerate(stages)]
    for p in paths if damaged == "all" else paths[-1:]:
        DAMAGE[damage](p)
    with caplog.at_level(logging.WARNING, logger="artic3d_core.optim.runner"):
        again, res = _instance(ref, scene, tmp_path)
    n_good = 0 if damaged == "all" else len(stages) - 1
    assert [r.resumed for r in res] == [j < n_good for j in range(len(stages))]
    assert str(paths[-1]) in caplog.text  # one line names the file it recomputes
    _assert_same_state(clean_instance, again)
    # the recomputed checkpoint verifies on the next run, which then resumes everything
    _, res = _instance(ref, scene, tmp_path)
    assert all(r.resumed for r in res)


@pytest.mark.fault(
    "unreadable progress.json",
    result="identical to uninterrupted",
    data_lost="the phase's finished stages",
)
def test_unreadable_progress_file_starts_over(scene, uninterrupted, tmp_path, caplog):
    ref, _ = uninterrupted
    _joint(scene, _stages(), tmp_path)
    (tmp_path / "progress.json").write_text("{ not json")
    with caplog.at_level(logging.WARNING, logger="artic3d_core.optim.runner"):
        m, res = _joint(scene, _stages(), tmp_path)
    assert not any(r.resumed for r in res) and "unreadable progress file" in caplog.text
    _assert_same_state(ref, m)
