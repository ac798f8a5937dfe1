"""Every optimisation stage reports its cost: wall seconds, iterations, render size, mesh level
and batch (B in a joint stage, 1 in an instance stage); a stage resumed from its checkpoint
reports the seconds it took when it ran."""

from __future__ import annotations

import json
import logging

import pytest

from artic3d_core.model.articulated import ArticulatedModel
from artic3d_core.optim.config import StageSpec
from artic3d_core.optim.runner import FitInputs, fit_instance, fit_joint


@pytest.fixture(scope="module")
def scene(toy_scene_factory):
    return toy_scene_factory(n_instances=2, image_size=32, seed=1)


def _inputs(sc):
    return FitInputs(sc.images, sc.masks, sc.masks_lr, sc.feat_img, sc.part_cent, "a toy")


def _model(sc):
    return ArticulatedModel(sc.skeleton, 2, feat_part=sc.feat_part, azimuth=sc.skeleton.azimuth)


def _stages():
    common = {"faces_per_pixel": 10, "feat_grid": 16}
    return [
        StageSpec(name="pose", iters=3, lr=0.05, params=["global", "bone_rot"], image_size=32,
                  mesh_level=1, weights={"feat": 1.0, "can_prior": 0.1}, **common),
        StageSpec(name="shape", iters=2, lr=5e-3, params=["part_codes", "mlp"], deform=True,
                  image_size=16, mesh_level=0, weights={"sil": 0.1}, **common),
        StageSpec(name="inst", phase="instance", iters=2, lr=1e-2, params=["mlp_instance"],
                  deform=True, image_size=24, mesh_level=1, weights={"sil": 0.05}, **common),
    ]  # fmt: skip


def test_stage_results_and_progress_record_the_cost(scene, tmp_path, caplog):
    m = _model(scene)
    with caplog.at_level(logging.INFO, logger="artic3d_core.optim.runner"):
        res = fit_joint(m, _inputs(scene), _stages(), tmp_path / "j", prior_level=1,
                        progress=False)  # fmt: skip
        _, ires = fit_instance(m, 1, _inputs(scene), _stages(), tmp_path / "i", prior_level=1,
                               progress=False)  # fmt: skip
    got = [(r.name, r.phase, r.iters, r.image_size, r.mesh_level, r.batch) for r in res + ires]
    assert got == [
        ("pose", "joint", 3, 32, 1, 2), ("shape", "joint", 2, 16, 0, 2),
        ("inst", "instance", 2, 24, 1, 1),
    ]  # fmt: skip
    assert all(r.seconds > 0 and not r.resumed for r in res + ires)
    t = ires[0].timing()
    assert t == {"phase": "instance", "seconds": round(ires[0].seconds, 4), "iters": 2,
                 "image_size": 24, "mesh_level": 1, "batch": 1, "resumed": False}  # fmt: skip
    json.dumps(t)
    # one INFO line per finished stage, with its name, iterations and seconds
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("stage ")]
    assert len(lines) == 3
    assert lines[0].startswith("stage pose (joint, batch 2): 3 iters in ")
    assert lines[0].endswith(" s")
    prog = json.loads((tmp_path / "j" / "progress.json").read_text())
    assert prog["seconds"] == [r.seconds for r in res]


def test_resumed_stage_keeps_its_original_seconds(scene, tmp_path):
    first = fit_joint(_model(scene), _inputs(scene), _stages(), tmp_path, prior_level=1,
                      progress=False)  # fmt: skip
    again = fit_joint(_model(scene), _inputs(scene), _stages(), tmp_path, prior_level=1,
                      progress=False)  # fmt: skip
    assert [r.resumed for r in again] == [True, True]
    assert [r.seconds for r in again] == [r.seconds for r in first]
    assert [(r.iters, r.image_size, r.mesh_level, r.batch) for r in again] == [
        (3, 32, 1, 2), (2, 16, 0, 2),
    ]  # fmt: skip
    assert again[0].timing()["resumed"] is True
    # a progress file that records no seconds: the resumed stage's seconds are unknown
    p = tmp_path / "progress.json"
    d = json.loads(p.read_text())
    del d["seconds"]
    p.write_text(json.dumps(d))
    old = fit_joint(_model(scene), _inputs(scene), _stages(), tmp_path, prior_level=1,
                    progress=False)  # fmt: skip
    assert [(r.resumed, r.seconds) for r in old] == [(True, None), (True, None)]
    assert old[0].timing()["seconds"] is None
