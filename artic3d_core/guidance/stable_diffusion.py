"""Stable Diffusion wrapper: text embeddings, VAE encode/decode, classifier-free-guided UNet.

Used by every guidance method (DASS, SDS) and by T-DASS. Images are (B, 3, H, W) in [0, 1];
latents are (B, 4, H/8, W/8) already multiplied by the latent scale 0.18215 (docs/method.md §8.1).
"""

from __future__ import annotations

import torch

from artic3d_core import seeding
from artic3d_core.device import autocast_dtype
from artic3d_core.weights import DiffusionComponents, WeightsConfig, load_stable_diffusion


class StableDiffusion:
    """A frozen SD stack plus a per-prompt cache of [uncond; cond] text embeddings."""

    def __init__(self, components: DiffusionComponents, device: torch.device | str = "cpu"):
        self.c = components
        self.device = torch.device(device)
        self.dtype = next(components.unet.parameters()).dtype
        self.alphas_cumprod = components.scheduler.alphas_cumprod.to(self.device, torch.float32)
        self._emb_cache: dict[str, torch.Tensor] = {}

    @property
    def info(self):
        return self.c.info

    @property
    def vae_encoder_parameters(self) -> list[torch.nn.Parameter]:
        """Parameters of the VAE encoder (tests check whether gradients reach them)."""
        params = list(self.c.vae.encoder.parameters())
        if getattr(self.c.vae, "quant_conv", None) is not None:
            params += list(self.c.vae.quant_conv.parameters())
        return params

    def randn(self, shape: tuple[int, ...], generator: seeding.Gen) -> torch.Tensor:
        """Float32 N(0, I) noise on this device, drawn on ``generator``'s device (CPU or GPU);
        a :class:`~artic3d_core.seeding.GeneratorGroup` draws each chunk from its own stream."""
        return seeding.randn(shape, generator, self.device)

    @torch.no_grad()
    def text_embeddings(self, prompt: str) -> torch.Tensor:
        """(2, 77, D) embeddings [uncond (empty string); cond], cached per prompt."""
        if prompt not in self._emb_cache:
            ids = self.c.tokenize(["", prompt]).to(self.device)
            emb = self.c.text_encoder(ids)[0]
            self._emb_cache[prompt] = emb.to(self.dtype)
        return self._emb_cache[prompt]

    def encode(self, x: torch.Tensor, generator: seeding.Gen = None) -> torch.Tensor:
        """Images (B, 3, H, W) in [0, 1] → scaled latents (B, 4, H/8, W/8): the posterior sample
        mean + std·ε, ε from :meth:`randn` (per stream for a generator group)."""
        post = self.c.vae.encode((2 * x - 1).to(self.dtype)).latent_dist
        eps = self.randn(tuple(post.mean.shape), generator).to(post.mean.dtype)
        return (post.mean + post.std * eps) * self.c.latent_scale

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Scaled latents → images in [0, 1] (not clamped)."""
        img = self.c.vae.decode((z / self.c.latent_scale).to(self.dtype)).sample
        return img.float() / 2 + 0.5

    def alpha_bar(self, t: int | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """ᾱ_t as a scalar, or per item (B, 1, 1, 1) for a (B,) tensor of timesteps."""
        if isinstance(t, torch.Tensor):
            return self.alphas_cumprod[t.to(self.device)].reshape(-1, *[1] * (like.ndim - 1))
        return self.alphas_cumprod[t]

    def add_noise(
        self, z: torch.Tensor, noise: torch.Tensor, t: int | torch.Tensor
    ) -> torch.Tensor:
        """z_t = √ᾱ_t z + √(1 − ᾱ_t) ε (``t``: one timestep, or one per item)."""
        a = self.alpha_bar(t, z)
        return a.sqrt() * z + (1 - a).sqrt() * noise

    @torch.no_grad()
    def predict_noise(
        self, z_t: torch.Tensor, t: int | torch.Tensor, prompt: str, guidance: float
    ) -> torch.Tensor:
        """Classifier-free guided ε̂ = ε̂_u + g (ε̂_c − ε̂_u) for latents (B, 4, h, w) at one
        timestep ``t`` or one per item ((B,) tensor)."""
        B = z_t.shape[0]
        emb = self.text_embeddings(prompt)
        cond = torch.cat([emb[:1].expand(B, -1, -1), emb[1:].expand(B, -1, -1)])
        inp = torch.cat([z_t, z_t]).to(self.dtype)
        if isinstance(t, torch.Tensor):
            ts = t.to(self.device, torch.long).repeat(2)
        else:
            ts = torch.full((2 * B,), t, device=self.device, dtype=torch.long)
        eps = self.c.unet(inp, ts, encoder_hidden_states=cond).sample.float()
        eps_u, eps_c = eps.chunk(2)
        return eps_u + guidance * (eps_c - eps_u)


def load_prior(
    weights_cfg: WeightsConfig, device: torch.device | str = "cpu", precision: str = "fp16"
) -> StableDiffusion:
    """Build the frozen SD prior for ``weights_cfg.profile`` on ``device``.

    ``precision`` (fp16 | bf16 | fp32) applies on GPU only; on CPU the prior is always fp32.
    """
    device = torch.device(device)
    dtype = autocast_dtype(device, precision)
    return StableDiffusion(load_stable_diffusion(weights_cfg, device, dtype), device)
