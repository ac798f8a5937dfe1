"""Methods that optimise on the same inputs share their random streams (common random numbers):
Hi-LASSIE and Hi-LASSIE+ reach the identical joint result, so a difference between them is the
guidance's. ARTIC3D and its enhancement-only ablation share theirs; the two kinds differ."""

from __future__ import annotations

import pytest
import torch

from artic3d_core.data.synthetic import generate
from artic3d_core.errors import BadInputError
from artic3d_core.pipeline import stage_files as sf
from artic3d_core.pipeline import stages as st
from artic3d_core.pipeline.layout import Cell, RunLayout, stage_seed
from artic3d_core.pipeline.methods import seed_stream
from artic3d_core.pipeline.reconstruct import reconstruct_class


class _JointDone(Exception):
    pass


def test_methods_on_the_same_inputs_share_a_stream() -> None:
    assert {seed_stream(m) for m in ("hi-lassie", "hi-lassie+", "artic3d-dass")} == {"raw"}
    assert {seed_stream(m) for m in ("artic3d", "artic3d-enhance")} == {"enhanced"}
    cell = Cell("synthetic", "zebra")
    assert stage_seed(0, cell, "hi-lassie", "joint") == stage_seed(0, cell, "hi-lassie+", "joint")
    assert stage_seed(0, cell, "hi-lassie", "joint") != stage_seed(0, cell, "artic3d", "joint")
    assert stage_seed(0, cell, "artic3d", "joint") != stage_seed(0, cell, "artic3d", "instance", 0)
    with pytest.raises(BadInputError, match="unknown method"):
        seed_stream("lassie-9000")


def test_hi_lassie_and_hi_lassie_plus_reach_the_same_joint_result(
    tmp_path, make_params, monkeypatch
) -> None:
    generate(tmp_path / "synth", ["zebra"], seed=0, preset="demo", n_clean=2, n_occluded=0,
             image_size=64, contact_sheet=False)  # fmt: skip

    def stop(*_a, **_k):
        raise _JointDone

    monkeypatch.setattr(st, "fit_instances_of", stop)  # what is compared ends with the joint
    p = make_params([
        f"data.synthetic_root={tmp_path / 'synth'}", f"pipeline.run_dir={tmp_path / 'runs'}",
        "pipeline.synthetic_sets=[clean]", "features.backend=oracle", "features.mask_size=64",
    ])  # fmt: skip
    models = {}
    for method in ("hi-lassie", "hi-lassie+"):
        with pytest.raises(_JointDone):
            reconstruct_class(p, tmp_path / "runs", "synthetic", "zebra", method, "cpu")
        jdir = RunLayout(tmp_path / "runs").stage_dir(Cell("synthetic", "zebra"), method, "joint")
        models[method] = sf.read_joint(jdir, p, "cpu")[0].state_dict()
    a, b = models["hi-lassie"], models["hi-lassie+"]
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
