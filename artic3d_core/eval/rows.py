"""Evaluation results → metric rows (values in the paper's units: PCK and IoU in %)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from artic3d_core.eval.iou import IoUResult
from artic3d_core.eval.pck import PCKResult
from artic3d_core.metrics.schema import MetricRow, RunContext

if TYPE_CHECKING:  # pragma: no cover
    from artic3d_core.eval.clip_similarity import CLIPSimilarity

__all__ = ["PCK_METRICS", "clip_rows", "iou_row", "pck_rows"]


# PCKResult.mode → metric name
PCK_METRICS = {
    "paper": "pck",
    "reference": "pck_reference",
    "bbox": "pck_bbox",
    "bbox_mirror": "pck_bbox_mirror",
    "bbox_mirror_gt": "pck_bbox_mirror_gt",
}


def pck_rows(ctx: RunContext, result: PCKResult, seconds: float | None = None) -> list[MetricRow]:
    """One ``pck`` (paper mode), ``pck_reference`` or bounding-box baseline (``pck_bbox*``) row,
    named by the result's mode (:data:`PCK_METRICS`)."""
    if result.mode not in PCK_METRICS:
        raise ValueError(f"pck_rows: no metric for PCK mode {result.mode!r}")
    metric = PCK_METRICS[result.mode]
    return [
        ctx.row(
            metric,
            100.0 * result.pck,
            images=result.images,
            pairs=result.pairs_used,
            seconds=seconds,
            crop_scale=result.crop_scale,
            threshold=result.threshold,
        )
    ]


def iou_row(
    ctx: RunContext, metric: str, result: IoUResult, seconds: float | None = None
) -> MetricRow:
    """``sil_iou`` / ``part_iou`` / ``mask_iou`` row (mean over images, %)."""
    return ctx.row(metric, 100.0 * result.mean, images=result.images, seconds=seconds)


def clip_rows(ctx: RunContext, results: Sequence[CLIPSimilarity]) -> list[MetricRow]:
    """Class-level ``clip_s1`` / ``clip_s2``: the mean over the evaluated instances."""
    if not results:
        raise ValueError("clip_rows: no CLIP results")
    weights = (results[0].weights,)
    secs = float(sum(r.seconds for r in results))
    return [
        ctx.row(
            name,
            float(np.mean([getattr(r, name.removeprefix("clip_")) for r in results])),
            images=len(results),
            seconds=secs,
            extra_weights=weights,
        )
        for name in ("clip_s1", "clip_s2")
    ]
