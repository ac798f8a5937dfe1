"""Stages ``joint`` and ``instance`` (mapped per chunk of images fitted together): the
shape/pose/texture optimisation.

``runs/<cell>/<method>/joint/`` is the shared (class-level) result; ``instances/<i>/`` one unit
per image. Both wrap :mod:`artic3d_core.pipeline.stages` (``run_joint`` /
``fit_instances_of`` + ``write_instance``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from prefect import task

from artic3d_core.pipeline import stages
from tasks.artifacts import UnitResult, build_unit, build_units_together
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


def run_instances(ctx: StageContext, joint: UnitResult, indices: list[int]) -> list[UnitResult]:
    """The instance units of images ``indices``: those not up to date are fitted together (one
    batched optimisation, :func:`stages.fit_instances_of`), then each is written as its own
    unit (:func:`build_units_together`)."""
    outs = [ctx.layout.instance_dir(ctx.cell, ctx.method or "", i) for i in indices]
    keys = [ctx.key("instance", SECTIONS, MODULES, joint=joint.key, index=i) for i in indices]

    spent: list[Path] = []

    def compute(todo: list[int]) -> tuple[Any, float]:
        # per-stage checkpoints outside the units' temp folders: a killed run resumes mid-phase
        first = outs[todo[0]]
        spent.append(first.with_name(f".{first.name}.ckpt-{keys[todo[0]][:16]}-{len(todo)}"))
        fitted = stages.fit_instances_of(
            ctx.params, Path(joint.path), [indices[j] for j in todo], ctx.method or "",
            ctx.device, [ctx.seed_for("instance", indices[j]) for j in todo], spent[-1],
        )  # fmt: skip
        return fitted, fitted.seconds

    def write(fitted: Any, row: int, tmp: Path) -> dict[str, Any]:
        return stages.write_instance(ctx.params, fitted, row, tmp, True)

    units = build_units_together(
        "instance", outs, keys, ctx.provenance(SECTIONS, MODULES), compute, write,
        ctx.forced, not ctx.runs("optimise"),
    )  # fmt: skip
    for ckpt in spent:  # the units are complete: their checkpoints are spent
        shutil.rmtree(ckpt, ignore_errors=True)
    return units


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
def instances_task(ctx: StageContext, joint: UnitResult, indices: list[int]) -> list[UnitResult]:
    return run_instances(ctx, joint, indices)
