"""Stage ``preprocess``: input enhancement (mapped per image), features and clustering.

``runs/<cell>/<method>/preprocess/``: ``rough_fg/`` (only when the method enhances its inputs),
``enhanced/<image_id>/`` (one unit per image), ``features/``. Files:
:mod:`artic3d_core.pipeline.stage_files`; stage functions: :mod:`artic3d_core.pipeline.stages`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task

from artic3d_core.pipeline import stages
from artic3d_core.pipeline.methods import MethodSpec, get_method
from artic3d_core.pipeline.stage_files import read_crop_index
from tasks.artifacts import UnitResult, build_unit
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


def run_enhance_image(
    ctx: StageContext, data: UnitResult, fg: UnitResult, index: int
) -> UnitResult:
    """Enhance crop ``index`` with one DASS call (seeded per image)."""
    image_id = str(read_crop_index(data.path)[index]["image_id"])
    out = ctx.layout.enhanced_dir(ctx.cell, ctx.method or "", image_id)
    key = ctx.key(
        "enhance", ENHANCE_SECTIONS, ENHANCE_MODULES, data=data.key, fg=fg.key, image=image_id
    )

    def body(tmp: Path) -> dict[str, Any]:
        return stages.run_enhance_image(
            ctx.params, Path(data.path), Path(fg.path), index, tmp, ctx.device,
            ctx.seed_for("enhance", image_id), ctx.cell.cls,
        )  # fmt: skip

    return build_unit(
        "enhance",
        out,
        key,
        ctx.provenance(ENHANCE_SECTIONS, ENHANCE_MODULES),
        body,
        ctx.forced,
        not ctx.runs("preprocess"),
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


@task(name="enhance-image", **TASK_OPTIONS)
def enhance_image_task(
    ctx: StageContext, data: UnitResult, fg: UnitResult, index: int
) -> UnitResult:
    return run_enhance_image(ctx, data, fg, index)


@task(name="features", **TASK_OPTIONS)
def features_task(ctx: StageContext, data: UnitResult, enhanced: list[UnitResult]) -> UnitResult:
    return run_features(ctx, data, enhanced)
