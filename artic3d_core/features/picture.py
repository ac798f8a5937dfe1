"""Pictures a person can check: colour-coded cluster overlays per image (PNG, atomic)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from artic3d_core.atomic import atomic_write_bytes

# background black, then 16 distinct colours (RGB)
PALETTE = np.array(
    [
        [0, 0, 0],
        [230, 25, 75],
        [60, 180, 75],
        [255, 225, 25],
        [0, 130, 200],
        [245, 130, 48],
        [145, 30, 180],
        [70, 240, 240],
        [240, 50, 230],
        [210, 245, 60],
        [250, 190, 212],
        [0, 128, 128],
        [220, 190, 255],
        [170, 110, 40],
        [255, 250, 200],
        [128, 0, 0],
        [170, 255, 195],
    ],
    dtype=np.uint8,
)


def to_uint8_rgb(image: np.ndarray | torch.Tensor) -> np.ndarray:
    """(3, H, W) or (H, W, 3) float [0,1] → (H, W, 3) uint8."""
    x = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if x.ndim == 3 and x.shape[0] == 3 and x.shape[-1] != 3:
        x = x.transpose(1, 2, 0)
    if x.dtype != np.uint8:
        x = (np.clip(x, 0, 1) * 255).round().astype(np.uint8)
    return np.ascontiguousarray(x)


def cluster_overlay(
    image: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor, alpha: float = 0.55
) -> np.ndarray:
    """Image with cluster colours blended in and cluster borders drawn: (H, W, 3) uint8.
    ``labels`` (h, w) ints are resized (nearest) to the image."""
    img = to_uint8_rgb(image)
    lab = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    H, W = img.shape[:2]
    if lab.shape != (H, W):
        lab = cv2.resize(lab.astype(np.int32), (W, H), interpolation=cv2.INTER_NEAREST)
    lab = lab.astype(np.int64) % len(PALETTE)
    col = PALETTE[lab].astype(np.float32)
    fg = (lab > 0)[..., None]
    out = np.where(fg, (1 - alpha) * img + alpha * col, 0.5 * img).astype(np.uint8)
    edge = cv2.morphologyEx(lab.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    out[edge] = 255
    return out


def write_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write an (H, W, 3) uint8 RGB PNG atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise ValueError(f"{path}: PNG encoding failed")
    return atomic_write_bytes(path, buf.tobytes(), fsync=False)


def save_cluster_overlays(
    images: torch.Tensor, masks: torch.Tensor, out_dir: str | Path, prefix: str = "mask"
) -> list[Path]:
    """One ``<prefix>_<i>.png`` per image: [image | cluster overlay] side by side."""
    paths = []
    for i in range(images.shape[0]):
        img = to_uint8_rgb(images[i])
        ov = cluster_overlay(images[i], masks[i])
        paths.append(write_png(Path(out_dir) / f"{prefix}_{i}.png", np.concatenate([img, ov], 1)))
    return paths
