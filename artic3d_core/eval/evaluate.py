"""Evaluate one reconstructed class (dataset × class × method) into metric rows.

Protocol per set (docs/method.md §10): ``clean`` = the clean images only (LASSIE, Table 1 top);
``occluded`` = all images, clean + occluded (E-LASSIE evaluates on all 45 per class). Metrics:
PCK@0.1 keypoint transfer (paper mode with per-image indexing, and the reference variant)
with the bounding-box transfer baseline beside it (``pck_bbox``; ``pck_bbox_mirror`` flips x
for pairs the method's azimuths say face opposite ways, ``pck_bbox_mirror_gt`` the same by the
synthetic ground truth's azimuths; boxes from the dataset's masks, else the preprocessing
foreground masks, per image the visible keypoints' box where the mask is empty — a note says
which),
mask IoU against the dataset's masks (synthetic GT / Pascal-Part), part IoU on Pascal classes,
CLIP s1/s2 (36 azimuths at 30°), and on the synthetic benchmark the azimuth error (plain and
mirror-invariant) and the 3D keypoint and joint errors after a similarity alignment
(:func:`artic3d_core.eval.ground_truth.image_error_3d`), in GT units and in % of the GT extent.
With the wall time of the stages before the evaluation (``run_seconds``), each set also gets a
``minutes`` row. Instances without an instance-stage result are evaluated with the joint model.
A metric the data cannot support is left out and named in the notes: PCK without two images
that share a visible keypoint (an image folder has no keypoints), mask IoU without masks, 3D
errors for images with fewer than three visible keypoints.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from artic3d_core.config import Params
from artic3d_core.data.crop import ClassCrops
from artic3d_core.data.records import KEYPOINT_NAMES
from artic3d_core.eval.bbox import (
    FROM_CROP,
    FROM_KEYPOINTS,
    Boxes,
    boxes_from_masks,
    facing_from_azimuth,
    pck_bbox,
)
from artic3d_core.eval.clip_similarity import CLIPScorer, clip_similarity, masked_image
from artic3d_core.eval.ground_truth import (
    ImageError3D,
    azimuth_error,
    image_error_3d,
    set_error_3d,
)
from artic3d_core.eval.iou import part_iou, silhouette_iou
from artic3d_core.eval.pck import pck_transfer
from artic3d_core.eval.rows import azimuth_rows, clip_rows, error_3d_rows, iou_row, pck_rows
from artic3d_core.metrics.schema import NO_SPLIT, MetricRow, RunContext
from artic3d_core.model.articulated import ArticulatedModel
from artic3d_core.optim.outputs import instance_geometry, render_instance_views
from artic3d_core.weights import WeightsInfo

log = logging.getLogger(__name__)


NO_KEYPOINTS = "no keypoints: PCK not computed"
NO_MASKS = "no masks: mask IoU not computed"


@dataclass
class ClassEvaluation:
    """The metric rows of one class, per set the PCK of each named keypoint (%), and per set
    notes, one line each: the metrics the data cannot support (e.g. :data:`NO_KEYPOINTS`) and
    where the bounding-box baseline's boxes came from."""

    rows: list[MetricRow]
    pck_per_keypoint: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)


def pck_skip_reason(keypoints: np.ndarray) -> str | None:
    """Why PCK transfer cannot be computed on ``keypoints`` (N, 14, 3), or None when it can:
    it needs two images that share a visible keypoint (an image folder has no keypoints)."""
    vis = keypoints[..., 2] > 0
    if len(vis) < 2:
        return f"{len(vis)} image: PCK needs 2, not computed"
    if not vis.any():
        return NO_KEYPOINTS
    shared = vis.astype(np.int64) @ vis.T.astype(np.int64)
    np.fill_diagonal(shared, 0)
    if not shared.any():
        return "no pair of images shares a visible keypoint: PCK not computed"
    return None


def _dedupe(infos: list[WeightsInfo]) -> tuple[WeightsInfo, ...]:
    seen, out = set(), []
    for w in infos:
        if (w.model, w.fingerprint) not in seen:
            seen.add((w.model, w.fingerprint))
            out.append(w)
    return tuple(out)


def _synthetic_ground_truth(index: list[dict[str, Any]], cls: str) -> list[Any] | None:
    """The ground truth (:class:`~artic3d_core.data.synthetic.SynthGroundTruth`) of each
    synthetic image, in crop order, from the ground-truth sidecar; None when it is missing."""
    from artic3d_core.data.synthetic import load_ground_truth

    try:
        root = Path(index[0]["path"]).parents[2]
        gts = {str(g.image_id): g for g in load_ground_truth(root, cls)}
        return [gts[str(r["image_id"])] for r in index]
    except (FileNotFoundError, KeyError, AttributeError, ValueError, IndexError) as exc:
        log.warning("no synthetic ground truth: %s", exc)
        return None


NO_3D = "no image with 3 visible keypoints: 3D errors not computed"


def image_errors_3d(
    verts_3d: np.ndarray,
    verts_2d: np.ndarray,
    visible: np.ndarray,
    joints_3d: np.ndarray,
    keypoints: np.ndarray,
    gts: list[Any],
    with_scale: bool,
) -> list[ImageError3D | None]:
    """Per image k the 3D errors of (verts_3d (B, V, 3), verts_2d (B, V, 2), visible (B, V),
    joints_3d (B, nj, 3)) against ``gts[k]``'s keypoints and joints; ``keypoints`` (B, 14, 3)
    the GT 2D keypoints in crop units. None where fewer than 3 keypoints are usable."""
    out: list[ImageError3D | None] = []
    for k, g in enumerate(gts):
        try:
            err = image_error_3d(
                verts_3d[k], verts_2d[k], visible[k], joints_3d[k], keypoints[k],
                g.keypoints_3d, g.keypoint_present, g.joints_3d, with_scale,
            )  # fmt: skip
            out.append(err)
        except ValueError:
            out.append(None)
    return out


def bbox_note(boxes: Boxes, masks_from: str) -> str:
    """Where the bounding-box baseline's boxes of a set came from, for the notes."""
    n_kp, n_crop = boxes.count(FROM_KEYPOINTS), boxes.count(FROM_CROP)
    note = f"PCK (bbox): boxes from {masks_from}"
    if n_kp:
        note += f"; {n_kp} of {len(boxes.source)} from the visible keypoints (empty mask)"
    if n_crop:
        note += f"; {n_crop} the whole crop (empty mask, no visible keypoint)"
    return note


def evaluate_class(
    crops: ClassCrops,
    joint: ArticulatedModel,
    models: list[ArticulatedModel],
    foreground: torch.Tensor,
    weights: list[WeightsInfo],
    feature_backend: str,
    params: Params,
    dataset: str,
    cls: str,
    method: str,
    device,
    params_hash: str,
    git_rev: str,
    run_seconds: float | None = None,
) -> ClassEvaluation:
    """All metric rows of one class; see the module docstring for the protocol.

    ``models[k]``: instance k's model (the joint model where no instance stage ran);
    ``foreground``: (N, S, S) bool preprocessing masks (the CLIP reference crops);
    ``weights``: the weights that made the inputs (features, guidance), recorded per row;
    ``run_seconds``: wall seconds of the class's stages before the evaluation (None: no
    ``minutes`` row)."""
    cfg = params.eval
    B = joint.n_instances
    weights = list(weights)
    backend = feature_backend
    size = params.eval_render_size()

    t0 = time.time()
    geo = instance_geometry(models, level=3, image_size=size)
    v2d, vis = geo.verts_2d.cpu().numpy(), geo.vert_visible.cpu().numpy()
    sil = geo.silhouettes.cpu()
    geo_s = time.time() - t0

    scorer = CLIPScorer.from_config(
        params.weights, device, cfg.clip_image_size, cfg.clip_batch_size
    )
    fg = foreground.bool().cpu()
    clip_res = []
    for k in range(B):
        img = crops.images[k]
        mask = F.interpolate(fg[k][None, None].float(), size=img.shape[-2:], mode="nearest")[0, 0]
        ref = masked_image(img, mask > 0.5, cfg.clip_background)

        def render(az, el, _k=k):
            return render_instance_views(
                models[_k], _k, az, el, image_size=size, background=tuple(cfg.clip_background)
            )

        clip_res.append(
            clip_similarity(
                render,
                ref,
                cls.split("-")[0],
                scorer,
                n_azimuths=cfg.clip_n_azimuths,
                elevation_deg=cfg.clip_elevation_deg,
                prompt=cfg.clip_prompt,
            )
        )

    sets = np.array(crops.sets)
    groups = {"clean": np.nonzero(sets == "clean")[0]}
    if (sets == "occluded").any():
        groups["occluded"] = np.arange(B)  # E-LASSIE protocol: all images
    gts = _synthetic_ground_truth(crops.index, cls) if dataset == "synthetic" else None
    gt_az = None if gts is None else np.array([np.degrees(g.global_rot[2]) for g in gts])
    err3d = None
    if gts is not None:
        err3d = image_errors_3d(
            geo.verts_3d.cpu().numpy(), v2d, vis, geo.joints_3d.cpu().numpy(), crops.keypoints,
            gts, cfg.align_with_scale,
        )  # fmt: skip
    split, preset = NO_SPLIT, None
    if dataset == "synthetic":
        from artic3d_core.data.synthetic.ground_truth import benchmark_identity

        split, preset = benchmark_identity(Path(crops.index[0]["path"]).parents[2])
    if crops.masks is not None:
        box_masks, masks_from = np.asarray(crops.masks), "the dataset's masks"
    else:
        box_masks, masks_from = fg.numpy(), "the preprocessing foreground masks"
    pred_az = np.degrees(joint.global_rot[:, 2].detach().cpu().numpy())  # (B,) fitted azimuths
    facing = facing_from_azimuth(pred_az)
    facing_gt = None if gt_az is None else facing_from_azimuth(gt_az)
    rows: list[MetricRow] = []
    per_kp: dict[str, dict[str, float]] = {}
    notes: dict[str, list[str]] = {}
    for set_name, idx in groups.items():
        if len(idx) == 0:
            continue
        ctx = RunContext(
            dataset, set_name, cls, method, params_hash, str(device), backend,
            _dedupe(weights), split, preset, params.seed, git_rev=git_rev,
        )  # fmt: skip
        kps = crops.keypoints[idx]
        skip = pck_skip_reason(kps)
        if skip is not None:
            log.info("%s/%s %s: %s", dataset, cls, set_name, skip)
            notes.setdefault(set_name, []).append(skip)
        else:
            scale = float(crops.index[idx[0]].get("crop_scale", params.data.crop_scale))
            res = pck_transfer(
                v2d[idx], vis[idx], kps, cfg.pck_threshold, "paper", crop_scale=scale
            )
            rows += pck_rows(ctx, res, seconds=geo_s)
            per_kp[set_name] = {
                n: round(100.0 * float(v), 2)
                for n, v in zip(KEYPOINT_NAMES, res.per_keypoint, strict=True)
                if np.isfinite(v)
            }
            if cfg.pck_report_reference:
                ref_res = pck_transfer(
                    v2d[idx], vis[idx], kps, cfg.pck_threshold, "reference", crop_scale=scale
                )
                rows += pck_rows(ctx, ref_res)
            boxes = boxes_from_masks(box_masks[idx], kps)
            notes.setdefault(set_name, []).append(bbox_note(boxes, masks_from))
            variants = [(None, "bbox"), (facing[idx], "bbox_mirror")]
            if facing_gt is not None:
                variants.append((facing_gt[idx], "bbox_mirror_gt"))
            for face, mode in variants:
                bb = pck_bbox(
                    kps, boxes.boxes, cfg.pck_threshold, face, mode=mode, crop_scale=scale
                )
                rows += pck_rows(ctx, bb)
        if crops.masks is not None:
            gt = crops.masks[idx]
            pred = F.interpolate(sil[idx][:, None].float(), size=gt.shape[-2:], mode="nearest")
            rows.append(iou_row(ctx, "mask_iou", silhouette_iou(pred[:, 0].numpy() > 0.5, gt)))
        else:
            notes.setdefault(set_name, []).append(NO_MASKS)
        if crops.part_masks is not None and cls in cfg.iou_classes:
            gtp = crops.part_masks[idx]
            pp = F.interpolate(geo.part_masks[idx][:, None].float().cpu(), size=gtp.shape[-2:])
            rows.append(
                iou_row(
                    ctx, "part_iou", part_iou(pp[:, 0].long().numpy(), gtp, cfg.part_iou_assignment)
                )
            )
        rows += clip_rows(ctx, [clip_res[i] for i in idx])
        if gt_az is not None:
            err = azimuth_error(pred_az[idx], gt_az[idx], cfg.azimuth_mirror_center_deg)
            rows += azimuth_rows(ctx, err)
        if err3d is not None:
            agg = set_error_3d([err3d[i] for i in idx])
            if agg is None:
                notes.setdefault(set_name, []).append(NO_3D)
            else:
                rows += error_3d_rows(ctx, agg)
                if agg.skipped:
                    notes.setdefault(set_name, []).append(
                        f"3D errors: {agg.skipped} of {len(idx)} images left out "
                        "(fewer than 3 visible keypoints)"
                    )
        if run_seconds is not None:
            rows.append(ctx.row("minutes", run_seconds / 60.0, images=B, seconds=run_seconds))
    return ClassEvaluation(rows, per_kp, notes)
