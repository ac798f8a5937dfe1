"""Evaluation results become metric rows in the paper's units, with weights recorded."""

from __future__ import annotations

import numpy as np
import pytest

from artic3d_core.eval.clip_similarity import CLIPSimilarity
from artic3d_core.eval.iou import silhouette_iou
from artic3d_core.eval.pck import pck_transfer
from artic3d_core.eval.rows import clip_rows, iou_row, pck_rows
from artic3d_core.metrics.schema import RunContext
from artic3d_core.weights import WeightsInfo

CLIP_W = WeightsInfo("clip", "real", "/w/clip.safetensors", "sha256:ab", False)
SD_W = WeightsInfo("sd", "tiny", "random (seed 0)", "random:cd", True)


def _ctx() -> RunContext:
    return RunContext(
        dataset="lassie", set="clean", cls="zebra", method="artic3d", params_hash="p",
        device="cpu", feature_backend="dino", weights=(SD_W,), run_id="r", git_rev="g",
    )  # fmt: skip


def test_pck_and_iou_rows():
    verts = np.array([[(0.1, 0.1)], [(0.2, 0.1)]])
    kps = np.array([[(0.1, 0.1, 1)], [(0.2, 0.1, 1)]])
    res = pck_transfer(verts, np.ones((2, 1), bool), kps, crop_scale=2.0)
    (row,) = pck_rows(_ctx(), res, seconds=1.5)
    assert (row.metric, row.value, row.unit, row.pairs, row.images) == ("pck", 100.0, "%", 2, 2)
    assert (row.threshold, row.crop_scale, row.seconds) == (0.1, 2.0, 1.5)
    assert row.weights_random and row.weights_profile == "tiny"
    ref = pck_transfer(verts, np.ones((2, 1), bool), kps, mode="reference")
    assert pck_rows(_ctx(), ref)[0].metric == "pck_reference"
    iou = silhouette_iou(np.ones((2, 2, 2), bool), np.ones((2, 2, 2), bool))
    assert iou_row(_ctx(), "sil_iou", iou).value == 100.0


def test_clip_rows_average_instances_and_record_clip_weights():
    def res(s1, s2):
        z = np.zeros(1)
        return CLIPSimilarity(s1, s2, z, z, z, 30.0, "A photo of zebra", CLIP_W, 2.0, 0.5)

    s1, s2 = clip_rows(_ctx(), [res(80.0, 20.0), res(90.0, 30.0)])
    assert (s1.metric, s1.value, s2.value, s1.images) == ("clip_s1", 85.0, 25.0, 2)
    assert s1.seconds == pytest.approx(4.0)
    assert s1.weights_fingerprint == "clip=sha256:ab;sd=random:cd"
    assert s1.weights_profile == "mixed(real,tiny)" and s1.weights_random


def test_3d_error_and_azimuth_rows():
    from artic3d_core.eval.ground_truth import SetError3D, azimuth_error
    from artic3d_core.eval.rows import azimuth_rows, error_3d_rows

    rows = error_3d_rows(_ctx(), SetError3D(0.2, 0.05, 0.3, 0.125, images=4, skipped=1))
    got = {r.metric: (r.value, r.unit, r.images) for r in rows}
    assert got == {
        "kp3d_err": (0.2, "gt_units", 4),
        "kp3d_err_rel": (5.0, "% of GT extent", 4),
        "joint3d_err": (0.3, "gt_units", 4),
        "joint3d_err_rel": (12.5, "% of GT extent", 4),
    }
    # 150° is the mirror of 30° about the side view: 120° plain, 0° mirror-invariant
    az = azimuth_rows(_ctx(), azimuth_error(np.array([150.0, 10.0]), np.array([30.0, 0.0])))
    assert [(r.metric, r.value, r.unit, r.images) for r in az] == [
        ("azim_err_deg", 65.0, "deg", 2),
        ("azim_err_mirror_deg", 5.0, "deg", 2),
    ]
