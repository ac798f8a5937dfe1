"""Input enhancement for noisy web images (docs/method.md §2.2 step 3, §8.3 row 1).

Per image: background noise I ← clamp(I + 0.05·ε·(1 − M_fg), 0, 1) with ε ~ N(0, I); resize to
the prior's size (512²); one DASS call (t = 100, n = 10, g = 12, λ = 1) and one SGD step of
lr 1 on the image, i.e. x ← x − lr·λ(x − x′) = x′; bilinearly resize back to the input size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from artic3d_core.guidance.config import EnhanceSettings, GuidanceConfig
from artic3d_core.guidance.dass import dass_target
from artic3d_core.guidance.interface import check_images, format_prompt, resize_for_prior
from artic3d_core.guidance.stable_diffusion import StableDiffusion
from artic3d_core.seeding import Gen, GeneratorGroup, randn
from artic3d_core.weights import WeightsInfo


@dataclass
class EnhanceResult:
    """Enhanced images (B, 3, H, W) in [0, 1], the noised inputs, and what made them."""

    images: torch.Tensor
    noisy: torch.Tensor
    weights: WeightsInfo
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def random_prior(self) -> bool:
        return self.weights.random

    def record(self) -> dict[str, Any]:
        """JSON-able provenance for the preprocessing artifact."""
        return {
            "n_images": int(self.images.shape[0]),
            "settings": dict(self.settings),
            "weights": self.weights.as_dict(),
            "random_prior": self.random_prior,
        }


def add_background_noise(
    images: torch.Tensor, fg: torch.Tensor, sigma: float, generator: Gen
) -> torch.Tensor:
    """I + σ·ε·(1 − M_fg), clamped to [0, 1]; ``fg`` (B, H, W) bool (resized nearest if needed).
    A generator group draws each image's ε from its own stream."""
    check_images(images)
    if fg.ndim != 3 or fg.shape[0] != images.shape[0]:
        raise ValueError(
            f"foreground masks: expected (B, H, W) with B = {images.shape[0]}, got {tuple(fg.shape)}"
        )
    m = fg.to(images.device, torch.float32)[:, None]
    if m.shape[-2:] != images.shape[-2:]:
        m = F.interpolate(m, size=images.shape[-2:], mode="nearest")
    eps = randn(tuple(images.shape), generator, images.device)
    return (images + sigma * eps * (1.0 - m)).clamp(0.0, 1.0)


def enhance(
    images: torch.Tensor,
    fg: torch.Tensor,
    sd: StableDiffusion,
    cfg: GuidanceConfig | EnhanceSettings,
    generator: Gen = None,
    *,
    cls: str | None = None,
    prompt: str | None = None,
    image_size: int | None = None,
) -> EnhanceResult:
    """Enhance a set of images (B, 3, H, W) in [0, 1] given rough FG masks (B, H, W) bool.

    The prompt is ``prompt`` or ``cfg.prompt`` filled with ``cls``. ``image_size`` (default:
    ``cfg.image_size`` of a GuidanceConfig, else 512) is the DASS resolution. Batches of
    ``batch_size`` images per DASS call; the result has the input's size, on the input's device.
    ``generator``: one stream for the set, or a :class:`~artic3d_core.seeding.GeneratorGroup`
    of one stream per image (each image then gets what enhancing it alone gives).
    """
    if isinstance(cfg, GuidanceConfig):
        size = image_size if image_size is not None else cfg.image_size
        s = cfg.enhance
    else:
        size = image_size if image_size is not None else 512
        s = cfg
    if prompt is None:
        if cls is None:
            raise ValueError("enhance: give the class name (cls=...) or an explicit prompt")
        prompt = format_prompt(s.prompt, cls)
    check_images(images)
    per_image = isinstance(generator, GeneratorGroup)
    if per_image and len(generator) != images.shape[0]:
        raise ValueError(f"{len(generator)} generators for {images.shape[0]} images")
    noisy = add_background_noise(images.detach().float(), fg, s.bg_noise, generator)
    out = []
    for start in range(0, noisy.shape[0], s.batch_size):
        x = resize_for_prior(noisy[start : start + s.batch_size], size)
        gen = generator
        if per_image:
            gen = GeneratorGroup(generator.generators[start : start + s.batch_size])
        target = dass_target(
            sd, x, prompt, s.t, s.n, s.g, gen, step_scale=s.step_scale, clip=s.clip
        ).to(x.device)
        x = (x - s.lr * s.weight * (x - target)).clamp(0.0, 1.0)
        if x.shape[-2:] != images.shape[-2:]:
            x = F.interpolate(x, size=images.shape[-2:], mode="bilinear", align_corners=False)
        if s.keep_foreground:
            m = fg[start : start + s.batch_size].to(x)[:, None]
            x = m * images[start : start + s.batch_size].to(x) + (1 - m) * x
        out.append(x)
    settings = {**s.model_dump(), "prompt": prompt, "image_size": size}
    return EnhanceResult(torch.cat(out).clamp(0.0, 1.0), noisy, sd.info, settings)


def enhance_images(
    images: torch.Tensor,
    fg: torch.Tensor,
    sd: StableDiffusion,
    cfg: GuidanceConfig | EnhanceSettings,
    generator: Gen = None,
    *,
    cls: str | None = None,
    prompt: str | None = None,
) -> torch.Tensor:
    """Enhanced images only (B, 3, H, W); see :func:`enhance` for the provenance record."""
    return enhance(images, fg, sd, cfg, generator, cls=cls, prompt=prompt).images
