"""Stage ``eval``: PCK transfer, IoU, CLIP similarity, 3D errors → metric rows (parquet).

``runs/<cell>/<method>/eval/``: ``metrics.parquet`` (rows in the schema of
:mod:`artic3d_core.metrics.schema`) and ``metrics.json`` (metric → value, for a glance).
Wraps :func:`artic3d_core.pipeline.stages.run_eval`; the ``minutes`` rows sum the seconds the
upstream units' manifests record (a reused unit counts with the time it took when it ran).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task

from artic3d_core.pipeline import stages
from artic3d_core.pipeline.stage_files import read_crop_index
from tasks.artifacts import UnitResult, build_unit, read_manifest
from tasks.context import PIPELINE_MODULES, StageContext
from tasks.options import TASK_OPTIONS

SECTIONS = ("eval",)
MODULES = ("artic3d_core.eval", "artic3d_core.metrics", *PIPELINE_MODULES, "tasks.evaluate")


def upstream_seconds(
    ctx: StageContext, data: UnitResult, joint: UnitResult, instances: list[UnitResult]
) -> float | None:
    """Seconds recorded by the manifests of the cell's units before the evaluation: data,
    rough foreground and enhanced images (where the method made them), features, skeleton,
    joint, the given instances and the animation; None when no manifest records any."""
    lay, cell, method = ctx.layout, ctx.cell, ctx.method or ""
    ids = [str(r["image_id"]) for r in read_crop_index(data.path)]
    dirs = [Path(data.path), lay.rough_fg_dir(cell, method)]
    dirs += [lay.enhanced_dir(cell, method, i) for i in ids]
    dirs += [lay.features_dir(cell, method), lay.stage_dir(cell, method, "skeleton")]
    dirs += [Path(joint.path), *(Path(u.path) for u in instances)]
    if ctx.params.pipeline.animate and instances:
        dirs.append(lay.animation_dir(cell, method, 0))
    found = [m["seconds"] for d in dirs if (m := read_manifest(d)) and m.get("seconds") is not None]
    return float(sum(found)) if found else None


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
            prov.git_revision, upstream_seconds(ctx, data, joint, instances),
        )  # fmt: skip
        return {"n_rows": res["n_rows"]}

    return build_unit("eval", out, key, prov, body, ctx.forced, not ctx.runs("eval"))


@task(name="evaluation", **TASK_OPTIONS)
def eval_task(
    ctx: StageContext, data: UnitResult, joint: UnitResult, instances: list[UnitResult]
) -> UnitResult:
    return run_eval(ctx, data, joint, instances)
