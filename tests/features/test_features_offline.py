"""Offline (weight-free) and oracle backends on a toy class with ground truth; pictures."""

import numpy as np
import pytest
import torch

from artic3d_core.features.config import FeaturesConfig
from artic3d_core.features.extract import GroundTruthMasks, extract_features, rough_foreground
from artic3d_core.features.picture import save_cluster_overlays


@pytest.fixture(scope="module")
def toy(make_toy_class):
    imgs, parts = make_toy_class(6, 128, "striped", seed=0)
    return torch.from_numpy(imgs).permute(0, 3, 1, 2), parts


def _iou(a, b):
    return [(x & y).sum() / (x | y).sum() for x, y in zip(a, b, strict=False)]


def test_offline_foreground_on_toy_class(toy, tmp_path):
    x, parts = toy
    cfg = FeaturesConfig(mask_size=128)
    cfg.offline.work_size = 128
    r = extract_features(x, "offline", cfg)
    iou = _iou(r.masks.numpy() > 0, parts > 0)
    assert np.mean(iou) > 0.9, iou
    assert r.backend == "offline" and r.weights is None
    assert r.feat_img.shape == (6, 20, 64, 64) and r.feat_part.shape == (8, 20)
    assert r.part_cent[..., 2].sum() > 0
    paths = save_cluster_overlays(x[:2], r.masks[:2], tmp_path)
    assert [p.name for p in paths] == ["mask_0.png", "mask_1.png"] and paths[0].stat().st_size > 0
    fg = rough_foreground(x, "offline", cfg)
    assert np.mean(_iou(fg.numpy(), parts > 0)) > 0.9


def test_oracle_backend_reproduces_ground_truth(toy):
    x, parts = toy
    cfg = FeaturesConfig(mask_size=128)
    gt = GroundTruthMasks(masks=parts > 0, part_masks=parts)
    r = extract_features(x, "oracle", cfg, gt=gt)
    assert r.backend == "oracle"
    assert np.array_equal(r.masks.numpy() > 0, parts > 0)
    assert len(np.unique(r.masks.numpy())) == 5  # background + 4 toy parts
