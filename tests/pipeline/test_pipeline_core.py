"""The core stage functions end to end on a tiny synthetic class (no Prefect): crops → oracle
features → skeleton → joint → instances (three methods) → evaluation rows."""

import pytest
import torch

from artic3d_core.data.records import KEYPOINT_NAMES
from artic3d_core.data.synthetic import generate
from artic3d_core.pipeline import stage_files as sf
from artic3d_core.pipeline.stages import (
    run_animation,
    run_data,
    run_eval,
    run_features,
    run_instance,
    run_joint,
    run_skeleton,
)


@pytest.fixture(scope="module")
def stage_dirs(tmp_path_factory, make_params):
    root = tmp_path_factory.mktemp("pipe")
    synth = root / "synth"
    generate(synth, ["zebra"], seed=0, preset="demo", n_clean=3, n_occluded=1, contact_sheet=False)
    p = make_params(["features.backend=oracle", "features.mask_size=64"])
    data, fdir, sdir = root / "data", root / "preprocess" / "features", root / "skeleton"
    for d in (data, fdir, sdir):
        d.mkdir(parents=True)
    run_data(p, synth, "synthetic", "zebra", data)
    stored = sf.read_crops(data)
    assert stored.sets == ["clean"] * 3 + ["occluded"] and stored.images.shape[-1] == 64
    info = run_features(p, data, [], fdir, "cpu")
    assert info["backend"] == "oracle" and not info["enhanced_inputs"]
    run_skeleton(p, fdir, sdir)
    return root, p, data, fdir, sdir


def test_joint_instance_eval_for_every_method(stage_dirs):
    root, p, data, fdir, sdir = stage_dirs
    jdir = root / "joint"
    jdir.mkdir()
    summary = run_joint(p, data, fdir, sdir, jdir, "hi-lassie", "cpu", seed=0, cls="zebra")
    assert summary["images"] == 4 and set(summary["stages"]) >= {"global_pose", "all"}
    joint, saved = sf.read_joint(jdir, p, "cpu")
    assert saved["cls"] == "zebra" and joint.n_instances == 4
    for method in ("hi-lassie", "hi-lassie+", "artic3d"):
        idir = root / method / "inst1"
        idir.mkdir(parents=True)
        res = run_instance(p, jdir, 1, idir, method, "cpu", seed=0, outputs=(method == "artic3d"))
        assert res["index"] == 1 and res["set"] == "clean"
        if method == "hi-lassie":
            assert res["weights"] == [] and res["guidance"] == "none"
        else:  # the guided methods record the (random) prior that guided them
            assert res["weights"] and res["weights"][0].random
        m, k = sf.read_instance(joint, idir)
        assert k == 1
        changed = any(
            not torch.equal(a, b)
            for (n, a), (_, b) in zip(
                m.state_dict().items(), joint.state_dict().items(), strict=True
            )
            if n.startswith("parts.") or n == "text_img"
        )
        assert changed
    assert (root / "artic3d" / "inst1" / "outputs" / "mesh.glb").is_file()
    edir = root / "eval"
    edir.mkdir()
    run_eval(
        p, data, jdir, [root / "artic3d" / "inst1"], edir, "synthetic", "zebra", "artic3d", "cpu",
        "hash", "rev", run_seconds=90.0,
    )  # fmt: skip
    from artic3d_core.metrics.store import read_metrics

    rows = list(read_metrics(edir / "metrics.parquet").itertuples())
    summary = sf.read_eval_summary(edir)
    assert summary["clean/pck"] == next(
        r.value for r in rows if (r.set, r.metric) == ("clean", "pck")
    )
    assert set(summary["occluded/pck_per_keypoint"]) <= set(KEYPOINT_NAMES)
    got = {(r.set, r.metric) for r in rows}
    for s in ("clean", "occluded"):
        for metric in ("pck", "pck_reference", "mask_iou", "clip_s1", "clip_s2", "azim_err_deg"):
            assert (s, metric) in got
        for metric in ("azim_err_mirror_deg", "kp3d_err", "kp3d_err_rel", "joint3d_err"):
            assert (s, metric) in got
    by = {(r.set, r.metric): r for r in rows}
    for s, n in (("clean", 3), ("occluded", 4)):
        err = by[(s, "joint3d_err_rel")]
        assert err.unit == "% of GT extent" and 0 < err.value < 100 and 0 < err.images <= n
        assert by[(s, "azim_err_mirror_deg")].value <= by[(s, "azim_err_deg")].value
        assert (by[(s, "minutes")].value, by[(s, "minutes")].seconds) == (1.5, 90.0)
        assert by[(s, "minutes")].images == 4  # the whole run
    pck = {r.set: r for r in rows if r.metric == "pck"}
    assert pck["clean"].images == 3 and pck["occluded"].images == 4
    for metric in ("pck_bbox", "pck_bbox_mirror", "pck_bbox_mirror_gt"):  # same pairs as pck
        base = {r.set: r for r in rows if r.metric == metric}
        assert {s: (r.images, r.pairs) for s, r in base.items()} == {
            s: (r.images, r.pairs) for s, r in pck.items()
        }
    assert summary["clean/notes"][-1].startswith("PCK (bbox): boxes from the dataset's masks")
    assert all(0 <= r.value <= 100 for r in rows if r.unit == "%")
    assert all(r.weights_random for r in rows)  # tiny SD guided the instance (random)
    # the evaluation's CLIP model made the CLIP rows only, not PCK / IoU / 3D rows
    assert all(("clip=" in r.weights_fingerprint) == r.metric.startswith("clip_") for r in rows)
    assert all(r.feature_backend == "oracle" for r in rows)


def test_animation_stage_writes_videos_rig_and_tdass(stage_dirs, tmp_path):
    from artic3d_core.export.validate import validate_gltf

    root, p, data, fdir, sdir = stage_dirs
    jdir = root / "joint_anim"
    jdir.mkdir()
    run_joint(p, data, fdir, sdir, jdir, "hi-lassie", "cpu", seed=0, cls="zebra")
    idir = root / "inst_anim"
    idir.mkdir()
    run_instance(p, jdir, 0, idir, "hi-lassie", "cpu", seed=0, outputs=False)
    out = tmp_path / "anim"
    out.mkdir()
    res = run_animation(p, jdir, idir, out, "cpu", seed=0)
    for f in ("source.gif", "source.mp4", "tdass.gif", "tdass.mp4", "rig.glb", "summary.json"):
        assert (out / f).is_file(), f
    assert res["frames"] == 3 and res["weights"][0].random and "RANDOM" in res["prior"]
    assert validate_gltf(out / "rig.glb").errors == 0


def test_enhancement_weights_name_the_prior_that_enhanced_the_inputs(tmp_path):
    """A fit to enhanced inputs is marked with the enhancing prior even without guidance in
    its own stages (method artic3d-enhance); a record without weights adds none."""
    from artic3d_core.weights import WeightsInfo

    prior = WeightsInfo("sd", "synthetic", "/models/prior", "sha256:ab", False)
    dirs = [tmp_path / "0", tmp_path / "1"]
    for d, w in zip(dirs, (prior.as_dict(), None), strict=True):
        d.mkdir()
        sf.write_enhanced(d, torch.zeros(3, 4, 4), {"settings": {}, "weights": w})
    assert sf.enhancement_weights(dirs) == [prior]
    assert sf.enhancement_weights([]) == []
