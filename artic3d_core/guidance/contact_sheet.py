"""Before/after contact sheets for input enhancement and an atomic PNG writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from artic3d_core.atomic import atomic_write


def _to_uint8_batch(images: torch.Tensor | np.ndarray, what: str, thumb: int | None) -> np.ndarray:
    """(B, 3, H, W) tensor or (B, H, W, 3) array in [0, 1] → (B, h, w, 3) uint8."""
    if isinstance(images, np.ndarray):
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"{what}: expected an array (B, H, W, 3), got {images.shape}")
        t = torch.from_numpy(np.ascontiguousarray(images)).float().permute(0, 3, 1, 2)
        if images.dtype == np.uint8:
            t = t / 255.0
    elif isinstance(images, torch.Tensor):
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"{what}: expected a tensor (B, 3, H, W), got {tuple(images.shape)}")
        t = images.detach().float().cpu()
    else:
        raise TypeError(f"{what}: expected a tensor or an array, got {type(images).__name__}")
    if thumb is not None and max(t.shape[-2:]) > thumb:
        h, w = t.shape[-2:]
        scale = thumb / max(h, w)
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        t = F.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=True)
    return (t.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy()


def contact_sheet(
    before: torch.Tensor | np.ndarray,
    after: torch.Tensor | np.ndarray,
    cols: int = 8,
    thumb: int | None = 128,
    pad: int = 2,
) -> np.ndarray:
    """A (H, W, 3) uint8 grid: for each chunk of ``cols`` images a 'before' row above an 'after' row.

    ``before``/``after``: (B, 3, H, W) tensors or (B, H, W, 3) arrays in [0, 1] (uint8 arrays
    are accepted too), same B and size. Thumbnails are at most ``thumb`` pixels; white padding.
    """
    a = _to_uint8_batch(before, "before", thumb)
    b = _to_uint8_batch(after, "after", thumb)
    if a.shape != b.shape:
        raise ValueError(f"before {a.shape} and after {b.shape} images differ in shape")
    if a.shape[0] == 0:
        raise ValueError("contact_sheet: no images")
    n, h, w, _ = a.shape
    cols = max(1, min(cols, n))
    chunks = (n + cols - 1) // cols
    cell_h, cell_w = h + pad, w + pad
    sheet = np.full((2 * chunks * cell_h + pad, cols * cell_w + pad, 3), 255, np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        x0 = pad + c * cell_w
        for k, src in enumerate((a, b)):
            y0 = pad + (2 * r + k) * cell_h
            sheet[y0 : y0 + h, x0 : x0 + w] = src[i]
    return sheet


def write_png_atomic(path: str | Path, image: np.ndarray) -> Path:
    """Write a (H, W, 3) or (H, W) uint8 image as PNG via a temp file + ``os.replace``."""
    from PIL import Image

    path = Path(path)
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(
            f"{path}: expected a uint8 (H, W[, 3]) image, got {image.dtype} {image.shape}"
        )
    return atomic_write(path, lambda t: Image.fromarray(image).save(t, format="PNG"))
