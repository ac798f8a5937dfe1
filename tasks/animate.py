"""Stage ``animate`` (optional, ``pipeline.animate``): the pose sequence of instance 0, its
renders (GIF + MP4), T-DASS before/after videos and the rigged, animated GLB.

``runs/<cell>/<method>/animation/<i>/`` — wraps :func:`artic3d_core.pipeline.stages.run_animation`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task

from artic3d_core.pipeline import stages
from tasks.artifacts import UnitResult, build_unit
from tasks.context import PIPELINE_MODULES, StageContext
from tasks.options import TASK_OPTIONS

SECTIONS = ("animate", "guidance", "weights", "model")
MODULES = ("artic3d_core.animate", "artic3d_core.export", *PIPELINE_MODULES, "tasks.animate")


def run_animate(ctx: StageContext, joint: UnitResult, inst: UnitResult, index: int) -> UnitResult:
    out = ctx.layout.animation_dir(ctx.cell, ctx.method or "", index)
    key = ctx.key("animate", SECTIONS, MODULES, joint=joint.key, inst=inst.key, index=index)

    def body(tmp: Path) -> dict[str, Any]:
        return stages.run_animation(
            ctx.params, Path(joint.path), Path(inst.path), tmp, ctx.device, ctx.seed_for("animate")
        )

    return build_unit(
        "animate",
        out,
        key,
        ctx.provenance(SECTIONS, MODULES),
        body,
        ctx.forced,
        not ctx.runs("animate"),
    )


@task(name="animation", **TASK_OPTIONS)
def animate_task(ctx: StageContext, joint: UnitResult, inst: UnitResult, index: int) -> UnitResult:
    return run_animate(ctx, joint, inst, index)
