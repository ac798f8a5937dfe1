"""Diffusion guidances registered by name (``dass`` | ``sds`` | ``none``) and built from config.

Each entry maps a name to a builder ``(guidance_cfg, prior) -> Guidance``; ``prior()`` returns
the Stable Diffusion stack, loaded only when a builder asks for it (``none`` never does). A new
method is one more :func:`register` here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch

from artic3d_core.guidance.config import GuidanceConfig
from artic3d_core.guidance.dass import DassGuidance
from artic3d_core.guidance.interface import Guidance, GuidanceOutput, check_images
from artic3d_core.guidance.sds import SdsGuidance
from artic3d_core.guidance.stable_diffusion import StableDiffusion, load_prior
from artic3d_core.seeding import Gen
from artic3d_core.weights import WeightsConfig, WeightsInfo

GuidanceName = Literal["dass", "sds", "none"]
GuidanceBuilder = Callable[[GuidanceConfig, Callable[[], StableDiffusion]], Guidance]

_REGISTRY: dict[str, GuidanceBuilder] = {}


def register(name: str) -> Callable[[GuidanceBuilder], GuidanceBuilder]:
    """Register ``builder`` as the guidance called ``name``."""

    def add(builder: GuidanceBuilder) -> GuidanceBuilder:
        if name in _REGISTRY:
            raise ValueError(f"guidance {name!r} is already registered")
        _REGISTRY[name] = builder
        return builder

    return add


class NoGuidance:
    """``none``: contributes nothing (zero loss, zero gradient)."""

    name = "none"

    @property
    def info(self) -> WeightsInfo | None:
        return None

    def compute(self, images: torch.Tensor, prompt: str, generator: Gen = None) -> GuidanceOutput:
        check_images(images)
        zero = images.flatten(1).sum(1) * 0.0
        return GuidanceOutput("none", zero.sum(), per_image=zero)

    def loss(self, images: torch.Tensor, prompt: str, generator: Gen = None) -> torch.Tensor:
        return self.compute(images, prompt, generator).loss


@register("dass")
def _dass(cfg: GuidanceConfig, prior: Callable[[], StableDiffusion]) -> Guidance:
    return DassGuidance(prior(), cfg.dass, cfg.image_size)


@register("sds")
def _sds(cfg: GuidanceConfig, prior: Callable[[], StableDiffusion]) -> Guidance:
    return SdsGuidance(prior(), cfg.sds, cfg.image_size)


@register("none")
def _none(cfg: GuidanceConfig, prior: Callable[[], StableDiffusion]) -> Guidance:
    return NoGuidance()


GUIDANCE_NAMES: tuple[str, ...] = tuple(_REGISTRY)


def build_guidance(
    name: str,
    guidance_cfg: GuidanceConfig,
    weights_cfg: WeightsConfig,
    device: torch.device | str = "cpu",
    sd: StableDiffusion | None = None,
) -> Guidance:
    """The guidance called ``name`` with its settings from ``guidance_cfg``.

    ``dass`` uses ``guidance_cfg.dass`` (3D distillation), ``sds`` uses ``guidance_cfg.sds``.
    The SD prior is built from ``weights_cfg`` (precision ``guidance_cfg.precision`` on GPU, fp32
    on CPU) unless an already-built ``sd`` is passed (share one prior between uses).
    """
    builder = _REGISTRY.get(name)
    if builder is None:
        raise ValueError(f"unknown guidance {name!r}; valid: {', '.join(_REGISTRY)}")

    def prior() -> StableDiffusion:
        return sd if sd is not None else load_prior(weights_cfg, device, guidance_cfg.precision)

    return builder(guidance_cfg, prior)
