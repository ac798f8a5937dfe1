"""The evaluation's 3D errors on the synthetic benchmark, end to end from fitted models: a
model holding the ground truth's camera and pose (moved into the crop's frame) scores near 0,
a wrong pose scores far more."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from artic3d_core.data.crop import crop_record
from artic3d_core.data.loaders import load_class
from artic3d_core.data.synthetic import generate
from artic3d_core.eval.evaluate import image_errors_3d
from artic3d_core.eval.ground_truth import azimuth_error, set_error_3d, umeyama
from artic3d_core.model.articulated import ArticulatedModel
from artic3d_core.model.config import ModelConfig
from artic3d_core.optim.outputs import instance_geometry
from artic3d_core.skeleton.skeleton import Skeleton


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth3d")
    generate(
        root,
        ["zebra"],
        seed=0,
        preset="demo",
        n_clean=3,
        n_occluded=0,
        image_size=128,
        contact_sheet=False,
    )
    recs = load_class("synthetic", root, "zebra", ("clean",), 2.0)
    return recs, [crop_record(r, 64) for r in recs]


def _oracle(k: int, rec, n: int, pose_offset: float = 0.0) -> ArticulatedModel:
    """A model whose instance ``k`` has the GT rest joints, pose and camera of ``rec``, the
    camera moved from the image's NDC into the crop's (x_c = x·W/side + offset)."""
    g = rec.meta["gt"]
    sk = Skeleton(
        joints=torch.tensor(g.rest_joints), parents=list(g.skeleton.parents),
        part_scale_xz=list(g.extra["part_scale_xz"]), part_scale_y=list(g.extra["part_scale_y"]),
    )  # fmt: skip
    cfg = ModelConfig()
    m = ArticulatedModel(sk, n, cfg, azimuth=[0.0] * n)
    h, w = rec.image.shape[:2]
    left, top, side = rec.crop_box
    offset = np.array([(w - 2 * left) / side - 1, 1 - (h - 2 * top) / side])
    with torch.no_grad():
        m.bone_rot[k] = torch.tensor(g.bone_euler, dtype=torch.float32) + pose_offset
        m.global_rot[k] = torch.tensor(g.global_rot, dtype=torch.float32)
        m.global_scale[k] = float((g.global_scale * w / side - 1) / cfg.global_scale_factor)
        m.global_trans[k] = torch.tensor(np.asarray(g.global_trans) * w / side + offset)
    return m


def _errors(recs, crops, pose_offset: float):
    models = [_oracle(k, r, len(recs), pose_offset) for k, r in enumerate(recs)]
    geo = instance_geometry(models, level=3, image_size=64)
    kps = np.stack([c.keypoints for c in crops])
    gts = [r.meta["gt"] for r in recs]
    errs = image_errors_3d(
        geo.verts_3d.numpy(), geo.verts_2d.numpy(), geo.vert_visible.numpy(),
        geo.joints_3d.numpy(), kps, gts, True,
    )  # fmt: skip
    return models, geo, gts, errs


def test_ground_truth_model_scores_near_zero_and_a_wrong_pose_does_not(records):
    recs, crops = records
    models, geo, gts, errs = _errors(recs, crops, 0.0)
    for k, g in enumerate(gts):  # the oracle's joints are a similarity of the GT joints
        tr = umeyama(geo.joints_3d[k].double().numpy(), g.joints_3d)
        np.testing.assert_allclose(tr.apply(geo.joints_3d[k].numpy()), g.joints_3d, atol=1e-4)
    good = set_error_3d(errs)
    assert good.images == len(recs) and good.skipped == 0
    # the keypoints are read off the model's mesh (ellipsoid parts, not the generator's
    # surface), so the alignment is close but not exact
    assert good.kp_relative < 0.03 and good.joint_relative < 0.03
    pred_az = np.degrees([m.global_rot[k, 2].item() for k, m in enumerate(models)])
    gt_az = np.degrees([g.global_rot[2] for g in gts])
    assert azimuth_error(pred_az, gt_az).mean_deg == pytest.approx(0.0, abs=1e-4)
    bad = set_error_3d(_errors(recs, crops, 0.5)[3])  # every bone turned by 0.5 rad
    assert bad.kp_relative > 3 * good.kp_relative and bad.joint_relative > 0.1
