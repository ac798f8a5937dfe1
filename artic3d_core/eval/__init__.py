"""Evaluation: PCK keypoint transfer and its bounding-box baseline, IoU, CLIP similarity, ground-truth 3D metrics
(docs/method.md §10).

The array-level metrics are importable from here; the CLIP metric (torch, open_clip) lives in
:mod:`artic3d_core.eval.clip_similarity`.
"""

from artic3d_core.eval.bbox import Boxes, bbox_transfer, boxes_from_masks, pck_bbox
from artic3d_core.eval.ground_truth import (
    azimuth_error,
    joint_error_3d,
    keypoint_error_3d,
    keypoints_3d_from_vertices,
    umeyama,
)
from artic3d_core.eval.iou import IoUResult, part_iou, part_label_assignment, silhouette_iou
from artic3d_core.eval.pck import PCKResult, pck_transfer

__all__ = [
    "Boxes",
    "IoUResult",
    "PCKResult",
    "azimuth_error",
    "bbox_transfer",
    "boxes_from_masks",
    "joint_error_3d",
    "keypoint_error_3d",
    "keypoints_3d_from_vertices",
    "part_iou",
    "part_label_assignment",
    "pck_bbox",
    "pck_transfer",
    "silhouette_iou",
    "umeyama",
]
