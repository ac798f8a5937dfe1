"""The discovered skeleton drawn over the reference image (PNG)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from artic3d_core.features.picture import PALETTE, cluster_overlay, to_uint8_rgb, write_png
from artic3d_core.skeleton.discovery import DiscoveryReport

KIND_COLOUR = {"root": (255, 0, 0), "junction": (255, 200, 0), "endpoint": (0, 220, 255)}


def draw_skeleton(
    image: np.ndarray | torch.Tensor,
    report: DiscoveryReport,
    labels: np.ndarray | torch.Tensor | None = None,
) -> np.ndarray:
    """(H, W, 3) uint8: the reference image (mirrored if discovery flipped it), optionally with
    its clusters, and the 2D skeleton (bones coloured by cluster, joints by kind)."""
    if report.skeleton_2d is None:
        raise ValueError("the discovery report carries no 2D skeleton to draw")
    img = to_uint8_rgb(image) if labels is None else cluster_overlay(image, labels)
    sk = report.skeleton_2d
    W = img.shape[1]
    if report.flipped[report.reference]:
        img = np.ascontiguousarray(img[:, ::-1])
    # the 2D skeleton lives on the (flipped) mask_size² mask: map it to this image
    xy = np.stack([sk.points[:, 1], sk.points[:, 0]], 1) * (W / report.mask_size)
    lw = max(1, W // 160)
    for c in range(1, len(sk.parents)):
        p = sk.parents[c]
        b_col = tuple(int(v) for v in PALETTE[1 + (c % 16)])
        cv2.line(img, _pt(xy[p]), _pt(xy[c]), b_col, lw + 1, cv2.LINE_AA)
    for i, kind in enumerate(sk.kind):
        cv2.circle(img, _pt(xy[i]), lw + 3, KIND_COLOUR[kind], -1, cv2.LINE_AA)
    return img


def _pt(p: np.ndarray) -> tuple[int, int]:
    return round(float(p[0])), round(float(p[1]))


def save_skeleton_picture(
    path: str | Path,
    image: np.ndarray | torch.Tensor,
    report: DiscoveryReport,
    labels: np.ndarray | torch.Tensor | None = None,
) -> Path:
    """Write :func:`draw_skeleton` as a PNG (atomic)."""
    return write_png(path, draw_skeleton(image, report, labels))
