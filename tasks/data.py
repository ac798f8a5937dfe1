"""Stage ``data``: load one class of a dataset, crop every image, store the crops.

Output ``runs/<dataset>/<class>/data/`` (files: :mod:`artic3d_core.pipeline.stage_files`);
wraps :func:`artic3d_core.pipeline.stages.run_data`. An enabled dataset whose files are absent
fails with the instructions to fetch it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task

from artic3d_core.pipeline import stages
from tasks.artifacts import UnitResult, build_unit
from tasks.context import PIPELINE_MODULES, StageContext
from tasks.options import TASK_OPTIONS

SECTIONS = ("data",)
MODULES = ("artic3d_core.data", *PIPELINE_MODULES, "tasks.data")


def run_data(ctx: StageContext) -> UnitResult:
    out = ctx.layout.data_dir(ctx.cell)
    size = ctx.params.crop_size()
    sets = list(ctx.params.pipeline.synthetic_sets)
    # an image folder's crops depend on whether DINO saliency places them
    sal = stages.folder_saliency_used(ctx.params, ctx.cell.dataset)
    key = ctx.key("data", SECTIONS, MODULES, per_method=False, size=size, sets=sets, saliency=sal)
    root = stages.dataset_root(ctx.params, ctx.cell.dataset, ctx.project_root)

    def body(tmp: Path) -> dict[str, Any]:
        return stages.run_data(ctx.params, root, ctx.cell.dataset, ctx.cell.cls, tmp)

    return build_unit(
        "data", out, key, ctx.provenance(SECTIONS, MODULES), body, ctx.forced, not ctx.runs("data")
    )


@task(name="data", **TASK_OPTIONS)
def data_task(ctx: StageContext) -> UnitResult:
    return run_data(ctx)
