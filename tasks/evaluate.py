"""Stage ``eval``: PCK transfer, IoU, CLIP similarity, 3D errors → metric rows (parquet).

``runs/<cell>/<method>/eval/``: ``metrics.parquet`` (rows in the schema of
:mod:`artic3d_core.metrics.schema`) and ``metrics.json`` (metric → value, for a glance).
Wraps :func:`artic3d_core.pipeline.stages.run_eval`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task

from artic3d_core.pipeline import stages
from tasks.artifacts import UnitResult, build_unit
from tasks.context import PIPELINE_MODULES, StageContext
from tasks.options import TASK_OPTIONS

SECTIONS = ("eval",)
MODULES = ("artic3d_core.eval", "artic3d_core.metrics", *PIPELINE_MODULES, "tasks.evaluate")


def run_eval(
    ctx: StageContext, data: UnitResult, joint: UnitResult, instances: list[UnitResult]
) -> UnitResult:
    out = ctx.layout.stage_dir(ctx.cell, ctx.method or "", "eval")
    key = ctx.key(
        "eval", SECTIONS, MODULES, data=data.key, joint=joint.key, inst=[u.key for u in instances]
    )
    prov = ctx.provenance(SECTIONS, MODULES)

    def body(tmp: Path) -> dict[str, Any]:
        res = stages.run_eval(
            ctx.params, Path(data.path), Path(joint.path), [Path(u.path) for u in instances], tmp,
            ctx.cell.dataset, ctx.cell.cls, ctx.method or "", ctx.device, prov.params_hash,
            prov.git_revision,
        )  # fmt: skip
        return {"n_rows": res["n_rows"]}

    return build_unit("eval", out, key, prov, body, ctx.forced, not ctx.runs("eval"))


@task(name="evaluation", **TASK_OPTIONS)
def eval_task(
    ctx: StageContext, data: UnitResult, joint: UnitResult, instances: list[UnitResult]
) -> UnitResult:
    return run_eval(ctx, data, joint, instances)
