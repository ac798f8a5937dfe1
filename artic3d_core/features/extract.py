"""The preprocessing entry points: masks, part clusters and features of one class
(docs/method.md §2).

Backends behind one interface:

* ``dino``    — DINO ViT-S/8 keys + CLS saliency (HR tiled pass, then LR pass), docs/method.md §2.2.
* ``offline`` — weight-free co-segmentation of the RGB images (:mod:`.offline`); no ground truth.
* ``oracle``  — ground-truth masks / part masks (``gt``) with the offline descriptors as
  features; for isolating the optimiser. Named ``oracle`` wherever it appears.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from artic3d_core.data.crop import CropInfo
from artic3d_core.features.clustering import (
    cluster_features,
    part_centres,
    pca_project,
    rough_foreground_from_saliency,
)
from artic3d_core.features.config import Backend, FeaturesConfig
from artic3d_core.features.dino import extract_dino, extract_dino_hr
from artic3d_core.features.offline import (
    labels_on_mask,
    offline_foreground,
    offline_parts,
    pool_to_grid,
)
from artic3d_core.weights import WeightsConfig, WeightsInfo

log = logging.getLogger(__name__)
BACKENDS: tuple[str, ...] = ("dino", "offline", "oracle")


@dataclass
class GroundTruthMasks:
    """What the ``oracle`` backend reads. masks: (B, H, W) bool; part_masks: (B, H, W) int
    0..P (0 = background) or None."""

    masks: np.ndarray
    part_masks: np.ndarray | None = None


@dataclass
class FeatureResult:
    """Preprocessing output of one class (docs/method.md §2.4).

    masks: (B, S, S) int64 labels 0..k (0 = background) at the render size S;
    masks_lr: (B, h, h) the same, nearest-downsampled to the feature grid (h = 64);
    feat_img: (B, q, h, h) PCA-projected features (q = 20); feat_part: (k, q);
    part_cent: (B, k, 3) per-image cluster centroids (x/S, y/S, present);
    saliency: (B, h, h) in [0, 1]; backend; weights (None for offline/oracle)."""

    masks: torch.Tensor
    masks_lr: torch.Tensor
    feat_img: torch.Tensor
    feat_part: torch.Tensor
    part_cent: torch.Tensor
    saliency: torch.Tensor
    backend: str
    weights: WeightsInfo | None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def foreground(self) -> torch.Tensor:
        """(B, S, S) bool."""
        return self.masks > 0


def check_images(images: torch.Tensor, what: str = "images") -> torch.Tensor:
    """Validate (B, 3, H, W) float images in [0, 1]; returns them as float32 on CPU."""
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
        shape = tuple(images.shape) if hasattr(images, "shape") else type(images).__name__
        raise ValueError(f"{what}: expected a (B, 3, H, W) tensor, got {shape}")
    if images.shape[0] == 0:
        raise ValueError(f"{what}: empty batch")
    x = images.detach().float().cpu()
    if not torch.isfinite(x).all():
        raise ValueError(f"{what}: contains NaN or infinite values")
    if x.min() < -1e-3 or x.max() > 1 + 1e-3:
        raise ValueError(f"{what}: values must lie in [0, 1] (got {x.min():.3g}..{x.max():.3g})")
    return x.clamp(0, 1)


def _resize(x: torch.Tensor, size: int, mode: str = "bilinear") -> torch.Tensor:
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    if mode == "nearest":
        squeeze = x.ndim == 3
        y = x[:, None].float() if squeeze else x.float()
        y = F.interpolate(y, size=(size, size), mode="nearest")
        return (y[:, 0] if squeeze else y).to(x.dtype)
    if mode == "area" and x.shape[-1] > size:
        return F.interpolate(x, size=(size, size), mode="area")
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


def _amp(cfg: FeaturesConfig, device: torch.device) -> torch.dtype:
    from artic3d_core.device import autocast_dtype

    return autocast_dtype(device, cfg.amp)


def _load_dino(weights_cfg: WeightsConfig | None, device: torch.device, model: Any) -> tuple:
    if model is not None:
        return model
    from artic3d_core.weights import load_dino

    if weights_cfg is None:
        raise ValueError("backend 'dino' needs weights_cfg (the params.yaml weights section)")
    return load_dino(weights_cfg, device)


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(
            f"unknown feature backend {backend!r}; choose one of {', '.join(BACKENDS)}"
        )


def _oracle_gt(gt: GroundTruthMasks | None, B: int) -> GroundTruthMasks:
    if gt is None:
        raise ValueError("backend 'oracle' needs ground-truth masks (gt=GroundTruthMasks(...))")
    if gt.masks.shape[0] != B:
        raise ValueError(f"oracle: {gt.masks.shape[0]} ground-truth masks for {B} images")
    return gt


def _oracle_labels(gt: GroundTruthMasks, size: int, k: int) -> torch.Tensor:
    """GT part ids (1..P) mapped onto k cluster labels in order of first appearance."""
    fg = torch.from_numpy(np.asarray(gt.masks, dtype=bool))
    if gt.part_masks is None:
        lab = fg.long()
    else:
        pm = torch.from_numpy(np.asarray(gt.part_masks).astype(np.int64)) * fg
        ids = [int(i) for i in torch.unique(pm) if i > 0]
        lut = torch.zeros(int(pm.max()) + 1, dtype=torch.int64)
        for n, i in enumerate(ids):
            lut[i] = n % k + 1
        lab = lut[pm]
        lab = torch.where(fg & (lab == 0), torch.ones_like(lab), lab)
    return _resize(lab, size, "nearest")


def extract_features(
    images: torch.Tensor,
    backend: Backend,
    cfg: FeaturesConfig,
    device: torch.device | str = "cpu",
    weights_cfg: WeightsConfig | None = None,
    gt: GroundTruthMasks | None = None,
    model: Any = None,
    crops: Sequence[CropInfo] | None = None,
) -> FeatureResult:
    """Masks, part clusters and features for one class.

    images: (B, 3, H, W) in [0, 1] (square crops; 1024² for the DINO HR pass, any size
    otherwise). ``model``: an already-loaded (dino_model, WeightsInfo) pair to reuse.
    ``crops``: how each image was cropped (its scale places the offline backend's geometry
    prior; a guessed box brings the offline backend's per-image saliency prior)."""
    _check_backend(backend)
    t0 = time.perf_counter()
    x = check_images(images)
    device = torch.device(device)
    B = x.shape[0]
    S, hw, k = cfg.mask_size, cfg.feat_hw, cfg.n_clusters
    weights: WeightsInfo | None = None
    meta: dict[str, Any] = {}
    if backend == "dino":
        if cfg.lr_size // cfg.patch != hw:
            raise ValueError(
                f"features: lr_size {cfg.lr_size} / patch {cfg.patch} ≠ feat_hw {hw} (docs/method.md §2.1)"
            )
        net, weights = _load_dino(weights_cfg, device, model)
        amp = _amp(cfg, device)
        args = (cfg.saliency_heads, cfg.batch_size, device, amp)
        fg_prior = None
        if cfg.hr_pass:
            hr = extract_dino_hr(net, x, cfg.hr_size, *args)
            res_hr = cluster_features(
                hr.keys, hr.saliency, _resize(x, cfg.hr_size), cfg, device=device
            )
            fg_prior = _resize((res_hr.labels > 0).long(), cfg.lr_size, "nearest") > 0
        lr = extract_dino(net, x, cfg.lr_size, *args)
        res = cluster_features(
            lr.keys, lr.saliency, _resize(x, cfg.lr_size), cfg, fg_prior, device=device
        )
        masks = _resize(res.labels, S, "nearest")
        keys, saliency, centroids = lr.keys, lr.saliency, res.centroids
    else:
        off = offline_foreground(
            x,
            cfg.offline,
            cfg.seed,
            segment=backend == "offline",
            crops=crops,
        )
        keys = pool_to_grid(off.desc, hw)
        saliency = pool_to_grid(off.fg_prob[:, None], hw)[:, 0]
        if backend == "offline":
            parts = offline_parts(off, cfg, cfg.seed)
            fg_s = _resize(torch.from_numpy(off.fg_full).long(), S, "nearest").numpy() > 0
            masks = torch.from_numpy(labels_on_mask(parts.labels, fg_s))
            centroids = torch.from_numpy(parts.centroids)
            meta["facing"] = [int(v) for v in parts.facing]
        else:
            g = _oracle_gt(gt, B)
            masks = _oracle_labels(g, S, k)
            m_lr = _resize(masks, hw, "nearest")
            flat = keys.permute(0, 2, 3, 1)
            centroids = torch.stack(
                [
                    flat[m_lr == c + 1].mean(0)
                    if (m_lr == c + 1).any()
                    else keys.new_zeros(keys.shape[1])
                    for c in range(k)
                ]
            )
            saliency = (m_lr > 0).float()
    masks_lr = _resize(masks, hw, "nearest")
    feat_img, feat_part = pca_project(keys, masks_lr, centroids, cfg)
    meta["seconds"] = round(time.perf_counter() - t0, 3)
    if weights is not None and weights.random:
        meta["warning"] = "computed with RANDOM DINO weights"
    return FeatureResult(
        masks=masks.long(),
        masks_lr=masks_lr.long(),
        feat_img=feat_img,
        feat_part=feat_part,
        part_cent=part_centres(masks.long(), k),
        saliency=saliency,
        backend=backend,
        weights=weights,
        meta=meta,
    )


def rough_foreground(
    images: torch.Tensor,
    backend: Backend,
    cfg: FeaturesConfig,
    device: torch.device | str = "cpu",
    weights_cfg: WeightsConfig | None = None,
    gt: GroundTruthMasks | None = None,
    model: Any = None,
    crops: Sequence[CropInfo] | None = None,
) -> torch.Tensor:
    """Rough foreground for input enhancement (docs/method.md §2.2 step 2): (B, H, W) bool at the
    images' own resolution. DINO: saliency ≥ ``rough_fg_threshold`` (0.03) pools FG patches.
    ``crops`` as in :func:`extract_features`."""
    _check_backend(backend)
    x = check_images(images)
    H = x.shape[-1]
    if backend == "dino":
        device = torch.device(device)
        net, _ = _load_dino(weights_cfg, device, model)
        lr = extract_dino(
            net, x, cfg.lr_size, cfg.saliency_heads, cfg.batch_size, device, _amp(cfg, device)
        )
        return rough_foreground_from_saliency(lr.keys, lr.saliency, cfg, H)
    if backend == "oracle":
        g = _oracle_gt(gt, x.shape[0])
        return _resize(torch.from_numpy(np.asarray(g.masks, dtype=bool)).long(), H, "nearest") > 0
    off = offline_foreground(x, cfg.offline, cfg.seed, crops=crops)
    return _resize(torch.from_numpy(off.fg_full).long(), H, "nearest") > 0
