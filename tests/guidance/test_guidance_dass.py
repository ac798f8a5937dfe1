"""DASS and SDS against known answers with the tiny random prior (CPU)."""

from __future__ import annotations

import pytest
import torch

from artic3d_core.guidance.base import GuidanceOutput, NoGuidance, build_guidance, format_prompt
from artic3d_core.guidance.config import DassSettings, GuidanceConfig, SdsSettings, TDassSettings
from artic3d_core.guidance.dass import (
    DassGuidance,
    dass_latent_grad,
    dass_target,
    latent_step,
    update_latents,
)
from artic3d_core.guidance.sds import SdsGuidance, sds_latent_grad
from artic3d_core.weights import WeightsConfig

PROMPT = "A photo of zebra"


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def manual_steps(sd, z, t, n, g, generator, clip=1.0, sequential=True):
    """The n clipped DASS steps computed one by one, independently of the library."""
    a = sd.alphas_cumprod[t]
    cur = z.clone()
    steps = []
    for _ in range(n):
        base = cur if sequential else z
        eps = torch.randn(z.shape, generator=generator)
        z_t = a.sqrt() * base + (1 - a).sqrt() * eps
        eps_hat = sd.predict_noise(z_t, t, PROMPT, g)
        step = 0.5 * ((1 - a) * (eps_hat - eps)).clamp(-clip, clip)
        steps.append(step)
        cur = cur - step
    return steps, cur


def test_dass_with_no_steps_is_vae_round_trip(tiny_sd, images):
    target = dass_target(tiny_sd, images, PROMPT, t=250, n=0, g=12.0, generator=gen(5))
    with torch.no_grad():
        expect = tiny_sd.decode(tiny_sd.encode(images, gen(5))).clamp(0, 1)
    torch.testing.assert_close(target, expect)
    # a different posterior sample gives a different round trip: the generator is really used
    other = dass_target(tiny_sd, images, PROMPT, t=250, n=0, g=12.0, generator=gen(6))
    assert (other - target).abs().max() > 1e-4


@pytest.mark.parametrize("clip", [1.0, 0.05])
def test_accumulated_update_is_sum_of_sequential_clipped_steps(tiny_sd, images, clip):
    with torch.no_grad():
        z = tiny_sd.encode(images, gen(1)).float()
    total = dass_latent_grad(tiny_sd, z, PROMPT, t=250, n=3, g=12.0, generator=gen(2), clip=clip)
    steps, final = manual_steps(tiny_sd, z, 250, 3, 12.0, gen(2), clip=clip)
    torch.testing.assert_close(total, sum(steps), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(z - total, final, atol=1e-6, rtol=1e-5)
    for s in steps:
        assert s.abs().max() <= 0.5 * clip + 1e-7
    if clip < 1.0:  # the clip is active: some steps sit on the bound
        assert (steps[0].abs() >= 0.5 * clip - 1e-7).float().mean() > 0.1
    # sequential (re-noising the updated latent) differs from n steps on the same z
    parallel, _ = manual_steps(tiny_sd, z, 250, 3, 12.0, gen(2), clip=clip, sequential=False)
    assert (sum(parallel) - total).abs().max() > 1e-5


def test_update_latents_is_z_minus_accumulated_grad(tiny_sd, images):
    with torch.no_grad():
        z = tiny_sd.encode(images, gen(1)).float()
    s = TDassSettings()
    z_hat = update_latents(tiny_sd, z, PROMPT, s, gen(3))
    grad = dass_latent_grad(tiny_sd, z, PROMPT, t=s.t, n=s.n, g=s.g, generator=gen(3))
    assert z_hat.shape == z.shape and not z_hat.requires_grad
    torch.testing.assert_close(z_hat, z - grad)
    assert grad.abs().max() > 0


def test_dass_target_decodes_the_updated_latent(tiny_sd, images):
    target = dass_target(tiny_sd, images, PROMPT, t=250, n=2, g=12.0, generator=gen(7))
    g = gen(7)
    with torch.no_grad():
        z = tiny_sd.encode(images, g).float()
        _, final = manual_steps(tiny_sd, z, 250, 2, 12.0, g)
        expect = tiny_sd.decode(final).clamp(0, 1)
    torch.testing.assert_close(target, expect, atol=1e-5, rtol=1e-4)
    assert target.min() >= 0 and target.max() <= 1


def test_dass_injected_gradient_is_lambda_x_minus_target(tiny_sd, images):
    lam = 0.37
    guid = DassGuidance(tiny_sd, DassSettings(weight=lam), image_size=None)
    x = images.clone().requires_grad_(True)
    out = guid.compute(x, PROMPT, gen(11))
    out.loss.backward()
    assert not out.target.requires_grad
    torch.testing.assert_close(x.grad, lam * (images - out.target))
    # gradient of (λ/2)·‖x − x′‖² with x′ held fixed, via autograd on an independent surrogate
    x2 = images.clone().requires_grad_(True)
    (0.5 * lam * (x2 - out.target.detach()).square().sum()).backward()
    torch.testing.assert_close(x.grad, x2.grad)
    torch.testing.assert_close(out.loss, 0.5 * lam * (images - out.target).square().sum())
    # the target is the one dass_target gives for the same seed
    s = guid.settings
    torch.testing.assert_close(
        out.target, dass_target(tiny_sd, images, PROMPT, s.t, s.n, s.g, gen(11))
    )


def test_same_seed_same_target_other_seed_other_target(tiny_sd, images):
    guid = DassGuidance(tiny_sd, DassSettings(), image_size=None)
    a = guid.compute(images, PROMPT, gen(3)).target
    b = guid.compute(images, PROMPT, gen(3)).target
    c = guid.compute(images, PROMPT, gen(4)).target
    assert torch.equal(a, b)
    assert (a - c).abs().max() > 1e-4


def test_sds_gradient_flows_through_encoder_and_dass_does_not(tiny_sd, images):
    param = tiny_sd.c.vae.encoder.conv_in.weight
    assert not param.requires_grad  # the prior is frozen
    param.requires_grad_(True)
    try:
        # DASS: no graph through the encoder
        x = images.clone().requires_grad_(True)
        out = DassGuidance(tiny_sd, DassSettings(), image_size=None).compute(x, PROMPT, gen(0))
        assert not out.target.requires_grad and not out.latent_grad.requires_grad
        out.loss.backward()
        assert param.grad is None
        assert x.grad is not None and x.grad.abs().max() > 0

        # SDS: the latent gradient is back-propagated through E into the encoder and the images
        x = images.clone().requires_grad_(True)
        sds = SdsGuidance(tiny_sd, SdsSettings(t=250, n=2), image_size=None)
        out = sds.compute(x, PROMPT, gen(0))
        assert out.loss.requires_grad and out.target is None
        out.loss.backward()
        assert param.grad is not None and param.grad.abs().max() > 0
        # known answer: x.grad = (∂z/∂x)ᵀ·latent_grad, with z the same posterior sample
        x2 = images.clone().requires_grad_(True)
        z = tiny_sd.encode(x2, gen(0))
        (expect,) = torch.autograd.grad(z, x2, grad_outputs=out.latent_grad)
        torch.testing.assert_close(x.grad, expect, atol=1e-6, rtol=1e-4)
    finally:
        param.requires_grad_(False)
        param.grad = None


def test_sds_latent_grad_is_mean_of_clipped_steps_on_same_z(tiny_sd, images):
    with torch.no_grad():
        z = tiny_sd.encode(images, gen(1)).float()
    got = sds_latent_grad(tiny_sd, z, PROMPT, t=200, n=3, g=15.0, weight=0.5, generator=gen(9))
    g = gen(9)
    expect = sum(latent_step(tiny_sd, z, PROMPT, t=200, g=15.0, generator=g) for _ in range(3))
    torch.testing.assert_close(got, 0.5 * expect / 3)
    steps, _ = manual_steps(tiny_sd, z, 200, 3, 15.0, gen(9), sequential=False)
    torch.testing.assert_close(got, 0.5 * 2 * sum(steps) / 3, atol=1e-6, rtol=1e-5)


def test_sds_random_timestep_in_range_and_seeded(tiny_sd):
    sds = SdsGuidance(tiny_sd, SdsSettings(t=None, t_min=20, t_max=500), image_size=None)
    ts = [sds.sample_t(gen(i)) for i in range(50)]
    assert all(20 <= t <= 500 for t in ts) and len(set(ts)) > 10
    assert sds.sample_t(gen(3)) == sds.sample_t(gen(3))
    assert SdsGuidance(tiny_sd, SdsSettings(t=123), None).sample_t(gen(0)) == 123


def test_resize_to_prior_size_keeps_input_shape_gradient(tiny_sd):
    x = torch.rand(1, 3, 40, 40, generator=gen(0), requires_grad=True)
    out = DassGuidance(tiny_sd, DassSettings(n=1), image_size=64).compute(x, PROMPT, gen(1))
    assert out.target.shape == (1, 3, 64, 64)
    out.loss.backward()
    assert x.grad.shape == x.shape and x.grad.abs().max() > 0


def test_none_guidance_is_zero(images):
    x = images.clone().requires_grad_(True)
    out = NoGuidance().compute(x, PROMPT)
    out.loss.backward()
    assert float(out.loss.detach()) == 0.0 and torch.count_nonzero(x.grad) == 0
    assert out.weights is None and not out.random_prior


def test_build_guidance_by_name_records_random_prior(tiny_sd, images):
    cfg = GuidanceConfig(image_size=None)
    wcfg = WeightsConfig(profile="tiny")
    for name, cls in (("dass", DassGuidance), ("sds", SdsGuidance), ("none", NoGuidance)):
        guid = build_guidance(name, cfg, wcfg, "cpu", sd=tiny_sd)
        assert isinstance(guid, cls) and guid.name == name
        out = guid.compute(images.clone().requires_grad_(True), PROMPT, gen(0))
        assert isinstance(out, GuidanceOutput)
        rec = out.record()
        if name == "none":
            assert rec["weights"] is None
        else:
            assert rec["random_prior"] is True and rec["weights"]["profile"] == "tiny"
            assert rec["settings"]["prompt"] == PROMPT
    with pytest.raises(ValueError, match="valid: dass, sds, none"):
        build_guidance("dss", cfg, wcfg, "cpu", sd=tiny_sd)


def test_bad_input_gives_clear_errors(tiny_sd):
    guid = DassGuidance(tiny_sd, DassSettings(), image_size=None)
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        guid.compute(torch.rand(3, 64, 64), PROMPT)
    with pytest.raises(ValueError, match="multiples of 8"):
        guid.compute(torch.rand(1, 3, 60, 60), PROMPT)
    with pytest.raises(ValueError, match="timestep"):
        dass_target(tiny_sd, torch.rand(1, 3, 64, 64), PROMPT, t=1000, n=1, g=1.0)


def test_format_prompt():
    assert format_prompt("A photo of {cls}", "horse-riding") == "A photo of horse-riding"
    assert format_prompt("A photo of {species}", "horse-riding") == "A photo of horse"
    with pytest.raises(ValueError, match="only"):
        format_prompt("A photo of {animal}", "zebra")


def test_prior_is_fp32_on_cpu_and_caches_prompt_embeddings(tiny_sd):
    assert tiny_sd.dtype == torch.float32  # the fixture asked for fp16: GPU only
    assert tiny_sd.text_embeddings(PROMPT) is tiny_sd.text_embeddings(PROMPT)
    assert tiny_sd.info.random and tiny_sd.info.profile == "tiny"
