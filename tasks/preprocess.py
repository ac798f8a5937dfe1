"""Stage ``preprocess``: input enhancement (mapped per chunk of ``guidance.enhance.batch_size``
images enhanced together), features and clustering.

``runs/<cell>/<method>/preprocess/``: ``rough_fg/`` (only when the method enhances its inputs),
``enhanced/<image_id>/`` (one unit per image), ``features/``. Files:
:mod:`artic3d_core.pipeline.stage_files`; stage functions: :mod:`artic3d_core.pipeline.stages`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import task

from artic3d_core.pipeline import stages
from artic3d_core.pipeline.methods import MethodSpec, get_method
from artic3d_core.pipeline.stage_files import read_crop_index
from tasks.artifacts import UnitResult, build_unit, build_units_together
from tasks.context import PIPELINE_MODULES, StageContext
from tasks.options import TASK_OPTIONS

ENHANCE_SECTIONS = ("features", "guidance", "weights")
ENHANCE_MODULES = (
    "artic3d_core.guidance",
    "artic3d_core.features",
    *PIPELINE_MODULES,
    "tasks.preprocess",
)
FEATURE_SECTIONS = ("features", "weights")
FEATURE_MODULES = ("artic3d_core.features", *PIPELINE_MODULES, "tasks.preprocess")


def method_spec(ctx: StageContext) -> MethodSpec:
    return get_method(ctx.method or "", ctx.params.guidance)


def run_rough_fg(ctx: StageContext, data: UnitResult) -> UnitResult:
    out = ctx.layout.rough_fg_dir(ctx.cell, ctx.method or "")
    key = ctx.key("rough_fg", FEATURE_SECTIONS, FEATURE_MODULES, data=data.key)

    def body(tmp: Path) -> dict[str, Any]:
        return stages.run_rough_fg(ctx.params, Path(data.path), tmp, ctx.device)

    return build_unit(
        "rough_fg",
        out,
        key,
        ctx.provenance(FEATURE_SECTIONS, FEATURE_MODULES),
        body,
        ctx.forced,
        not ctx.runs("preprocess"),
    )


def run_enhance_images(
    ctx: StageContext, data: UnitResult, fg: UnitResult, indices: list[int]
) -> list[UnitResult]:
    """Enhance crops ``indices`` together, each image seeded by its own stream, one unit per
    image (:func:`build_units_together`)."""
    ids = [str(read_crop_index(data.path)[i]["image_id"]) for i in indices]
    outs = [ctx.layout.enhanced_dir(ctx.cell, ctx.method or "", i) for i in ids]
    keys = [
        ctx.key("enhance", ENHANCE_SECTIONS, ENHANCE_MODULES, data=data.key, fg=fg.key, image=i)
        for i in ids
    ]

    def compute(todo: list[int]) -> tuple[Any, float]:
        t0 = time.perf_counter()
        res = stages.enhance_images_of(
            ctx.params, Path(data.path), Path(fg.path), [indices[j] for j in todo], ctx.device,
            [ctx.seed_for("enhance", ids[j]) for j in todo], ctx.cell.cls,
        )  # fmt: skip
        return (res, [ids[j] for j in todo]), time.perf_counter() - t0

    def write(result: Any, row: int, tmp: Path) -> dict[str, Any]:
        res, todo_ids = result
        return stages.write_enhanced_image(res, row, todo_ids[row], tmp)

    prov = ctx.provenance(ENHANCE_SECTIONS, ENHANCE_MODULES)
    return build_units_together(
        "enhance", outs, keys, prov, compute, write, ctx.forced, not ctx.runs("preprocess")
    )


def run_features(ctx: StageContext, data: UnitResult, enhanced: list[UnitResult]) -> UnitResult:
    out = ctx.layout.features_dir(ctx.cell, ctx.method or "")
    key = ctx.key(
        "features",
        FEATURE_SECTIONS,
        FEATURE_MODULES,
        data=data.key,
        enhanced=[u.key for u in enhanced],
    )

    def body(tmp: Path) -> dict[str, Any]:
        dirs = [Path(u.path) for u in enhanced]
        return stages.run_features(ctx.params, Path(data.path), dirs, tmp, ctx.device)

    return build_unit(
        "features",
        out,
        key,
        ctx.provenance(FEATURE_SECTIONS, FEATURE_MODULES),
        body,
        ctx.forced,
        not ctx.runs("preprocess"),
    )


@task(name="rough-foreground", **TASK_OPTIONS)
def rough_fg_task(ctx: StageContext, data: UnitResult) -> UnitResult:
    return run_rough_fg(ctx, data)


@task(name="enhance-images", **TASK_OPTIONS)
def enhance_images_task(
    ctx: StageContext, data: UnitResult, fg: UnitResult, indices: list[int]
) -> list[UnitResult]:
    return run_enhance_images(ctx, data, fg, indices)


@task(name="features", **TASK_OPTIONS)
def features_task(ctx: StageContext, data: UnitResult, enhanced: list[UnitResult]) -> UnitResult:
    return run_features(ctx, data, enhanced)
