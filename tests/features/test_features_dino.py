"""DINO plumbing with random weights (tiny profile): shapes, hook-computed saliency, tiling."""

import pytest
import torch

from artic3d_core.features.config import FeaturesConfig
from artic3d_core.features.dino import dino_forward, extract_dino, extract_dino_hr
from artic3d_core.features.extract import extract_features, rough_foreground
from artic3d_core.weights import WeightsConfig, load_dino


@pytest.fixture(scope="module")
def tiny_dino():
    return load_dino(WeightsConfig(profile="tiny"), "cpu")


def test_keys_and_saliency_match_manual_attention(tiny_dino):
    model, _ = tiny_dino
    x = torch.rand(2, 3, 32, 48, generator=torch.Generator().manual_seed(0))
    out = dino_forward(model, x, heads=[0, 2, 4, 5])
    assert out.keys.shape == (2, 48, 4, 6) and out.saliency.shape == (2, 4, 6)
    assert torch.allclose(out.keys.norm(dim=1), torch.ones(2, 4, 6), atol=1e-5)
    assert out.saliency.amin((1, 2)).abs().max() < 1e-6
    assert (out.saliency.amax((1, 2)) - 1).abs().max() < 1e-6
    # recompute the CLS attention with an explicit (non-fused) pass of the last block
    attn = model.blocks[-1].attn
    saved = []
    h = model.blocks[-1].norm1.register_forward_hook(lambda m, i, o: saved.append(o))
    from artic3d_core.features.dino import _normalise

    model.forward_features(_normalise(x))
    h.remove()
    qkv = attn.qkv(saved[0]).reshape(2, 25, 3, 6, 8).permute(2, 0, 3, 1, 4)
    a = ((qkv[0] * attn.scale) @ qkv[1].transpose(-1, -2)).softmax(-1)[:, :, 0, 1:]
    sal = a[:, [0, 2, 4, 5]].mean(1).reshape(2, 4, 6)
    lo, hi = sal.amin((1, 2), keepdim=True), sal.amax((1, 2), keepdim=True)
    assert torch.allclose(out.saliency, (sal - lo) / (hi - lo), atol=1e-5)


def test_batching_does_not_change_results(tiny_dino):
    model, _ = tiny_dino
    x = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    a = extract_dino(model, x, 32, [0, 2], batch_size=1, device="cpu")
    b = extract_dino(model, x, 32, [0, 2], batch_size=3, device="cpu")
    assert torch.allclose(a.keys, b.keys, atol=1e-5)
    assert torch.allclose(a.saliency, b.saliency, atol=1e-5)


def test_hr_tiling_stitches_quadrants(tiny_dino):
    model, _ = tiny_dino
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    hr = extract_dino_hr(model, x, 64, [0], batch_size=2, device="cpu")
    assert hr.keys.shape == (1, 48, 8, 8)
    br = extract_dino(model, x[..., 32:, 32:], 32, [0], batch_size=1, device="cpu")
    assert torch.allclose(hr.keys[..., 4:, 4:], br.keys, atol=1e-5)
    assert torch.allclose(hr.saliency[:, 4:, 4:], br.saliency, atol=1e-5)


def test_extract_features_dino_tiny_shapes():
    cfg = FeaturesConfig(
        backend="dino",
        hr_size=128,
        lr_size=64,
        feat_hw=8,
        mask_size=64,
        kmeans_niter=10,
        kmeans_nredo=1,
        pca_dim=20,
    )
    cfg.crf.grid = 32
    x = torch.rand(2, 3, 96, 96, generator=torch.Generator().manual_seed(3))
    r = extract_features(x, "dino", cfg, "cpu", WeightsConfig(profile="tiny"))
    assert r.masks.shape == (2, 64, 64) and r.masks_lr.shape == (2, 8, 8)
    assert r.feat_img.shape == (2, 20, 8, 8) and r.feat_part.shape == (8, 20)
    assert r.part_cent.shape == (2, 8, 3) and r.saliency.shape == (2, 8, 8)
    assert r.weights is not None and r.weights.random and "RANDOM" in r.meta["warning"]
    assert int(r.masks.max()) <= 8
    fg = rough_foreground(x, "dino", cfg, "cpu", WeightsConfig(profile="tiny"))
    assert fg.shape == (2, 96, 96) and fg.dtype == torch.bool


def test_bad_inputs_have_clear_errors():
    cfg = FeaturesConfig()
    with pytest.raises(ValueError, match="unknown feature backend"):
        extract_features(torch.rand(1, 3, 8, 8), "clip", cfg)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        extract_features(torch.full((1, 3, 8, 8), 3.0), "offline", cfg)
    with pytest.raises(ValueError, match="B, 3, H, W"):
        extract_features(torch.rand(3, 8, 8), "offline", cfg)
    with pytest.raises(ValueError, match="weights_cfg"):
        extract_features(torch.rand(1, 3, 16, 16), "dino", cfg)
    with pytest.raises(ValueError, match="ground-truth"):
        extract_features(torch.rand(1, 3, 16, 16), "oracle", cfg)


@pytest.mark.slow
def test_full_random_vits8_one_512_image():
    model, info = load_dino(WeightsConfig(profile="full-random"), "cpu")
    out = extract_dino(model, torch.rand(1, 3, 512, 512), 512, [0, 2, 4, 5], 1, "cpu")
    assert out.keys.shape == (1, 384, 64, 64) and out.saliency.shape == (1, 64, 64)
    assert info.random


def test_photo_saliency_is_the_attention_of_the_resized_photo(tiny_dino):
    from artic3d_core.features.dino import photo_saliency

    model, _ = tiny_dino
    img = torch.rand(40, 60, 3, generator=torch.Generator().manual_seed(3))
    sal = photo_saliency(model, img.numpy(), 32, [0, 2])
    assert sal.shape == (3, 4)  # 40×60 → 24×32 px (multiples of 8, aspect kept) → 3×4 patches
    x = torch.nn.functional.interpolate(
        img.permute(2, 0, 1)[None], size=(24, 32), mode="bilinear", antialias=True
    )
    assert torch.allclose(sal, dino_forward(model, x, [0, 2]).saliency[0], atol=1e-6)


def test_folder_crop_from_dino_saliency(tiny_dino, tmp_path):
    """The saliency source places the crop on the largest salient component of the whole
    photo's CLS attention (random weights: the plumbing, not the quality)."""
    import numpy as np
    from PIL import Image

    from artic3d_core.data.crop import square_box
    from artic3d_core.data.folder import load_folder
    from artic3d_core.features.dino import photo_saliency, saliency_fn

    model, _ = tiny_dino
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)  # noise: no confident estimate
    Image.fromarray(img).save(tmp_path / "p.png")
    (rec,) = load_folder(tmp_path, "x", saliency=saliency_fn(model, 64, [0]))
    sal = photo_saliency(model, img.astype(np.float32) / 255, 64, [0]).numpy()  # (6, 8)
    assert rec.meta["box_source"] == "saliency"
    from scipy import ndimage

    lab, n = ndimage.label(sal > 0.5)
    big = lab == 1 + int(np.argmax(ndimage.sum(np.ones_like(sal), lab, range(1, n + 1))))
    ys, xs = np.nonzero(big)
    box = (
        xs.min() * 8.0,
        ys.min() * 8.0,
        (xs.max() + 1 - xs.min()) * 8.0,
        (ys.max() + 1 - ys.min()) * 8.0,
    )
    assert rec.crop_box == square_box(*box, 1.5)


def test_saliency_crops_only_with_real_dino_weights():
    from artic3d_core.config import Params
    from artic3d_core.pipeline.stages import folder_saliency, folder_saliency_used

    p = Params.model_validate({"features": {"backend": "dino"}, "weights": {"profile": "tiny"}})
    assert folder_saliency(p, "folder") is None and not folder_saliency_used(p, "folder")
    real = Params.model_validate({"features": {"backend": "dino"}, "weights": {"profile": "real"}})
    assert folder_saliency_used(real, "folder") and not folder_saliency_used(real, "lassie")
    off = Params.model_validate(
        {"features": {"backend": "offline"}, "weights": {"profile": "real"}}
    )
    assert not folder_saliency_used(off, "folder")
