"""The guidance contract every method implements, and the helpers the implementations share.

A guidance turns rendered images into a scalar *surrogate* loss whose gradient with respect to the
images is the method's injected gradient (docs/method.md §8.2, §8.4):

* ``dass``: (λ/2)·‖x − x′‖² summed over pixels, x′ detached ⇒ ∂/∂x = λ(x − x′);
* ``sds``: (g·z).sum() with the latent gradient g detached and z = E(x) *with* gradient, so the
  gradient reaches x through the VAE encoder;
* ``none``: zero (the graph is kept so ``backward`` still works).

The optimiser adds ``guidance.loss(renders, prompt, generator)`` to its objective. The methods
are built by name in :mod:`artic3d_core.guidance.registry`; implementations import this module
only, so the registry can import them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import torch
import torch.nn.functional as F

from artic3d_core.seeding import Gen
from artic3d_core.weights import WeightsInfo


@dataclass
class GuidanceOutput:
    """One guidance call.

    ``loss``: scalar surrogate (differentiable w.r.t. the images). ``target``: (B, 3, h, w)
    decoded DASS target x′ at the guidance resolution (None for SDS/none). ``latent_grad``:
    (B, 4, h/8, w/8) the latent update ∇z (DASS) or the SDS latent gradient (None for none).
    ``t``: the timestep used (a list, one per image, when a generator group drew one per
    stream). ``per_image``: (B,) each image's share of ``loss`` (their sum, differentiable like
    it), so that a batch of instances gets each instance's own guidance loss. ``weights``: the prior's
    WeightsInfo (None for none); ``random_prior`` is True when the prior had random weights.
    """

    name: str
    loss: torch.Tensor
    target: torch.Tensor | None = None
    latent_grad: torch.Tensor | None = None
    t: int | list[int] | None = None
    per_image: torch.Tensor | None = None
    weights: WeightsInfo | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def random_prior(self) -> bool:
        return bool(self.weights is not None and self.weights.random)

    def record(self) -> dict[str, Any]:
        """A JSON-able summary (no tensors) for artifacts and logs."""
        return {
            "guidance": self.name,
            "loss": float(self.loss.detach()),
            "t": self.t,
            "settings": dict(self.settings),
            "weights": self.weights.as_dict() if self.weights else None,
            "random_prior": self.random_prior,
        }


@runtime_checkable
class Guidance(Protocol):
    """A diffusion guidance. ``images``: (B, 3, H, W) in [0, 1], usually requiring grad."""

    name: str

    @property
    def info(self) -> WeightsInfo | None: ...

    def compute(self, images: torch.Tensor, prompt: str, generator: Gen = None) -> GuidanceOutput:
        """``generator``: one stream, or a :class:`~artic3d_core.seeding.GeneratorGroup` whose
        stream i serves the i-th equal chunk of the images (each instance of a batch draws
        what it would draw alone)."""
        ...

    def loss(self, images: torch.Tensor, prompt: str, generator: Gen = None) -> torch.Tensor: ...


def format_prompt(template: str, cls: str) -> str:
    """Fill a prompt template: ``{cls}`` = class name, ``{species}`` = the part before any '-'."""
    try:
        return template.format(cls=cls, species=cls.split("-")[0])
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"prompt template {template!r}: only {{cls}} and {{species}} may be used ({exc})"
        ) from None


def check_images(images: torch.Tensor, what: str = "images") -> None:
    """Raise a clear error unless ``images`` is a float (B, 3, H, W) tensor."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{what}: expected a torch.Tensor, got {type(images).__name__}")
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"{what}: expected shape (B, 3, H, W), got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"{what}: expected a float tensor in [0, 1], got {images.dtype}")


def resize_for_prior(images: torch.Tensor, size: int | None) -> torch.Tensor:
    """Bilinearly resize (B, 3, H, W) to (B, 3, size, size) (docs/method.md §8.1); identity if
    already so.

    Without a size, H and W must be multiples of 8 (the VAE's down-sampling).
    """
    if size is None:
        h, w = images.shape[-2:]
        if h % 8 or w % 8:
            raise ValueError(
                f"images of size {h}×{w}: the VAE needs multiples of 8 (set guidance.image_size)"
            )
        return images
    if tuple(images.shape[-2:]) == (size, size):
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
