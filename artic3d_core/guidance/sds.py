"""Encoder-back-propagated SDS, the Hi-LASSIE+ baseline (docs/method.md §8.4).

z = E(x) *with* gradient; t fixed or t ~ U{t_min..t_max} (one per call); n noise samples on the
same z (not sequential); each gives clip((1 − ᾱ_t)(ε̂ − ε), ±c); the latent gradient is λ·mean
of them. The surrogate loss (grad.detach()·z).sum() has ∂/∂z = grad, which autograd carries
through the VAE encoder to the images.
"""

from __future__ import annotations

import torch

from artic3d_core.guidance.config import SdsSettings
from artic3d_core.guidance.dass import latent_step
from artic3d_core.guidance.interface import GuidanceOutput, check_images, resize_for_prior
from artic3d_core.guidance.stable_diffusion import StableDiffusion
from artic3d_core.seeding import Gen, randint
from artic3d_core.weights import WeightsInfo


def sds_latent_grad(
    sd: StableDiffusion,
    z: torch.Tensor,
    prompt: str,
    *,
    t: int | torch.Tensor,
    n: int,
    g: float,
    weight: float,
    generator: Gen = None,
    clip: float = 1.0,
) -> torch.Tensor:
    """λ·mean over n noise samples of clip((1 − ᾱ_t)(ε̂ − ε)) on the same z: (B, 4, h, w), float32."""
    with torch.no_grad():
        zd = z.detach().float()
        total = torch.zeros_like(zd)
        for _ in range(n):
            total = total + latent_step(sd, zd, prompt, t=t, g=g, generator=generator, clip=clip)
        return weight * total / max(n, 1)


class SdsGuidance:
    """SDS as a :class:`~artic3d_core.guidance.interface.Guidance`."""

    name = "sds"

    def __init__(
        self, sd: StableDiffusion, settings: SdsSettings, image_size: int | None = 512
    ) -> None:
        self.sd = sd
        self.settings = settings
        self.image_size = image_size

    @property
    def info(self) -> WeightsInfo:
        return self.sd.info

    def sample_t(self, generator: Gen, batch: int = 1) -> int | torch.Tensor:
        """The configured t, or t ~ U{t_min..t_max} drawn from ``generator`` (from a generator
        group: one per stream, as a (batch,) tensor over the stream's images)."""
        s = self.settings
        if s.t is not None:
            return s.t
        return randint(s.t_min, s.t_max + 1, generator, batch)

    def compute(self, images: torch.Tensor, prompt: str, generator: Gen = None) -> GuidanceOutput:
        check_images(images)
        s = self.settings
        x = resize_for_prior(images, self.image_size)
        z = self.sd.encode(x.to(self.sd.device), generator)  # with gradient through E
        t = self.sample_t(generator, x.shape[0])
        grad = sds_latent_grad(
            self.sd, z, prompt, t=t, n=s.n, g=s.g, weight=s.weight, generator=generator, clip=s.clip
        )
        per_image = (grad * z.float()).flatten(1).sum(1)
        return GuidanceOutput(
            "sds",
            per_image.sum(),
            latent_grad=grad,
            t=t.tolist() if isinstance(t, torch.Tensor) else t,
            per_image=per_image,
            weights=self.sd.info,
            settings={**s.model_dump(), "prompt": prompt, "image_size": self.image_size},
        )

    def loss(self, images: torch.Tensor, prompt: str, generator: Gen = None) -> torch.Tensor:
        return self.compute(images, prompt, generator).loss
