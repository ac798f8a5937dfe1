"""DASS: decoder-based accumulative score sampling (docs/method.md §8.2) and its latent-only
form (T-DASS).

Procedure for images x (B, 3, H, W) in [0, 1], prompt y, timestep t, steps n, guidance g:

1. z = E(x) — VAE posterior sample, no gradient through the encoder;
2. n times, each on the *current* latent with fresh noise ε:
   z_t = √ᾱ_t z + √(1 − ᾱ_t) ε;  ε̂ = ε̂_u + g(ε̂_c − ε̂_u);
   Δ = clip((1 − ᾱ_t)(ε̂ − ε), −c, c) (NaN → 0);  z ← z − s·Δ   (s = 0.5, c = 1);
   ∇z = Σ s·Δ (sequential, hence "accumulative");
3. x′ = clamp(D(z − ∇z), 0, 1);
4. surrogate loss (λ/2)·‖x − x′‖² summed over pixels with x′ detached ⇒ ∂L/∂x = λ(x − x′).
"""

from __future__ import annotations

import torch

from artic3d_core.guidance.config import DassSettings, LatentStepSettings
from artic3d_core.guidance.interface import (
    GuidanceOutput,
    check_images,
    resize_for_prior,
)
from artic3d_core.guidance.stable_diffusion import StableDiffusion
from artic3d_core.seeding import Gen
from artic3d_core.weights import WeightsInfo


def latent_step(
    sd: StableDiffusion,
    z: torch.Tensor,
    prompt: str,
    *,
    t: int | torch.Tensor,
    g: float,
    generator: Gen = None,
    clip: float = 1.0,
) -> torch.Tensor:
    """One clipped score step Δ = clip((1 − ᾱ_t)(ε̂(z_t) − ε), ±clip) for latents (B, 4, h, w)
    (``t``: one timestep, or a (B,) tensor of them)."""
    with torch.no_grad():
        eps = sd.randn(tuple(z.shape), generator)
        z_t = sd.add_noise(z, eps, t)
        eps_hat = sd.predict_noise(z_t, t, prompt, g)
        w = 1.0 - sd.alpha_bar(t, z)
        delta = torch.nan_to_num(w * (eps_hat - eps), nan=0.0, posinf=clip, neginf=-clip)
        return delta.clamp(-clip, clip)


def dass_latent_grad(
    sd: StableDiffusion,
    z: torch.Tensor,
    prompt: str,
    *,
    t: int,
    n: int,
    g: float,
    generator: Gen = None,
    step_scale: float = 0.5,
    clip: float = 1.0,
) -> torch.Tensor:
    """Accumulated latent update ∇z = Σ_i step_scale·Δ_i over n sequential re-noised steps.

    ``z``: (B, 4, h, w) scaled latents. Returns float32 (B, 4, h, w), without gradient.
    """
    with torch.no_grad():
        cur = z.detach().float()
        total = torch.zeros_like(cur)
        for _ in range(n):
            step = step_scale * latent_step(
                sd, cur, prompt, t=t, g=g, generator=generator, clip=clip
            )
            cur = cur - step
            total = total + step
        return total


def update_latents(
    sd: StableDiffusion,
    z: torch.Tensor,
    prompt: str,
    settings: LatentStepSettings,
    generator: Gen = None,
) -> torch.Tensor:
    """T-DASS latent targets ẑ = z − ∇z (docs/method.md §8.3 row 3): (B, 4, h, w), no decode,
    no gradient.

    ``prompt`` is the filled prompt (see :func:`format_prompt` with ``settings.prompt``).
    """
    grad = dass_latent_grad(
        sd,
        z,
        prompt,
        t=settings.t,
        n=settings.n,
        g=settings.g,
        generator=generator,
        step_scale=settings.step_scale,
        clip=settings.clip,
    )
    return z.detach().float() - grad


def dass_target(
    sd: StableDiffusion,
    images: torch.Tensor,
    prompt: str,
    t: int,
    n: int,
    g: float,
    generator: Gen = None,
    *,
    step_scale: float = 0.5,
    clip: float = 1.0,
) -> torch.Tensor:
    """Decoded DASS target x′ = clamp(D(E(x) − ∇z), 0, 1) for images (B, 3, H, W), H, W % 8 = 0.

    Returns float32 (B, 3, H, W) without gradient. With n = 0 this is clamp(D(E(x))).
    """
    target, _ = _target_and_grad(sd, images, prompt, t, n, g, generator, step_scale, clip)
    return target


def _target_and_grad(
    sd: StableDiffusion,
    images: torch.Tensor,
    prompt: str,
    t: int,
    n: int,
    g: float,
    generator: Gen,
    step_scale: float,
    clip: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    check_images(images)
    if not 0 < t < len(sd.alphas_cumprod):
        raise ValueError(f"DASS timestep t={t} outside 1..{len(sd.alphas_cumprod) - 1}")
    with torch.no_grad():
        z = sd.encode(images.detach().to(sd.device), generator).float()
        grad = dass_latent_grad(
            sd, z, prompt, t=t, n=n, g=g, generator=generator, step_scale=step_scale, clip=clip
        )
        target = sd.decode(z - grad).clamp(0.0, 1.0).float()
    return target, grad


class DassGuidance:
    """DASS as a :class:`~artic3d_core.guidance.interface.Guidance` (3D distillation,
    docs/method.md §6.13)."""

    name = "dass"

    def __init__(
        self, sd: StableDiffusion, settings: DassSettings, image_size: int | None = 512
    ) -> None:
        self.sd = sd
        self.settings = settings
        self.image_size = image_size

    @property
    def info(self) -> WeightsInfo:
        return self.sd.info

    def compute(self, images: torch.Tensor, prompt: str, generator: Gen = None) -> GuidanceOutput:
        """Surrogate (λ/2)·‖x − x′‖² (sum) on the images resized to ``image_size``."""
        check_images(images)
        s = self.settings
        x = resize_for_prior(images, self.image_size)
        target, grad = _target_and_grad(
            self.sd, x, prompt, s.t, s.n, s.g, generator, s.step_scale, s.clip
        )
        target = target.to(x.device)
        per_image = 0.5 * s.weight * (x.float() - target).square().flatten(1).sum(1)
        return GuidanceOutput(
            "dass",
            per_image.sum(),
            target=target,
            latent_grad=grad,
            t=s.t,
            per_image=per_image,
            weights=self.sd.info,
            settings={**s.model_dump(), "prompt": prompt, "image_size": self.image_size},
        )

    def loss(self, images: torch.Tensor, prompt: str, generator: Gen = None) -> torch.Tensor:
        return self.compute(images, prompt, generator).loss
