"""Typed ``eval`` section of params.yaml: PCK keypoint transfer, IoU, CLIP similarity, GT metrics.

Defaults follow the paper / docs/method.md §10 and §14 (PCK@0.1 of the crop side, CLIP ViT-B/32 on
36 azimuths at 30° elevation, prompt "A photo of <cls>").
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from artic3d_core.strict import StrictModel


class EvalConfig(StrictModel):
    """The ``eval`` section of params.yaml."""

    # --- keypoint transfer (docs/method.md §10.1) -------------------------------------------------
    pck_threshold: float = Field(0.1, gt=0.0, description="PCK threshold in crop units")
    pck_mode: Literal["paper", "reference"] = "paper"
    # also compute the reference code's (defective) variant and record it as `pck_reference`
    pck_report_reference: bool = True
    # silhouettes and vertex visibility are rendered at this size for PCK / mask IoU (then
    # compared at the ground truth's size); null = the largest optimisation image size
    render_size: int | None = Field(None, ge=16)
    # --- Pascal-Part IoU (docs/method.md §10.2)
    # ----------------------------------------------------
    iou_classes: list[str] = Field(default_factory=lambda: ["horse", "cow", "sheep"])
    part_iou_assignment: Literal["hungarian", "majority"] = "hungarian"
    # --- CLIP similarity (docs/method.md §10.3)
    # ----------------------------------------------------
    clip_n_azimuths: int = Field(36, ge=1)
    clip_elevation_deg: float = 30.0
    clip_prompt: str = "A photo of {cls}"
    clip_image_size: int = Field(224, ge=32)
    clip_batch_size: int = Field(36, ge=1)
    # background colour of the masked input image (use the same for the renders)
    clip_background: list[float] = Field(default_factory=lambda: [1.0, 1.0, 1.0])
    # --- synthetic ground-truth metrics ----------------------------------------------------
    align_with_scale: bool = True  # similarity (True) or rigid (False) Umeyama alignment
    # the left/right mirror ambiguity of an orthographic view maps azimuth a → 2·c − a
    azimuth_mirror_center_deg: float = 90.0
