"""Stages ``joint`` and ``instance`` (mapped per instance): the shape/pose/texture optimisation.

``runs/<cell>/<method>/joint/`` is the shared (class-level) result; ``instances/<i>/`` one unit
per image. Both wrap ``artic3d_core.optim`` (``run_joint`` / ``run_instance``); until those
exist the stage fails with :class:`tasks.errors.StageUnavailableError` — never a fake result.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from prefect import task

from tasks.artifacts import UnitResult, build_unit
from tasks.context import StageContext
from tasks.options import TASK_OPTIONS
from tasks.require import require

SECTIONS = ("model", "render", "losses", "optim", "guidance", "weights")
MODULES = (
    "artic3d_core.model",
    "artic3d_core.render",
    "artic3d_core.losses",
    "artic3d_core.optim",
    "artic3d_core.guidance",
    "tasks.optimise",
)


def run_joint(
    ctx: StageContext, data: UnitResult, features: UnitResult, skeleton: UnitResult
) -> UnitResult:
    out = ctx.layout.stage_dir(ctx.cell, ctx.method or "", "joint")
    key = ctx.key(
        "joint", SECTIONS, MODULES, data=data.key, features=features.key, skeleton=skeleton.key
    )

    # per-stage checkpoints outside the unit's temp folder: a killed run resumes mid-phase
    ckpt = out.with_name(f".{out.name}.ckpt-{key[:16]}")

    def body(tmp: Path) -> dict[str, Any]:
        joint = require("artic3d_core.optim.pipeline", "run_joint", "joint optimisation")
        res = joint(
            data_dir=Path(data.path),
            features_dir=Path(features.path),
            skeleton_dir=Path(skeleton.path),
            out_dir=tmp,
            params=ctx.params,
            method=ctx.method,
            device=ctx.device,
            seed=ctx.seed_for("joint"),
            ckpt_dir=ckpt,
            cls=ctx.cell.cls,
        )
        return dict(res or {})

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

    def body(tmp: Path) -> dict[str, Any]:
        inst = require("artic3d_core.optim.pipeline", "run_instance", "instance optimisation")
        res = inst(
            joint_dir=Path(joint.path),
            index=index,
            out_dir=tmp,
            params=ctx.params,
            method=ctx.method,
            device=ctx.device,
            seed=ctx.seed_for("instance", index),
        )
        return dict(res or {})

    return build_unit(
        "instance",
        out,
        key,
        ctx.provenance(SECTIONS, MODULES),
        body,
        ctx.forced,
        not ctx.runs("optimise"),
    )


@task(name="joint-optimisation", **TASK_OPTIONS)
def joint_task(
    ctx: StageContext, data: UnitResult, features: UnitResult, skeleton: UnitResult
) -> UnitResult:
    return run_joint(ctx, data, features, skeleton)


@task(name="instance-optimisation", **TASK_OPTIONS)
def instance_task(ctx: StageContext, joint: UnitResult, index: int) -> UnitResult:
    return run_instance(ctx, joint, index)
