"""Foreground/background split, k-means part clusters, CRF, part centres, PCA
(docs/method.md §2.2–2.3).

Inputs are patch features on a (h, w) grid; outputs are label masks at image resolution
(0 = background, 1..k = clusters).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from artic3d_core.features.config import FeaturesConfig
from artic3d_core.features.crf import crf_labels
from artic3d_core.features.kmeans import kmeans, sq_dists


@dataclass
class ClusterResult:
    """labels: (B, H, W) int64 0..k; centroids: (k, D) FG cluster centres;
    is_fg_lr: (B, h, w) bool patch-level foreground decision; part_cent: (B, k, 3)."""

    labels: torch.Tensor
    centroids: torch.Tensor
    is_fg_lr: torch.Tensor
    part_cent: torch.Tensor


def _subsample(x: np.ndarray, max_points: int, seed: int) -> np.ndarray:
    if x.shape[0] <= max_points:
        return x
    idx = np.random.default_rng(seed).choice(x.shape[0], max_points, replace=False)
    return x[np.sort(idx)]


def _flat(feats: torch.Tensor) -> np.ndarray:
    """(B, D, h, w) → (B·h·w, D) float32 numpy."""
    return feats.permute(0, 2, 3, 1).reshape(-1, feats.shape[1]).float().numpy()


def fg_bg_models(
    feats: torch.Tensor, fg_pool: torch.Tensor, cfg: FeaturesConfig, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """k-means (k = n_clusters) on the FG pool and on the BG pool → (C_fg, C_bg).

    feats: (B, D, h, w); fg_pool: (B, h, w) bool. An empty pool is an error naming it."""
    x = _flat(feats)
    m = fg_pool.reshape(-1).numpy()
    if m.sum() == 0 or (~m).sum() == 0:
        which = "foreground" if m.sum() == 0 else "background"
        raise ValueError(f"feature clustering: the {which} pool is empty (all patches on one side)")
    args = (cfg.n_clusters, cfg.kmeans_niter, cfg.kmeans_nredo)
    c_fg = kmeans(_subsample(x[m], cfg.kmeans_max_points, seed), *args, seed=seed)
    c_bg = kmeans(_subsample(x[~m], cfg.kmeans_max_points, seed + 1), *args, seed=seed + 1)
    return c_fg, c_bg


def nearest_fg(feats: torch.Tensor, c_fg: np.ndarray, c_bg: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per patch: is_fg (nearest FG centroid closer than nearest BG one) and the squared
    distances to the FG centroids. Returns is_fg (B, h, w) bool, d_fg (B, k, h, w)."""
    B, _, h, w = feats.shape
    x = _flat(feats)
    d_fg = sq_dists(x, c_fg)
    d_bg = sq_dists(x, c_bg)
    is_fg = d_fg.min(1) < d_bg.min(1)
    return is_fg.reshape(B, h, w), d_fg.reshape(B, h, w, -1).transpose(0, 3, 1, 2)


def rough_foreground_from_saliency(
    feats: torch.Tensor, saliency: torch.Tensor, cfg: FeaturesConfig, size: int
) -> torch.Tensor:
    """docs/method.md §2.2 step 2: saliency ≥ threshold pools FG patches, FG/BG k-means, nearest
    model decides; (B, h, w) → nearest-upsampled (B, size, size) bool."""
    pool = saliency >= cfg.rough_fg_threshold
    c_fg, c_bg = fg_bg_models(feats, pool, cfg, cfg.seed)
    is_fg, _ = nearest_fg(feats, c_fg, c_bg)
    up = F.interpolate(torch.from_numpy(is_fg)[:, None].float(), size=(size, size), mode="nearest")
    return up[:, 0] > 0.5


def salient_pool(feats: torch.Tensor, saliency: torch.Tensor, cfg: FeaturesConfig) -> torch.Tensor:
    """docs/method.md §2.3 steps 1–2: FG pool = patches whose squared distance to the mean salient
    key, divided by the image's maximum, is below ``fg_dist_threshold``. Returns (B, h, w) bool."""
    x = feats.float()
    sel = saliency >= cfg.salient_threshold
    if not bool(sel.any()):
        raise ValueError(
            f"feature clustering: no patch has saliency ≥ {cfg.salient_threshold} in any image"
        )
    mu = x.permute(0, 2, 3, 1)[sel].mean(0)
    d = ((x - mu[None, :, None, None]) ** 2).sum(1)
    d = d / d.flatten(1).max(1).values.clamp_min(1e-12)[:, None, None]
    return d < cfg.fg_dist_threshold


def part_centres(labels: torch.Tensor, k: int) -> torch.Tensor:
    """(B, H, W) labels → (B, k, 3): per cluster c (label c+1) the pixel centroid
    (x/H, y/H, 1), or (0, 0, 0) when absent (docs/method.md §2.3 step 6)."""
    B, H, W = labels.shape
    ys, xs = torch.meshgrid(
        torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32), indexing="ij"
    )
    out = torch.zeros(B, k, 3)
    for c in range(k):
        m = (labels == c + 1).float()
        n = m.sum((1, 2))
        present = n > 0
        cx = (m * xs).sum((1, 2)) / n.clamp_min(1)
        cy = (m * ys).sum((1, 2)) / n.clamp_min(1)
        out[:, c, 0] = torch.where(present, cx / H, 0.0)
        out[:, c, 1] = torch.where(present, cy / H, 0.0)
        out[:, c, 2] = present.float()
    return out


def labels_from_unary(
    d_fg: np.ndarray,
    is_fg: np.ndarray,
    images: torch.Tensor,
    cfg: FeaturesConfig,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Labels at the images' resolution from patch energies (docs/method.md §2.3 step 5).

    d_fg: (B, k, h, w) squared distances to FG centroids; is_fg: (B, h, w) bool;
    images: (B, 3, H, W) in [0, 1]. With the CRF: unary label 0 = is_fg, label c = d_fg / max
    (per image), bilinear-upsampled. Without: nearest FG cluster + 1 on FG patches.
    The CRF runs on ``device`` (default: the images'), ``cfg.batch_size`` images at a time (its
    full-resolution marginals are (n, k+1, H, W) floats); labels come back on the CPU."""
    H, W = images.shape[-2:]
    dfg = torch.from_numpy(np.ascontiguousarray(d_fg)).float()
    fg = torch.from_numpy(np.ascontiguousarray(is_fg))
    if not cfg.crf.enabled:
        lab = (dfg.argmin(1) + 1) * fg
        return F.interpolate(lab[:, None].float(), size=(H, W), mode="nearest")[:, 0].long()
    dev = torch.device(device) if device is not None else images.device
    norm = dfg / dfg.flatten(1).max(1).values.clamp_min(1e-12)[:, None, None, None]
    unary_lr = torch.cat([fg[:, None].float(), norm], 1)
    out = []
    for i in range(0, unary_lr.shape[0], cfg.batch_size):
        u = F.interpolate(
            unary_lr[i : i + cfg.batch_size].to(dev), size=(H, W), mode="bilinear",
            align_corners=False,
        )  # fmt: skip
        out.append(crf_labels(u, images[i : i + cfg.batch_size].to(dev), cfg.crf).cpu())
    return torch.cat(out)


def cluster_features(
    feats: torch.Tensor,
    saliency: torch.Tensor,
    images: torch.Tensor,
    cfg: FeaturesConfig,
    fg_prior: torch.Tensor | None = None,
    fg_pool: torch.Tensor | None = None,
    seed: int | None = None,
    device: torch.device | str | None = None,
) -> ClusterResult:
    """docs/method.md §2.3. feats (B, D, h, w); saliency (B, h, w); images (B, 3, H, W) [0,1] —
    labels come out at (H, W). ``fg_prior`` (B, H, W) bool multiplies the labels; ``fg_pool``
    (B, h, w) bool replaces the salient-key pool rule (used by the offline backend); the CRF
    runs on ``device`` (default: the images')."""
    seed = cfg.seed if seed is None else seed
    if feats.shape[0] != images.shape[0] or feats.shape[-2:] != saliency.shape[-2:]:
        raise ValueError(
            f"features {tuple(feats.shape)}, saliency {tuple(saliency.shape)} and images "
            f"{tuple(images.shape)} do not describe the same batch"
        )
    pool = salient_pool(feats, saliency, cfg) if fg_pool is None else fg_pool
    c_fg, c_bg = fg_bg_models(feats, pool, cfg, seed)
    is_fg, d_fg = nearest_fg(feats, c_fg, c_bg)
    labels = labels_from_unary(d_fg, is_fg, images, cfg, device)
    if fg_prior is not None:
        labels = labels * fg_prior.to(labels.device).long()
    return ClusterResult(
        labels=labels,
        centroids=torch.from_numpy(c_fg),
        is_fg_lr=torch.from_numpy(is_fg),
        part_cent=part_centres(labels, cfg.n_clusters),
    )


def pca_project(
    feats: torch.Tensor, masks_lr: torch.Tensor, centroids: torch.Tensor, cfg: FeaturesConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """docs/method.md §2.2 step 6: low-rank PCA (q = pca_dim, centred, seeded) of the features of
    all foreground patches; projection without re-centring.

    feats (B, D, h, w), masks_lr (B, h, w), centroids (k, D) → feat_img (B, q, h, w),
    feat_part (k, q)."""
    x = feats.permute(0, 2, 3, 1)[masks_lr > 0].float()
    q = min(cfg.pca_dim, feats.shape[1])
    if x.shape[0] < q:
        x = feats.permute(0, 2, 3, 1).reshape(-1, feats.shape[1]).float()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        _, _, V = torch.pca_lowrank(x, q=q, center=True, niter=cfg.pca_niter)
    if q < cfg.pca_dim:  # tiny feature spaces: pad with zeros to keep the agreed shape
        V = F.pad(V, (0, cfg.pca_dim - q))
    feat_img = torch.einsum("bdhw,dq->bqhw", feats.float(), V)
    return feat_img, centroids.float() @ V
