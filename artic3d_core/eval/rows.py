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
    from artic3d_core.eval.ground_truth import AzimuthError, SetError3D

__all__ = ["PCK_METRICS", "azimuth_rows", "clip_rows", "error_3d_rows", "iou_row", "pck_rows"]


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


def error_3d_rows(ctx: RunContext, result: SetError3D) -> list[MetricRow]:
    """``kp3d_err`` / ``joint3d_err`` (GT units) and their ``_rel`` rows (% of the GT extent),
    means over the images scored."""
    values = {
        "kp3d_err": result.kp_mean,
        "kp3d_err_rel": 100.0 * result.kp_relative,
        "joint3d_err": result.joint_mean,
        "joint3d_err_rel": 100.0 * result.joint_relative,
    }
    return [ctx.row(m, v, images=result.images) for m, v in values.items()]


def azimuth_rows(ctx: RunContext, result: AzimuthError) -> list[MetricRow]:
    """``azim_err_deg`` and the mirror-invariant ``azim_err_mirror_deg`` (mean over images)."""
    n = int(result.per_image_deg.size)
    return [
        ctx.row("azim_err_deg", result.mean_deg, images=n),
        ctx.row("azim_err_mirror_deg", result.mean_mirror_deg, images=n),
    ]
