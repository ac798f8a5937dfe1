"""What a prior learnt: held-out ε-prediction loss per timestep, and DDIM samples per prompt.

Works on any :class:`~artic3d_core.guidance.stable_diffusion.StableDiffusion` stack (the
synthetic prior, the random tiny prior, real SD), each in its own latent space.
"""

from __future__ import annotations

import torch

from artic3d_core.guidance.stable_diffusion import StableDiffusion


@torch.no_grad()
def denoising_loss(
    sd: StableDiffusion,
    images: torch.Tensor,
    prompts: list[str],
    timesteps: list[int],
    seed: int = 0,
    repeats: int = 1,
) -> dict[int, float]:
    """Mean ‖ε̂(z_t, t, prompt) − ε‖² per element at each t, for images (N, 3, S, S) in [0, 1]
    with one prompt each (conditional prediction, no guidance); ``repeats`` noise draws per image.
    The same seed gives the same noise for every prior with the same latent shape."""
    if len(prompts) != images.shape[0]:
        raise ValueError(f"denoising_loss: {images.shape[0]} images but {len(prompts)} prompts")
    gen = torch.Generator().manual_seed(seed)
    z0 = sd.encode(images.to(sd.device), generator=gen)
    out: dict[int, float] = {}
    for t in timesteps:
        total, count = 0.0, 0
        for _ in range(repeats):
            noise = sd.randn(tuple(z0.shape), gen)
            z_t = sd.add_noise(z0, noise, t)
            for prompt in dict.fromkeys(prompts):
                idx = torch.tensor([i for i, p in enumerate(prompts) if p == prompt])
                eps = sd.predict_noise(z_t[idx], t, prompt, guidance=1.0)
                total += float(((eps - noise[idx]) ** 2).sum())
                count += eps.numel()
        out[t] = total / count
    return out


@torch.no_grad()
def ddim_sample(
    sd: StableDiffusion,
    prompt: str,
    n: int,
    latent_size: int,
    steps: int = 50,
    guidance: float = 3.0,
    seed: int = 0,
) -> torch.Tensor:
    """``n`` images (n, 3, H, W) in [0, 1] by deterministic DDIM (η = 0) with classifier-free
    guidance ``guidance``, from seeded Gaussian latents (n, C, latent_size, latent_size)."""
    gen = torch.Generator().manual_seed(seed)
    ch = sd.c.unet.config.in_channels
    z = sd.randn((n, ch, latent_size, latent_size), gen)
    T = len(sd.alphas_cumprod)
    ts = torch.linspace(T - 1, 0, steps).round().long().tolist()
    for i, t in enumerate(ts):
        a_t = sd.alphas_cumprod[t]
        eps = sd.predict_noise(z, t, prompt, guidance)
        z0 = (z - (1 - a_t).sqrt() * eps) / a_t.sqrt()
        a_prev = sd.alphas_cumprod[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0)
        z = a_prev.sqrt() * z0 + (1 - a_prev).sqrt() * eps
    return sd.decode(z).clamp(0, 1)
