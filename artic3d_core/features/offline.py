"""The offline feature backend: weight-free co-segmentation from the RGB images only.

No ground truth is read. It stands in for DINO where no weights exist (spec §2, issue 4):

1. Per-pixel descriptors at ``work_size``²: CIE-Lab colour at two blur scales, gradient
   energy of L at two scales, local contrast of L (9 channels), standardised over the class.
2. Foreground by alternating appearance models (GrabCut-like, but class-wide): the outer ring
   of every image seeds its background; pixels far from their own border colours seed the
   foreground. Then ``rounds`` times: one *class-wide* foreground k-means model (the animal's
   appearance recurs across images) against one *per-image* background k-means model
   (backgrounds vary), plus a weak centre prior (crops are centred on the animal); a pixel is
   foreground when the foreground model explains it better. Each round keeps the large
   connected components and fills holes.
3. Parts: k-means (k = n_clusters) of foreground descriptors plus mask-relative position
   (centred on the mask centroid, scaled by its radius of gyration, × ``position_weight``).
4. Patch "keys" (64²) are the descriptors pooled per patch; "saliency" is the pooled
   foreground probability. Both go through the same PCA as DINO keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from artic3d_core.features.config import FeaturesConfig, OfflineConfig
from artic3d_core.features.kmeans import kmeans, sq_dists

N_DESC = 9


@dataclass
class OfflineFeatures:
    """desc: (B, 9, s, s) standardised per-pixel descriptors at work size s;
    fg: (B, s, s) bool foreground; fg_prob: (B, s, s) float in [0,1]."""

    desc: np.ndarray
    fg: np.ndarray
    fg_prob: np.ndarray


def pixel_descriptors(images: np.ndarray) -> np.ndarray:
    """(B, s, s, 3) float32 RGB [0,1] → (B, 9, s, s) raw descriptors (not standardised)."""
    out = []
    for img in images:
        lab = cv2.cvtColor(np.ascontiguousarray(img, dtype=np.float32), cv2.COLOR_RGB2LAB)
        c1 = cv2.GaussianBlur(lab, (0, 0), 1.0)
        c2 = cv2.GaussianBlur(lab, (0, 0), 4.0)
        L = lab[..., 0]
        gx = cv2.Sobel(L, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(L, cv2.CV_32F, 0, 1, ksize=3)
        g = np.sqrt(gx**2 + gy**2)
        t1 = cv2.GaussianBlur(g, (0, 0), 2.0)
        t2 = cv2.GaussianBlur(g, (0, 0), 6.0)
        m = cv2.GaussianBlur(L, (0, 0), 3.0)
        sd = np.sqrt(np.maximum(cv2.GaussianBlur(L * L, (0, 0), 3.0) - m * m, 0))
        d = np.concatenate([c1, c2, t1[..., None], t2[..., None], sd[..., None]], -1)
        out.append(d.transpose(2, 0, 1))
    return np.stack(out).astype(np.float32)


def _standardise(desc: np.ndarray) -> np.ndarray:
    mu = desc.mean((0, 2, 3), keepdims=True)
    sd = desc.std((0, 2, 3), keepdims=True) + 1e-6
    return (desc - mu) / sd


def _clean(fg: np.ndarray, min_frac: float) -> np.ndarray:
    """Keep components ≥ min_frac of the image (the largest always), fill holes."""
    lab, n = ndimage.label(fg)
    if n == 0:
        return fg
    sizes = ndimage.sum(fg, lab, index=np.arange(1, n + 1))
    keep = sizes >= max(min_frac * fg.size, 1)
    keep[int(np.argmax(sizes))] = True
    out = keep[lab - 1] & (lab > 0)
    return ndimage.binary_fill_holes(out)


def _otsu(x: np.ndarray) -> float:
    hist, edges = np.histogram(x, bins=128)
    mids = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    s0 = np.cumsum(hist * mids)
    m0 = s0 / np.maximum(w0, 1)
    m1 = (s0[-1] - s0) / np.maximum(w1, 1)
    return float(mids[np.argmax(w0 * w1 * (m0 - m1) ** 2)])


def _recurring(cent: np.ndarray, per_image: list[np.ndarray], cfg: OfflineConfig) -> np.ndarray:
    """Keep the foreground clusters that recur: a cluster counts in an image when it explains
    ≥ ``cluster_share`` of that image's foreground samples; clusters counted in fewer than
    ``recur_frac`` of the images with foreground are background clutter (the best one stays)."""
    counts = np.zeros(cent.shape[0])
    n_img = 0
    for x in per_image:
        if x.shape[0] == 0:
            continue
        n_img += 1
        share = np.bincount(sq_dists(x, cent).argmin(1), minlength=cent.shape[0]) / x.shape[0]
        counts += share >= cfg.cluster_share
    keep = counts >= cfg.recur_frac * max(n_img, 1)
    keep[int(np.argmax(counts))] = True
    return cent[keep]


def _grabcut(
    rgb: np.ndarray, fg: np.ndarray, prob: np.ndarray, ring: np.ndarray, it: int
) -> np.ndarray:
    """Per-image colour-GMM graph-cut refinement of a foreground estimate (OpenCV GrabCut)."""
    if it <= 0 or not fg.any() or fg.all():
        return fg
    mask = np.where(fg, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    core = cv2.erode(fg.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    mask[core & (prob > 0.9)] = cv2.GC_FGD
    mask[ring] = cv2.GC_BGD
    img = np.ascontiguousarray((rgb * 255).round().astype(np.uint8)[..., ::-1])
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(img, mask, None, bgd, fgd, it, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return fg
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


def offline_foreground(images: torch.Tensor, cfg: OfflineConfig, seed: int) -> OfflineFeatures:
    """Class-wide co-segmentation. images: (B, 3, H, W) in [0,1] → foreground at work size."""
    s = cfg.work_size
    x = images.float()
    if x.shape[-1] != s or x.shape[-2] != s:
        x = F.interpolate(x, size=(s, s), mode="area")
    rgb = x.permute(0, 2, 3, 1).clamp(0, 1).numpy()
    desc = _standardise(pixel_descriptors(rgb))
    B = desc.shape[0]
    flat = desc.reshape(B, N_DESC, -1).transpose(0, 2, 1)  # (B, s², 9)
    rng = np.random.default_rng(seed)
    bw = max(1, round(cfg.border * s))
    ring = np.ones((s, s), bool)
    ring[bw:-bw, bw:-bw] = False
    yy, xx = np.mgrid[0:s, 0:s]
    r2 = (((yy + 0.5) / s - 0.5) ** 2 + ((xx + 0.5) / s - 0.5) ** 2).reshape(-1) * 4
    km = dict(niter=cfg.kmeans_niter, nredo=cfg.kmeans_nredo)

    def sample(mask_flat: np.ndarray, i: int) -> np.ndarray:
        idx = np.flatnonzero(mask_flat)
        if idx.size > cfg.sample_per_image:
            idx = rng.choice(idx, cfg.sample_per_image, replace=False)
        return flat[i, idx]

    # init: distance to the image's own border appearance, Otsu-thresholded
    fg = np.zeros((B, s, s), bool)
    for i in range(B):
        c_b = kmeans(sample(ring.reshape(-1), i), cfg.n_bg_clusters, seed=seed + i, **km)
        d = np.sqrt(sq_dists(flat[i], c_b).min(1)) - cfg.center_prior * r2
        fg[i] = _clean((d > _otsu(d)).reshape(s, s) & ~ring, cfg.min_component)

    prob = fg.astype(np.float32)
    for rnd in range(cfg.rounds):
        pool = np.concatenate([sample(fg[i].reshape(-1), i) for i in range(B) if fg[i].any()])
        if pool.shape[0] == 0:
            raise ValueError("offline features: no foreground found in any image")
        c_f = kmeans(pool, cfg.n_fg_clusters, seed=seed + 1000 + rnd, **km)
        c_f = _recurring(c_f, [sample(fg[i].reshape(-1), i) for i in range(B)], cfg)
        e_pool = np.sqrt(sq_dists(pool, c_f).min(1))
        tau = float(np.quantile(e_pool, cfg.fg_quantile)) * cfg.fg_slack
        for i in range(B):
            bgm = (~fg[i]).reshape(-1) | ring.reshape(-1)
            c_b = kmeans(sample(bgm, i), cfg.n_bg_clusters, seed=seed + 2000 + rnd * B + i, **km)
            e_f = np.sqrt(sq_dists(flat[i], c_f).min(1))
            e_b = np.sqrt(sq_dists(flat[i], c_b).min(1)) + cfg.center_prior * r2
            e_b = np.minimum(e_b, tau)  # the class model must explain a foreground pixel
            margin = (e_b - e_f).reshape(s, s)
            margin = cv2.GaussianBlur(margin.astype(np.float32), (0, 0), 1.0)
            prob[i] = 1.0 / (1.0 + np.exp(-2.0 * margin))
            fg[i] = _clean((margin > 0) & ~ring, cfg.min_component)
    for i in range(B):
        fg[i] = _clean(_grabcut(rgb[i], fg[i], prob[i], ring, cfg.grabcut_iters), cfg.min_component)
    return OfflineFeatures(desc=desc, fg=fg, fg_prob=prob)


def _gyration_coords(fg: np.ndarray) -> np.ndarray:
    """(s, s) bool → (2, s, s) coordinates relative to the mask centroid / radius of gyration."""
    s = fg.shape[0]
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    if not fg.any():
        return np.zeros((2, s, s), np.float32)
    cy, cx = yy[fg].mean(), xx[fg].mean()
    rg = np.sqrt(((yy[fg] - cy) ** 2 + (xx[fg] - cx) ** 2).mean()) + 1e-6
    return np.stack([(xx - cx) / rg, (yy - cy) / rg])


@dataclass
class OfflineParts:
    """labels: (B, s, s) int64 0..k at work size; feat: (B, 9, s, s) part descriptors;
    centroids: (k, 9) mean descriptor per part."""

    labels: np.ndarray
    centroids: np.ndarray


def offline_parts(feat: OfflineFeatures, cfg: FeaturesConfig, seed: int) -> OfflineParts:
    """k-means part clusters of foreground pixels (descriptor ⊕ weighted mask position)."""
    B, _, s, _ = feat.desc.shape
    pos = np.stack([_gyration_coords(f) for f in feat.fg]) * cfg.offline.position_weight
    full = np.concatenate([feat.desc, pos], 1)  # (B, 11, s, s)
    flat = full.transpose(0, 2, 3, 1).reshape(-1, full.shape[1])
    m = feat.fg.reshape(-1)
    if not m.any():
        raise ValueError("offline features: empty foreground, cannot cluster parts")
    idx = np.flatnonzero(m)
    rng = np.random.default_rng(seed)
    n_max = cfg.offline.sample_per_image * B
    samp = idx if idx.size <= n_max else rng.choice(idx, n_max, replace=False)
    k = cfg.n_clusters
    cent = kmeans(flat[samp], k, cfg.offline.kmeans_niter, cfg.offline.kmeans_nredo, seed)
    lab = np.zeros(flat.shape[0], np.int64)
    lab[idx] = sq_dists(flat[idx], cent).argmin(1) + 1
    labels = lab.reshape(B, s, s)
    dcent = np.stack(
        [
            flat[idx][lab[idx] == c + 1, :N_DESC].mean(0)
            if (lab[idx] == c + 1).any()
            else np.zeros(N_DESC, np.float32)
            for c in range(k)
        ]
    )
    return OfflineParts(labels=labels, centroids=dcent.astype(np.float32))


def pool_to_grid(x: np.ndarray, hw: int) -> torch.Tensor:
    """(B, C, s, s) → (B, C, hw, hw) area-pooled torch float32."""
    return F.interpolate(
        torch.from_numpy(np.ascontiguousarray(x)).float(), size=(hw, hw), mode="area"
    )
