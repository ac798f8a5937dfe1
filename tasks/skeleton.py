"""Stage ``skeleton``: discover the 3D skeleton from the clustered masks (``docs/method.md §3``);
wraps :func:`artic3d_core.pipeline.stages.run_skeleton`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task

from artic3d_core.pipeline import stages
from tasks.artifacts import UnitResult, build_unit
from tasks.context import PIPELINE_MODULES, StageContext
from tasks.options import TASK_OPTIONS

SECTIONS = ("skeleton", "features")
MODULES = ("artic3d_core.skeleton", *PIPELINE_MODULES, "tasks.skeleton")


def run_skeleton(ctx: StageContext, features: UnitResult) -> UnitResult:
    out = ctx.layout.stage_dir(ctx.cell, ctx.method or "", "skeleton")
    key = ctx.key("skeleton", SECTIONS, MODULES, features=features.key)

    def body(tmp: Path) -> dict[str, Any]:
        return stages.run_skeleton(ctx.params, Path(features.path), tmp)

    return build_unit(
        "skeleton",
        out,
        key,
        ctx.provenance(SECTIONS, MODULES),
        body,
        ctx.forced,
        not ctx.runs("skeleton"),
    )


@task(name="skeleton", **TASK_OPTIONS)
def skeleton_task(ctx: StageContext, features: UnitResult) -> UnitResult:
    return run_skeleton(ctx, features)
