"""CLIP similarity of a textured reconstruction (paper protocol, docs/method.md §10.3).

CLIP ViT-B/32 (open_clip, via :func:`artic3d_core.weights.load_clip`); the caller's render
function renders the instance from ``n_azimuths`` azimuths uniformly spaced over 360° at a fixed
elevation (36 at 30°); with unit-normalised embeddings

* s₁ = 100 · mean_v cos(CLIP(render_v), CLIP(masked input image)),
* s₂ = 100 · mean_v cos(CLIP(render_v), CLIP_text("A photo of <cls>")).

Preprocessing is done here, batched: resize the shorter side to 224 (bicubic, antialiased),
centre-crop, clamp to [0, 1], normalise with OpenAI's CLIP mean/std.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from artic3d_core.weights import WeightsConfig, WeightsInfo, load_clip

__all__ = [
    "OPENAI_CLIP_MEAN",
    "OPENAI_CLIP_STD",
    "CLIPScorer",
    "CLIPSimilarity",
    "RenderViews",
    "clip_azimuths",
    "clip_preprocess",
    "clip_similarity",
    "masked_image",
]

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

RenderViews = Callable[[torch.Tensor, float], torch.Tensor]
"""``render_views(azim_deg (N,), elev_deg) -> (N, 3, H, W)`` RGB in [0, 1]."""


def clip_preprocess(images: torch.Tensor, size: int = 224) -> torch.Tensor:
    """(B, 3, H, W) in [0, 1] → (B, 3, size, size) CLIP input (resize short side, centre crop)."""
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(
            f"clip_preprocess: expected (B, 3, H, W) images, got {tuple(images.shape)}"
        )
    h, w = images.shape[-2:]
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    x = images.float()
    if (nh, nw) != (h, w):
        x = F.interpolate(x, size=(nh, nw), mode="bicubic", align_corners=False, antialias=True)
    top, left = (nh - size) // 2, (nw - size) // 2
    x = x[..., top : top + size, left : left + size].clamp(0.0, 1.0)
    mean = x.new_tensor(OPENAI_CLIP_MEAN).view(1, 3, 1, 1)
    std = x.new_tensor(OPENAI_CLIP_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def masked_image(
    image: torch.Tensor, mask: torch.Tensor, background: Sequence[float] = (1.0, 1.0, 1.0)
) -> torch.Tensor:
    """The input image with its background replaced by ``background``: (3,H,W), (H,W) → (3,H,W)."""
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"masked_image: image must be (3, H, W), got {tuple(image.shape)}")
    if tuple(mask.shape) != tuple(image.shape[1:]):
        raise ValueError(f"masked_image: mask {tuple(mask.shape)} ≠ image {tuple(image.shape[1:])}")
    m = mask.to(image.dtype)[None]
    bg = image.new_tensor(list(background)).view(3, 1, 1)
    return image * m + bg * (1.0 - m)


def clip_azimuths(n: int = 36) -> torch.Tensor:
    """``n`` azimuths uniformly spaced over [0°, 360°): (n,) float32 degrees."""
    return torch.arange(n, dtype=torch.float32) * (360.0 / n)


class CLIPScorer:
    """A frozen CLIP model with its tokenizer; embeddings come back unit-normalised."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        info: WeightsInfo,
        device: str | torch.device = "cpu",
        image_size: int = 224,
        batch_size: int = 36,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.info = info
        self.device = torch.device(device)
        self.image_size = image_size
        self.batch_size = batch_size

    @classmethod
    def from_config(
        cls,
        weights_cfg: WeightsConfig,
        device: str | torch.device = "cpu",
        image_size: int = 224,
        batch_size: int = 36,
    ) -> CLIPScorer:
        """Build from the ``weights`` section (profile tiny / full-random / real)."""
        model, tokenizer, info = load_clip(weights_cfg, device=device)
        return cls(model, tokenizer, info, device, image_size, batch_size)

    @torch.inference_mode()
    def embed_images(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] → (B, D) unit vectors (float32, on CPU)."""
        out = []
        for chunk in images.split(self.batch_size):
            x = clip_preprocess(chunk.to(self.device), self.image_size)
            emb = self.model.encode_image(x).float()
            out.append(F.normalize(emb, dim=-1).cpu())
        return torch.cat(out)

    @torch.inference_mode()
    def embed_texts(self, prompts: Sequence[str]) -> torch.Tensor:
        """N prompts → (N, D) unit vectors (float32, on CPU)."""
        tokens = self.tokenizer(list(prompts)).to(self.device)
        return F.normalize(self.model.encode_text(tokens).float(), dim=-1).cpu()


@dataclass(frozen=True)
class CLIPSimilarity:
    """s1 (image–image) and s2 (image–text), ×100, averaged over the views."""

    s1: float
    s2: float
    per_view_s1: np.ndarray = field(repr=False)
    per_view_s2: np.ndarray = field(repr=False)
    azimuths_deg: np.ndarray = field(repr=False)
    elevation_deg: float
    prompt: str
    weights: WeightsInfo
    seconds: float
    render_seconds: float


def clip_similarity(
    render_views: RenderViews,
    reference: torch.Tensor,
    cls: str,
    scorer: CLIPScorer,
    *,
    n_azimuths: int = 36,
    elevation_deg: float = 30.0,
    prompt: str = "A photo of {cls}",
) -> CLIPSimilarity:
    """CLIP s1/s2 of one instance.

    Args:
        render_views: renders the textured instance, ``(azim_deg (N,), elev_deg) -> (N,3,H,W)``.
        reference: (3, H, W) masked input image in [0, 1] (see :func:`masked_image`).
        cls: class name put into ``prompt`` (``{cls}`` placeholder).
        scorer: the CLIP model (records which weights made the numbers).
    """
    t0 = time.perf_counter()
    if reference.ndim != 3 or reference.shape[0] != 3:
        raise ValueError(
            f"clip_similarity: reference must be (3, H, W), got {tuple(reference.shape)}"
        )
    azim = clip_azimuths(n_azimuths)
    views = render_views(azim, float(elevation_deg))
    t_render = time.perf_counter() - t0
    if not isinstance(views, torch.Tensor) or views.ndim != 4 or views.shape[:2] != (n_azimuths, 3):
        shape = tuple(views.shape) if isinstance(views, torch.Tensor) else type(views).__name__
        raise ValueError(
            f"clip_similarity: render_views must return ({n_azimuths}, 3, H, W), got {shape}"
        )
    text = prompt.format(cls=cls)
    # the reference and the renders may differ in size: CLIP preprocessing resizes each
    ref_emb = scorer.embed_images(reference[None].to(views.dtype))
    view_emb = scorer.embed_images(views.detach())
    txt_emb = scorer.embed_texts([text])
    s1 = (view_emb @ ref_emb.T).squeeze(1).double().numpy() * 100.0
    s2 = (view_emb @ txt_emb.T).squeeze(1).double().numpy() * 100.0
    return CLIPSimilarity(
        s1=float(s1.mean()),
        s2=float(s2.mean()),
        per_view_s1=s1,
        per_view_s2=s2,
        azimuths_deg=azim.numpy(),
        elevation_deg=float(elevation_deg),
        prompt=text,
        weights=scorer.info,
        seconds=time.perf_counter() - t0,
        render_seconds=t_render,
    )
