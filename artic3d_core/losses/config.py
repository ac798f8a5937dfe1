"""Typed ``losses``-section of params.yaml: loss constants (docs/method.md §6). Per-stage weights
live in the ``optim`` stages."""

from pydantic import Field

from artic3d_core.strict import StrictModel


class LossesConfig(StrictModel):
    """The ``losses`` section of params.yaml."""

    feat_vertex_term: float = Field(
        0.1, ge=0, description="weight of the vertex→pixel chamfer term"
    )
    part_cent_weight: float = Field(0.1, ge=0, description="inner 0.1 of the part-centre loss")
    pose_prior_scale: float = Field(0.001, ge=0, description="Σ s_b² weight in pose_prior")
    pose_prior_axis1: float = Field(0.05, ge=0)
    pose_prior_axis2: float = Field(0.02, ge=0)
    pose_prior_root_axis2: float = Field(0.05, ge=0)
    global_prior_elev: float = Field(0.1, ge=0, description="weight of a₁² vs a₀² in global_prior")
    shape_prior_inner: float = Field(0.01, ge=0)
    feat_grid: int | None = Field(
        None,
        ge=4,
        description="resample the 64² feature grid for the chamfer (None = as given; CPU demo: 32)",
    )
    inflat_eps: float = Field(1e-5, gt=0)
