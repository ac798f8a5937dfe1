"""DINO ViT-S/8 keys and CLS-attention saliency (docs/method.md §2.1), batched, with the tiled HR
pass.

A forward hook on the last block's ``attn.qkv`` captures q, k, v; the CLS attention row is
computed from q and k here (timm's fused attention never materialises the probabilities).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class DinoOutput:
    """keys: (B, D, h, w) L2-normalised last-block keys (CLS dropped);
    saliency: (B, h, w) CLS attention averaged over the chosen heads, min–max normalised."""

    keys: torch.Tensor
    saliency: torch.Tensor


def _normalise(images: torch.Tensor) -> torch.Tensor:
    mean = images.new_tensor(IMAGENET_MEAN)[None, :, None, None]
    std = images.new_tensor(IMAGENET_STD)[None, :, None, None]
    return (images - mean) / std


def _minmax(x: torch.Tensor) -> torch.Tensor:
    """Per-image min–max over all but the first dim."""
    flat = x.flatten(1)
    lo = flat.min(1).values.view(-1, *[1] * (x.ndim - 1))
    hi = flat.max(1).values.view(-1, *[1] * (x.ndim - 1))
    return (x - lo) / (hi - lo).clamp_min(1e-12)


def _check_images(images: torch.Tensor, patch: int) -> None:
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be (B, 3, H, W), got {tuple(images.shape)}")
    if images.shape[-1] % patch or images.shape[-2] % patch:
        raise ValueError(f"image size {tuple(images.shape[-2:])} is not a multiple of {patch}")


@torch.no_grad()
def dino_forward(
    model: Any,
    images: torch.Tensor,
    heads: list[int],
    amp_dtype: torch.dtype = torch.float32,
) -> DinoOutput:
    """One batched pass. images: (B, 3, H, W) in [0, 1], H and W multiples of the patch size.

    Returns keys (B, D, H/p, W/p) and saliency (B, H/p, W/p) (per-image min–max)."""
    patch = model.patch_embed.patch_size[0]
    _check_images(images, patch)
    B, _, H, W = images.shape
    h, w = H // patch, W // patch
    attn_mod = model.blocks[-1].attn
    n_heads = attn_mod.num_heads
    if any(not 0 <= i < n_heads for i in heads):
        raise ValueError(f"saliency heads {heads} out of range for a {n_heads}-head model")
    captured: dict[str, torch.Tensor] = {}

    def hook(_mod: Any, _inp: Any, out: torch.Tensor) -> None:
        captured["qkv"] = out

    handle = attn_mod.qkv.register_forward_hook(hook)
    device = images.device
    use_amp = device.type == "cuda" and amp_dtype != torch.float32
    ctx = torch.autocast("cuda", dtype=amp_dtype) if use_amp else contextlib.nullcontext()
    try:
        with ctx:
            model.forward_features(_normalise(images.to(next(model.parameters()).dtype)))
    finally:
        handle.remove()
    qkv = captured["qkv"].float()  # (B, N, 3·D)
    N = qkv.shape[1]
    prefix = N - h * w
    if prefix < 1:
        raise ValueError(f"unexpected token count {N} for a {h}×{w} patch grid")
    qkv = qkv.reshape(B, N, 3, n_heads, -1)
    q, k = qkv[:, :, 0], qkv[:, :, 1]  # (B, N, heads, hd)
    scale = q.shape[-1] ** -0.5
    logits = torch.einsum("bhd,bnhd->bhn", q[:, 0] * scale, k)  # CLS query row
    attn = logits.softmax(-1)[:, :, prefix:]  # (B, heads, h·w)
    sal = attn[:, heads].mean(1).reshape(B, h, w)
    keys = k[:, prefix:].reshape(B, h * w, -1)
    keys = F.normalize(keys, dim=-1).transpose(1, 2).reshape(B, -1, h, w)
    return DinoOutput(keys=keys, saliency=_minmax(sal))


def extract_dino(
    model: Any,
    images: torch.Tensor,
    size: int,
    heads: list[int],
    batch_size: int,
    device: torch.device | str,
    amp_dtype: torch.dtype = torch.float32,
) -> DinoOutput:
    """Keys/saliency of images resized to ``size``² (bilinear), in batches. Outputs on CPU."""
    keys, sal = [], []
    for i in range(0, images.shape[0], batch_size):
        x = images[i : i + batch_size].to(device, torch.float32)
        if x.shape[-1] != size or x.shape[-2] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        out = dino_forward(model, x, heads, amp_dtype)
        keys.append(out.keys.cpu())
        sal.append(out.saliency.cpu())
    return DinoOutput(torch.cat(keys), torch.cat(sal))


def extract_dino_hr(
    model: Any,
    images: torch.Tensor,
    size: int,
    heads: list[int],
    batch_size: int,
    device: torch.device | str,
    amp_dtype: torch.dtype = torch.float32,
) -> DinoOutput:
    """HR pass: images resized to ``size``², split into 4 quadrants of (size/2)², each
    extracted (own saliency min–max), stitched TL|TR over BL|BR → (B, D, size/p, size/p)."""
    B = images.shape[0]
    half = size // 2
    x = images.float()
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    tiles = torch.stack(
        [x[..., :half, :half], x[..., :half, half:], x[..., half:, :half], x[..., half:, half:]], 1
    ).reshape(B * 4, 3, half, half)
    out = extract_dino(model, tiles, half, heads, batch_size * 4, device, amp_dtype)
    k = out.keys.reshape(B, 4, *out.keys.shape[1:])
    s = out.saliency.reshape(B, 4, *out.saliency.shape[1:])
    keys = torch.cat([torch.cat([k[:, 0], k[:, 1]], -1), torch.cat([k[:, 2], k[:, 3]], -1)], -2)
    sal = torch.cat([torch.cat([s[:, 0], s[:, 1]], -1), torch.cat([s[:, 2], s[:, 3]], -1)], -2)
    return DinoOutput(keys, sal)


def photo_saliency(
    model: Any,
    image: Any,
    size: int,
    heads: list[int],
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """CLS-attention saliency of a whole photo (not a crop): (H, W, 3) float array or tensor in
    [0, 1] → (h, w) CPU tensor in [0, 1], the photo resized to ``size`` on its longer side
    (each side rounded to a multiple of the patch, aspect kept) and one grid cell per patch."""
    patch = model.patch_embed.patch_size[0]
    x = torch.as_tensor(image, dtype=torch.float32).permute(2, 0, 1)[None]
    H, W = x.shape[-2:]
    f = size / max(H, W)
    h = max(patch, round(H * f / patch) * patch)
    w = max(patch, round(W * f / patch) * patch)
    x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
    return dino_forward(model, x.to(device), heads).saliency[0].cpu()


def saliency_fn(model: Any, size: int, heads: list[int], device: torch.device | str = "cpu") -> Any:
    """A function (H, W, 3) numpy image → (h, w) numpy saliency (:func:`photo_saliency`), the
    form :func:`artic3d_core.data.folder.load_folder` takes to place crops."""

    def fn(image: Any) -> Any:
        return photo_saliency(model, image, size, heads, device).numpy()

    return fn
