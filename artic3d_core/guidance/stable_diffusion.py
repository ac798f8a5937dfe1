"""Stable Diffusion wrapper: text embeddings, VAE encode/decode, classifier-free-guided UNet.

Used by every guidance method (DASS, SDS) and by T-DASS. Images are (B, 3, H, W) in [0, 1];
latents are (B, 4, H/8, W/8) already multiplied by the latent scale 0.18215 (spec §8.1).
"""

from __future__ import annotations

import torch

from artic3d_core.weights import DiffusionComponents


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

    @torch.no_grad()
    def text_embeddings(self, prompt: str) -> torch.Tensor:
        """(2, 77, D) embeddings [uncond (empty string); cond], cached per prompt."""
        if prompt not in self._emb_cache:
            ids = self.c.tokenize(["", prompt]).to(self.device)
            emb = self.c.text_encoder(ids)[0]
            self._emb_cache[prompt] = emb.to(self.dtype)
        return self._emb_cache[prompt]

    def encode(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Images (B, 3, H, W) in [0, 1] → scaled latents (B, 4, H/8, W/8) (posterior sample)."""
        post = self.c.vae.encode((2 * x - 1).to(self.dtype)).latent_dist
        return post.sample(generator=generator) * self.c.latent_scale

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Scaled latents → images in [0, 1] (not clamped)."""
        img = self.c.vae.decode((z / self.c.latent_scale).to(self.dtype)).sample
        return img.float() / 2 + 0.5

    def add_noise(self, z: torch.Tensor, noise: torch.Tensor, t: int) -> torch.Tensor:
        """z_t = √ᾱ_t z + √(1 − ᾱ_t) ε."""
        a = self.alphas_cumprod[t]
        return a.sqrt() * z + (1 - a).sqrt() * noise

    @torch.no_grad()
    def predict_noise(
        self, z_t: torch.Tensor, t: int, prompt: str, guidance: float
    ) -> torch.Tensor:
        """Classifier-free guided ε̂ = ε̂_u + g (ε̂_c − ε̂_u) for latents (B, 4, h, w)."""
        B = z_t.shape[0]
        emb = self.text_embeddings(prompt)
        cond = torch.cat([emb[:1].expand(B, -1, -1), emb[1:].expand(B, -1, -1)])
        inp = torch.cat([z_t, z_t]).to(self.dtype)
        ts = torch.full((2 * B,), t, device=self.device, dtype=torch.long)
        eps = self.c.unet(inp, ts, encoder_hidden_states=cond).sample.float()
        eps_u, eps_c = eps.chunk(2)
        return eps_u + guidance * (eps_c - eps_u)
