"""Input enhancement, contact sheets and the atomic PNG writer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from artic3d_core.guidance.base import resize_for_prior
from artic3d_core.guidance.config import EnhanceSettings, GuidanceConfig
from artic3d_core.guidance.contact_sheet import contact_sheet, write_png_atomic
from artic3d_core.guidance.dass import dass_target
from artic3d_core.guidance.enhance import add_background_noise, enhance, enhance_images
from artic3d_core.seeding import GeneratorGroup


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def half_masks(b: int, h: int, w: int) -> torch.Tensor:
    fg = torch.zeros(b, h, w, dtype=torch.bool)
    fg[:, :, : w // 2] = True
    return fg


def test_background_noise_only_on_background_with_sigma():
    img = torch.full((2, 3, 64, 64), 0.5)
    fg = half_masks(2, 64, 64)
    out = add_background_noise(img, fg, 0.05, gen(0))
    assert torch.equal(out[..., :32], img[..., :32])
    noise = out[..., 32:] - 0.5
    assert abs(float(noise.std()) - 0.05) < 0.003 and abs(float(noise.mean())) < 0.003
    # clamped to [0, 1]
    assert add_background_noise(torch.ones(1, 3, 8, 8), half_masks(1, 8, 8), 0.5, gen(0)).max() <= 1
    # low-resolution masks are upsampled (nearest)
    out_lr = add_background_noise(img, half_masks(2, 16, 16), 0.05, gen(0))
    assert torch.equal(out_lr, out)
    with pytest.raises(ValueError, match="foreground masks"):
        add_background_noise(img, fg[:1], 0.05, gen(0))


def test_enhance_is_dass_target_of_noised_images(tiny_sd, images):
    cfg = GuidanceConfig(image_size=None, enhance=EnhanceSettings(n=2, batch_size=8))
    fg = half_masks(2, 64, 64)
    res = enhance(images, fg, tiny_sd, cfg, gen(4), cls="zebra")
    g = gen(4)
    noisy = add_background_noise(images, fg, 0.05, g)
    s = cfg.enhance
    expect = dass_target(tiny_sd, noisy, "A photo of zebra", s.t, s.n, s.g, g)
    torch.testing.assert_close(res.noisy, noisy)
    torch.testing.assert_close(res.images, expect)  # one SGD step, lr·λ = 1 ⇒ x′
    rec = res.record()
    assert rec["random_prior"] is True and rec["weights"]["model"] == "sd"
    assert rec["settings"]["t"] == 100 and rec["settings"]["prompt"] == "A photo of zebra"
    # same seed → same images
    torch.testing.assert_close(
        enhance_images(images, fg, tiny_sd, cfg, gen(4), cls="zebra"), res.images
    )


def test_enhancing_together_equals_enhancing_alone(tiny_sd):
    """Three images with a stream each, in DASS calls of two: each equals that image enhanced on
    its own (its noise exactly; its image up to the UNet's batch-size float noise)."""
    imgs = torch.rand(3, 3, 32, 32, generator=gen(7))
    fg = half_masks(3, 32, 32)
    cfg = GuidanceConfig(image_size=None, enhance=EnhanceSettings(n=2, batch_size=2))
    together = enhance(imgs, fg, tiny_sd, cfg, GeneratorGroup([gen(s) for s in (1, 2, 3)]),
                       cls="zebra")  # fmt: skip
    for k, s in enumerate((1, 2, 3)):
        alone = enhance(imgs[k : k + 1], fg[k : k + 1], tiny_sd, cfg, gen(s), cls="zebra")
        assert torch.equal(together.noisy[k], alone.noisy[0])
        torch.testing.assert_close(together.images[k], alone.images[0], atol=1e-4, rtol=0)
    # the streams really differ: a group that reused one stream would make equal noise
    assert not torch.equal(together.noisy[0] - imgs[0], together.noisy[1] - imgs[1])
    with pytest.raises(ValueError, match="2 generators for 3 images"):
        enhance(imgs, fg, tiny_sd, cfg, GeneratorGroup([gen(1), gen(2)]), cls="zebra")


def test_enhance_partial_step_and_resizing(tiny_sd):
    x = torch.rand(3, 3, 48, 48, generator=gen(0))
    fg = torch.ones(3, 48, 48, dtype=torch.bool)  # no background noise
    s = EnhanceSettings(n=1, lr=0.5, batch_size=2)
    res = enhance(x, fg, tiny_sd, s, gen(1), prompt="A photo of a horse", image_size=64)
    assert res.images.shape == x.shape and torch.equal(res.noisy, x)
    # batch 1 (2 images) reproduced by hand: half a step towards x′ at 64², resized back
    g = gen(1)
    torch.randn(x.shape, generator=g)  # the (masked-out) noise draw
    x64 = resize_for_prior(x[:2], 64)
    t = dass_target(tiny_sd, x64, "A photo of a horse", s.t, s.n, s.g, g)
    half = resize_for_prior(0.5 * x64 + 0.5 * t, None)
    back = torch.nn.functional.interpolate(
        half, size=(48, 48), mode="bilinear", align_corners=False
    )
    torch.testing.assert_close(res.images[:2], back)
    with pytest.raises(ValueError, match="cls="):
        enhance(x, fg, tiny_sd, s, gen(1))


def test_contact_sheet_layout():
    before = torch.rand(3, 3, 16, 16, generator=gen(0))
    after = torch.rand(3, 3, 16, 16, generator=gen(1))
    sheet = contact_sheet(before, after, cols=2, pad=2)
    assert sheet.dtype == np.uint8 and sheet.shape == (2 * 2 * 18 + 2, 2 * 18 + 2, 3)
    to8 = lambda t: (t.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()  # noqa: E731
    # image 2 sits in the second chunk, first column: its before row then its after row
    assert np.array_equal(sheet[2 + 2 * 18 : 2 + 2 * 18 + 16, 2:18], to8(before[2]))
    assert np.array_equal(sheet[2 + 3 * 18 : 2 + 3 * 18 + 16, 2:18], to8(after[2]))
    assert (sheet[2 + 2 * 18 :, 20:] == 255).all()  # empty cell stays white
    # arrays (B, H, W, 3) and thumbnails
    big = np.random.default_rng(0).random((2, 300, 200, 3)).astype(np.float32)
    s2 = contact_sheet(big, big, thumb=100)
    assert s2.shape == (2 * 102 + 2, 2 * (67 + 2) + 2, 3)
    with pytest.raises(ValueError, match="differ"):
        contact_sheet(before, after[:2])


def test_write_png_atomic_round_trip(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    path = write_png_atomic(tmp_path / "sub" / "sheet.png", img)
    assert np.array_equal(np.asarray(Image.open(path)), img)
    assert sorted(p.name for p in path.parent.iterdir()) == ["sheet.png"]
    with pytest.raises(ValueError, match="uint8"):
        write_png_atomic(tmp_path / "bad.png", img.astype(np.float32))
    assert not (tmp_path / "bad.png").exists()


def test_keep_foreground_pastes_only_the_background():
    from artic3d_core.guidance.config import EnhanceSettings
    from artic3d_core.guidance.enhance import enhance
    from artic3d_core.guidance.stable_diffusion import StableDiffusion
    from artic3d_core.weights import WeightsConfig, load_stable_diffusion

    sd = StableDiffusion(load_stable_diffusion(WeightsConfig(profile="tiny")))
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    fg = torch.zeros(2, 32, 32, dtype=torch.bool)
    fg[:, 8:24, 8:24] = True
    s = EnhanceSettings(n=1, keep_foreground=True)
    out = enhance(x, fg, sd, s, torch.Generator().manual_seed(1), cls="zebra", image_size=32)
    assert torch.allclose(out.images[:, :, fg[0]], x[:, :, fg[0]])
    assert not torch.allclose(out.images[:, :, ~fg[0]], x[:, :, ~fg[0]])
