"""Typed ``animate``-section of params.yaml: animation sequences and T-DASS (docs/method.md §9)."""

from typing import Literal

from pydantic import Field

from artic3d_core.strict import StrictModel


class AnimateConfig(StrictModel):
    """The ``animate`` section of params.yaml (T-DASS prompt/t/n/g live in guidance.tdass)."""

    n_frames: int = Field(16, ge=2, description="frames of a sequence (spec: 16)")
    fps: float = Field(10.0, gt=0)
    sequence: Literal["self", "instances"] = "self"  # reference self-interpolation, or a↔b
    ping_pong: bool = True  # GIF/MP4 play 0..N-1 then N-2..1
    image_size: int = Field(512, ge=16, description="render size of the animation frames")
    mesh_level: int = Field(5, ge=0, le=6)
    tdass: bool = True
    tdass_iters: int = Field(50, ge=0, description="Adam iterations on the frame latents")
    tdass_lr: float = Field(1e-2, gt=0)
    temporal_weight: float = Field(0.05, ge=0)
    temporal_until: int = Field(45, ge=0, description="temporal term for iterations j <= this")
