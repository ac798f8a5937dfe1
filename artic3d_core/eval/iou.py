"""Silhouette and part IoU per image, averaged (docs/method.md §10.2; arrays in, numbers out).

Silhouette IoU: predicted silhouette = any part label (or a boolean mask), GT = any GT part label;
IoU = |P∩G| / |P∪G| per image, mean over images (an image where both are empty scores 1).

Part IoU: predicted part labels (the discovered skeleton's parts, 1..nb) have no fixed
correspondence to Pascal-Part's labels (1..16, docs/method.md §1.5), so each predicted part is
assigned one GT label over the whole class: ``hungarian`` (one-to-one, maximising the summed
overlap) or
``majority`` (each predicted part → the GT label it overlaps most; several may share one).
Unassigned predicted parts count as no part. Per image, part IoU = mean over the GT labels present
in the GT or in the mapped prediction of their IoU; then the mean over images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

__all__ = ["IoUResult", "part_iou", "part_label_assignment", "silhouette_iou"]


@dataclass(frozen=True)
class IoUResult:
    """``mean`` over images (fraction in [0, 1]); ``per_image`` (B,)."""

    mean: float
    per_image: np.ndarray = field(repr=False)
    images: int
    assignment: dict[int, int] | None = None  # predicted label → GT label (part IoU only)


def _as_batch(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"{name} must be (B, H, W) or (H, W), got shape {x.shape}")
    return x


def silhouette_iou(pred: np.ndarray, gt: np.ndarray) -> IoUResult:
    """Per-image silhouette IoU. ``pred``/``gt``: (B, H, W) bool masks or integer labels (>0 = FG)."""
    p = _as_batch(pred, "silhouette_iou: pred") > 0
    g = _as_batch(gt, "silhouette_iou: gt") > 0
    if p.shape != g.shape:
        raise ValueError(f"silhouette_iou: pred {p.shape} and gt {g.shape} differ in shape")
    inter = (p & g).sum(axis=(1, 2))
    union = (p | g).sum(axis=(1, 2))
    per = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    return IoUResult(float(per.mean()), per, int(p.shape[0]))


def part_label_assignment(
    pred: np.ndarray, gt: np.ndarray, method: Literal["hungarian", "majority"] = "hungarian"
) -> dict[int, int]:
    """Map each predicted part label (>0) to a GT part label (>0) over the whole batch."""
    p = _as_batch(pred, "part_label_assignment: pred").astype(np.int64)
    g = _as_batch(gt, "part_label_assignment: gt").astype(np.int64)
    if p.shape != g.shape:
        raise ValueError(f"part_label_assignment: pred {p.shape} and gt {g.shape} differ")
    if p.min(initial=0) < 0 or g.min(initial=0) < 0:
        raise ValueError("part_label_assignment: labels must be >= 0 (0 = background)")
    p_labels = [int(v) for v in np.unique(p) if v > 0]
    g_labels = [int(v) for v in np.unique(g) if v > 0]
    if not p_labels or not g_labels:
        return {}
    conf = np.zeros((max(p_labels) + 1, max(g_labels) + 1), dtype=np.int64)
    np.add.at(conf, (p.ravel(), g.ravel()), 1)
    conf = conf[np.ix_(p_labels, g_labels)]
    if method == "majority":
        return {
            pl: g_labels[int(conf[i].argmax())] for i, pl in enumerate(p_labels) if conf[i].any()
        }
    if method != "hungarian":
        raise ValueError(f"part_label_assignment: unknown method {method!r}")
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(conf, maximize=True)
    return {p_labels[r]: g_labels[c] for r, c in zip(rows, cols, strict=True) if conf[r, c] > 0}


def part_iou(
    pred: np.ndarray,
    gt: np.ndarray,
    assignment: dict[int, int] | Literal["hungarian", "majority"] = "hungarian",
) -> IoUResult:
    """Per-image mean part IoU after mapping predicted labels to GT labels.

    Args:
        pred: (B, H, W) int predicted part labels (0 = background).
        gt: (B, H, W) int GT part labels (0 = background; Pascal-Part: 1..16).
        assignment: an explicit predicted → GT label map, or how to compute one (module docs).
    """
    p = _as_batch(pred, "part_iou: pred").astype(np.int64)
    g = _as_batch(gt, "part_iou: gt").astype(np.int64)
    if p.shape != g.shape:
        raise ValueError(f"part_iou: pred {p.shape} and gt {g.shape} differ in shape")
    amap = assignment if isinstance(assignment, dict) else part_label_assignment(p, g, assignment)
    lut = np.zeros(max(int(p.max(initial=0)), *amap.keys(), 0) + 1, dtype=np.int64)
    for k, v in amap.items():
        lut[k] = v
    mapped = lut[p]
    per = np.empty(p.shape[0])
    for i in range(p.shape[0]):
        labels = set(np.unique(g[i]).tolist()) | set(np.unique(mapped[i]).tolist())
        labels.discard(0)
        if not labels:
            per[i] = 1.0
            continue
        ious = []
        for lab in sorted(labels):
            a, b = mapped[i] == lab, g[i] == lab
            ious.append((a & b).sum() / (a | b).sum())
        per[i] = float(np.mean(ious))
    return IoUResult(float(per.mean()), per, int(p.shape[0]), dict(amap))
