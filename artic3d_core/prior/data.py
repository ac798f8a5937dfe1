"""Training images for the prior: clean renders of the synthetic animals (no occluders), cropped
around the visible keypoints like the pipeline's inputs (docs/method.md §1.4) and resized.

Every image's randomness comes from ``derive_seed(seed, split, cls, index)`` with split
``prior-train`` or ``prior-heldout``; the benchmark draws from ``synth``, so the prior never sees a
benchmark image.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
import torchvision.transforms.functional as TF

from artic3d_core.data.crop import square_box, tight_box_from_keypoints
from artic3d_core.data.synthetic.generator import SIDE_CLASSES, _ClassModel, render_instance
from artic3d_core.data.synthetic.templates import TEMPLATES
from artic3d_core.prior.config import PriorDataConfig
from artic3d_core.seeding import derive_seed

SPLITS = ("prior-train", "prior-heldout")
log = logging.getLogger("artic3d.prior")


@dataclass
class PriorImages:
    """images (N, 3, S, S) uint8; labels (N,) int64 indices into ``classes``."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]

    def as_float(self) -> torch.Tensor:
        """(N, 3, S, S) float32 in [0, 1]."""
        return self.images.float() / 255.0


def prior_classes(cfg: PriorDataConfig) -> list[str]:
    """The configured classes (default: the six of the side-view benchmark presets); an
    unknown one is an error."""
    classes = list(cfg.classes) if cfg.classes else list(SIDE_CLASSES)
    unknown = [c for c in classes if c not in TEMPLATES]
    if unknown:
        raise ValueError(
            f"prior.data.classes: unknown class(es) {unknown}; templates: {', '.join(TEMPLATES)}"
        )
    return classes


def render_crop(cls: str, seed: int, cfg: PriorDataConfig) -> np.ndarray:
    """One clean render of ``cls`` from ``seed``, cropped and resized: (S, S, 3) uint8."""
    cm = _ClassModel(TEMPLATES[cls])
    rng = np.random.default_rng(seed)
    for _attempt in range(10):
        r = render_instance(cm, rng, cfg.render_size, False, cfg.supersample)
        if r.keypoints_2d[:, 2].sum() >= 4 and r.mask.sum() > 50:
            break
    box = square_box(*tight_box_from_keypoints(r.keypoints_2d), cfg.crop_scale)
    left, top, side = box
    img = torch.from_numpy(r.image).permute(2, 0, 1).float() / 255.0
    out = TF.resized_crop(img, top, left, side, side, [cfg.image_size] * 2, antialias=True)
    return np.round(out.clamp(0, 1).permute(1, 2, 0).numpy() * 255).astype(np.uint8)


def render_split(cfg: PriorDataConfig, seed: int, split: str) -> PriorImages:
    """All images of one split (``prior-train``: ``n_per_class``, ``prior-heldout``:
    ``n_heldout`` per class), class after class."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (expected one of {', '.join(SPLITS)})")
    classes = prior_classes(cfg)
    n = cfg.n_per_class if split == "prior-train" else cfg.n_heldout
    imgs, labels = [], []
    for k, cls in enumerate(classes):
        for i in range(n):
            imgs.append(render_crop(cls, derive_seed(seed, split, cls, i), cfg))
            labels.append(k)
        log.info("%s: %d images of %s rendered", split, n, cls)
    images = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).contiguous()
    return PriorImages(images, torch.tensor(labels, dtype=torch.int64), classes)
