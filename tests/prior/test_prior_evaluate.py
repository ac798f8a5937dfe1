"""Held-out denoising loss and DDIM sampling against analytic answers: a prior whose data are all
at the latent origin has the exact noise estimate ε̂ = z_t / √(1 − ᾱ_t)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from artic3d_core.guidance.stable_diffusion import StableDiffusion
from artic3d_core.prior.evaluate import ddim_sample, denoising_loss
from artic3d_core.weights import SD_SCHEDULER, DiffusionComponents, WeightsInfo


class _Posterior:
    """A point mass at z: mean z, standard deviation 0."""

    def __init__(self, z: torch.Tensor) -> None:
        self.z, self.mean, self.std = z, z, torch.zeros_like(z)

    def sample(self, generator=None) -> torch.Tensor:
        return self.z


class _OriginVae(torch.nn.Module):
    """Every image encodes to the latent origin; decoding upsamples the latent's mean."""

    def encode(self, x):
        return SimpleNamespace(latent_dist=_Posterior(torch.zeros(x.shape[0], 4, 2, 2)))

    def decode(self, z):
        img = z.mean(1, keepdim=True).repeat(1, 3, 8, 8)
        return SimpleNamespace(sample=img)


class _Unet(torch.nn.Module):
    """ε̂ = z_t / √(1 − ᾱ_t) (exact when z_0 = 0), or zero."""

    def __init__(self, alphas_cumprod: torch.Tensor, exact: bool) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.ac, self.exact = alphas_cumprod, exact
        self.config = SimpleNamespace(in_channels=4)

    def forward(self, z, ts, encoder_hidden_states):
        eps = z / (1 - self.ac[ts]).sqrt().view(-1, 1, 1, 1) if self.exact else 0 * z
        return SimpleNamespace(sample=eps)


def _prior(exact: bool) -> StableDiffusion:
    from diffusers import DDPMScheduler

    sched = DDPMScheduler(**SD_SCHEDULER)
    comps = DiffusionComponents(
        unet=_Unet(sched.alphas_cumprod.float(), exact),
        vae=_OriginVae(),
        text_encoder=lambda ids: (torch.zeros(ids.shape[0], 77, 4),),
        tokenize=lambda prompts: torch.zeros(len(prompts), 77, dtype=torch.long),
        scheduler=sched,
        info=WeightsInfo("sd", "test", "stub", "stub", True),
        latent_scale=1.0,
    )
    return StableDiffusion(comps)


def test_denoising_loss_is_zero_for_the_exact_estimate_and_one_for_zero():
    x = torch.rand(6, 3, 16, 16)
    prompts = ["a"] * 3 + ["b"] * 3
    exact = denoising_loss(_prior(True), x, prompts, [100, 500, 900], repeats=2)
    assert all(v == pytest.approx(0.0, abs=1e-10) for v in exact.values())
    zero = denoising_loss(_prior(False), x, prompts, [100, 900], repeats=200)
    for v in zero.values():  # E‖ε‖² per element = 1; 200 · 6 · 16 draws
        assert v == pytest.approx(1.0, abs=0.03)
    with pytest.raises(ValueError, match="prompts"):
        denoising_loss(_prior(True), x, prompts[:2], [100])


def test_ddim_with_the_exact_estimate_lands_on_the_data():
    out = ddim_sample(_prior(True), "a", n=3, latent_size=2, steps=10, guidance=3.0)
    assert out.shape == (3, 3, 16, 16)
    assert torch.allclose(out, torch.full_like(out, 0.5), atol=1e-5)  # decode(0) = 0 / 2 + 0.5
