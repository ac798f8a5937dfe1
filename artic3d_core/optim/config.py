"""Typed ``optim``-section of params.yaml: optimisation stages and schedules (docs/method.md §7).

Stages are data: each :class:`StageSpec` names its iterations, learning rate, optimised
parameter groups, loss weights, mesh level, render size and σ. ``schedules`` holds named lists;
``schedule`` picks one. The schedules are written out in params.yaml only (``paper`` =
``docs/method.md §7.1/§7.2``, ``demo`` = a short CPU schedule): the model has none built in, so
there is one copy to edit and to review.

Every stage runs at least one iteration and every schedule holds at least one joint stage: the
joint phase is what fits pose and shape, so a schedule without it (``[]`` included) would
evaluate the untouched initial model. Both are validation errors naming the key; to drop a
stage, remove it from the list.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from artic3d_core.strict import StrictModel

PARAM_GROUPS = ("global", "bone_rot", "part_codes", "mlp", "mlp_instance", "texture")
LOSS_NAMES = (
    "sil", "feat", "part_cent", "can_prior", "pose_prior", "global_prior", "cam_anchor",
    "shape_prior", "instance", "lap", "norm", "inflat", "text_init", "text", "guidance",
)  # fmt: skip


class StageSpec(StrictModel):
    """One optimisation stage (a row of docs/method.md §7.1 / §7.2)."""

    name: str
    phase: Literal["joint", "instance"] = "joint"
    iters: int = Field(100, ge=1)
    lr: float = Field(0.05, gt=0)
    params: list[str] = Field(default_factory=lambda: ["global"])
    lev: int = Field(3, ge=0, le=3, description="bone level: 1 root-attached, 2 depth ≤ 2, 3 all")
    mesh_level: int = Field(2, ge=0, le=6)
    deform: bool = False
    w_xy: float = 1.0
    sigma: float = Field(1e-4, gt=0)
    decay: bool = False
    image_size: int = Field(64, ge=8, description="render size of sil/text/guidance renders")
    faces_per_pixel: int = Field(50, ge=1)
    rasteriser: Literal["auto", "torch", "pytorch3d"] | None = Field(
        None, description="rasteriser of this stage's renders (None: render.rasteriser)"
    )
    texture: Literal["none", "uv", "sample"] = "none"
    feat_grid: int | None = Field(
        None, ge=4, description="chamfer feature grid (None: as given, 64²)"
    )
    weights: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> StageSpec:
        bad = [p for p in self.params if p not in PARAM_GROUPS]
        if bad:
            raise ValueError(f"stage {self.name}: unknown params {bad}; known {list(PARAM_GROUPS)}")
        badw = [k for k in self.weights if k not in LOSS_NAMES]
        if badw:
            raise ValueError(f"stage {self.name}: unknown losses {badw}; known {list(LOSS_NAMES)}")
        return self


class OptimConfig(StrictModel):
    """The ``optim`` section of params.yaml."""

    schedule: str = Field("demo", description="key of ``schedules`` to run")
    schedules: dict[str, list[StageSpec]] = Field(
        default_factory=dict, description="named stage lists; defined in params.yaml"
    )
    prior_level: int = Field(5, ge=0, le=6, description="sphere level of shape/instance/lap/norm")
    demo_prior_level: int = Field(
        3, ge=0, le=6, description="prior level used by the demo schedule"
    )
    progress: bool = True
    checkpoint: bool = True
    instance_batch: int | None = Field(
        None,
        ge=1,
        description="instances fitted together in the per-instance stages (None: all of the "
        "class at once; 1: one after another); the same result per instance either way",
    )

    @field_validator("schedules")
    @classmethod
    def _check_schedules(cls, schedules: dict[str, list[StageSpec]]) -> dict[str, list[StageSpec]]:
        for name, stages in schedules.items():
            if not stages:
                raise ValueError(f"schedule {name!r} has no stages")
            if not any(s.phase == "joint" for s in stages):
                raise ValueError(
                    f"schedule {name!r} has no joint stage (it would not fit pose or shape)"
                )
        return schedules

    @model_validator(mode="after")
    def _check(self) -> OptimConfig:
        if self.schedules and self.schedule not in self.schedules:
            raise ValueError(f"optim.schedule {self.schedule!r} not in {sorted(self.schedules)}")
        return self

    def stages(self) -> list[StageSpec]:
        """The stages of ``schedule``; a config without schedules (params.yaml not read) cannot
        optimise and says so."""
        if self.schedule not in self.schedules:
            raise ValueError(
                f"optim.schedule {self.schedule!r}: no such schedule (defined: "
                f"{sorted(self.schedules) or 'none'}); the schedules live in params.yaml "
                "(optim.schedules)"
            )
        return self.schedules[self.schedule]

    def prior_level_for(self) -> int:
        return self.demo_prior_level if self.schedule == "demo" else self.prior_level
