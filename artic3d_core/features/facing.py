"""Which way each animal faces: left/right synchronisation of one class's foreground masks.

A side view of an animal and its mirror image are equally plausible to a part clustering that
uses image position, so weight-free part clusters (the offline backend) come out tied to image
left/right rather than to head/tail, and the facing (hence the azimuth sign) of half the images
is initialised wrongly. DINO keys do not have this problem: they name the head wherever it is.

Here the facing is recovered up to one global sign, as a ℤ₂ synchronisation problem: every
image is resampled into a frame centred on its mask centroid and scaled by its radius of
gyration (``grid``² cells); ``S_ij = <f_i, f_j> − <f_i, mirror(f_j)>`` says whether images i
and j look more alike as they are or with one mirrored (shape and appearance channels); the
signs are the signs of the leading eigenvector of S, polished by coordinate ascent on
``Σ s_i s_j S_ij``. The global sign is fixed so that image 0 keeps +1.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Facing", "facing_signs", "normalised_frames", "silhouette_typicality"]


@dataclass
class Facing:
    """signs: (B,) +1 / −1 (−1 = mirror this image to face like image 0); agreement: (B,) in
    [−1, 1], how strongly the other images agree with image i's sign (weighted mean of
    s_i s_j S_ij / |S_ij|); score: Σ s_i s_j S_ij / Σ |S_ij| in [−1, 1]."""

    signs: np.ndarray
    agreement: np.ndarray
    score: float


def normalised_frames(
    fg: np.ndarray, channels: np.ndarray | None = None, grid: int = 48, extent: float = 2.5
) -> np.ndarray:
    """Resample each image into its mask-normalised frame.

    fg: (B, s, s) bool; channels: optional (B, C, s, s) float (e.g. standardised colour),
    multiplied by the mask. The frame spans ±``extent`` radii of gyration around the centroid.
    Returns (B, 1 + C, grid, grid) float32 (empty masks give zeros)."""
    B, s, _ = fg.shape
    C = 0 if channels is None else channels.shape[1]
    out = np.zeros((B, 1 + C, grid, grid), np.float32)
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    for i in range(B):
        m = fg[i]
        if m.sum() < 4:
            continue
        cy, cx = float(yy[m].mean()), float(xx[m].mean())
        rg = float(np.sqrt(((yy[m] - cy) ** 2 + (xx[m] - cx) ** 2).mean())) + 1e-6
        k = grid / (2 * extent * rg)  # output cells per input pixel
        # centroid → the grid's centre (grid − 1)/2 in pixel-centre coordinates, so that
        # np.flip mirrors about the centroid (off by half a cell, every mask would gain a
        # common antisymmetric component that swamps the facing signal of round shapes)
        c0 = (grid - 1) / 2
        A = np.array([[k, 0, c0 - k * cx], [0, k, c0 - k * cy]], np.float32)
        stack = [m.astype(np.float32)]
        if C:
            stack += [channels[i, c] * m for c in range(C)]
        for c, img in enumerate(stack):
            out[i, c] = cv2.warpAffine(
                np.ascontiguousarray(img, dtype=np.float32),
                A,
                (grid, grid),
                flags=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
            )
    return out


def facing_signs(
    fg: np.ndarray,
    channels: np.ndarray | None = None,
    grid: int = 32,
    channel_weight: float = 0.5,
    sweeps: int = 10,
) -> Facing:
    """Left/right facing of each image relative to image 0 (see the module docstring).

    fg: (B, s, s) bool; channels: optional (B, C, s, s) class-standardised appearance, weighted
    by ``channel_weight`` against the shape channel. Returns :class:`Facing`."""
    B = fg.shape[0]
    if B == 1:
        return Facing(np.ones(1), np.ones(1), 1.0)
    f = normalised_frames(fg, channels, grid)
    if f.shape[1] > 1:
        f[:, 1:] *= channel_weight
    # not centred on the class mean: with every animal facing one way the mean *is* the signal
    f = f.reshape(B, -1).astype(np.float64)
    fm = np.flip(f.reshape(B, -1, grid, grid), -1).reshape(B, -1)
    S = f @ f.T - f @ fm.T
    S = (S + S.T) / 2
    np.fill_diagonal(S, 0.0)
    _, vec = np.linalg.eigh(S)
    s = np.where(vec[:, -1] >= 0, 1.0, -1.0)
    for _ in range(sweeps):  # coordinate ascent: each sign agrees with its weighted neighbours
        changed = False
        for i in range(B):
            new = 1.0 if S[i] @ s >= 0 else -1.0
            changed |= new != s[i]
            s[i] = new
        if not changed:
            break
    s *= s[0]
    absS = np.abs(S).sum(1) + 1e-12
    agreement = s * (S @ s) / absS
    score = float(s @ S @ s / (np.abs(S).sum() + 1e-12))
    return Facing(s, agreement, score)


def silhouette_typicality(m: np.ndarray, flipped: np.ndarray, grid: int = 32) -> np.ndarray:
    """(B,) mean correlation of each mask's normalised silhouette (centroid / radius of
    gyration frame, mirrored where ``flipped``) with the other images'. m: (B, S, S) labels."""
    f = normalised_frames(m > 0, grid=grid)[:, 0]
    f = np.where(np.asarray(flipped)[:, None, None], f[:, :, ::-1], f).reshape(len(m), -1)
    f = f - f.mean(1, keepdims=True)
    f = f / (np.linalg.norm(f, axis=1, keepdims=True) + 1e-9)
    c = f @ f.T
    np.fill_diagonal(c, 0.0)
    return c.sum(1) / max(len(m) - 1, 1)
