"""Stages ``joint`` and ``instance`` (mapped per instance): the shape/pose/texture optimisation.

``runs/<cell>/<method>/joint/`` is the shared (class-level) result; ``instances/<i>/`` one unit
per image. Both wrap :mod:`artic3d_core.pipeline.stages` (``run_joint`` / ``run_instance``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from prefect import task

from artic3d_core.pipeline import stages
from tasks.artifacts import UnitResult, build_unit
from tasks.context import PIPELINE_MODULES, StageContext
from tasks.options import TASK_OPTIONS

SECTIONS = ("model", "render", "losses", "optim", "guidance", "weights")
MODULES = (
    "artic3d_core.model",
    "artic3d_core.render",
    "artic3d_core.losses",
    "artic3d_core.optim",
    "artic3d_core.guidance",
    *PIPELINE_MODULES,
    "tasks.optimise",
)


def run_joint(
    ctx: StageContext,
    data: UnitResult,
    features: UnitResult,
    skeleton: UnitResult,
    enhanced: list[UnitResult],
) -> UnitResult:
    out = ctx.layout.stage_dir(ctx.cell, ctx.method or "", "joint")
    key = ctx.key(
        "joint", SECTIONS, MODULES, data=data.key, features=features.key, skeleton=skeleton.key
    )

    # per-stage checkpoints outside the unit's temp folder: a killed run resumes mid-phase
    ckpt = out.with_name(f".{out.name}.ckpt-{key[:16]}")

    def body(tmp: Path) -> dict[str, Any]:
        return stages.run_joint(
            ctx.params, Path(data.path), Path(features.path), Path(skeleton.path), tmp,
            ctx.method or "", ctx.device, ctx.seed_for("joint"), ctx.cell.cls,
            [Path(u.path) for u in enhanced], ckpt,
        )  # fmt: skip

    res = build_unit(
        "joint",
        out,
        key,
        ctx.provenance(SECTIONS, MODULES),
        body,
        ctx.forced,
        not ctx.runs("optimise"),
    )
    shutil.rmtree(ckpt, ignore_errors=True)  # the unit is complete: its checkpoints are spent
    return res


def run_instance(ctx: StageContext, joint: UnitResult, index: int) -> UnitResult:
    out = ctx.layout.instance_dir(ctx.cell, ctx.method or "", index)
    key = ctx.key("instance", SECTIONS, MODULES, joint=joint.key, index=index)
    ckpt = out.with_name(f".{out.name}.ckpt-{key[:16]}")  # as the joint unit's

    def body(tmp: Path) -> dict[str, Any]:
        return stages.run_instance(
            ctx.params, Path(joint.path), index, tmp, ctx.method or "", ctx.device,
            ctx.seed_for("instance", index), True, ckpt,
        )  # fmt: skip

    res = build_unit(
        "instance",
        out,
        key,
        ctx.provenance(SECTIONS, MODULES),
        body,
        ctx.forced,
        not ctx.runs("optimise"),
    )
    shutil.rmtree(ckpt, ignore_errors=True)
    return res


@task(name="joint-optimisation", **TASK_OPTIONS)
def joint_task(
    ctx: StageContext,
    data: UnitResult,
    features: UnitResult,
    skeleton: UnitResult,
    enhanced: list[UnitResult],
) -> UnitResult:
    return run_joint(ctx, data, features, skeleton, enhanced)


@task(name="instance-optimisation", **TASK_OPTIONS)
def instance_task(ctx: StageContext, joint: UnitResult, index: int) -> UnitResult:
    return run_instance(ctx, joint, index)
