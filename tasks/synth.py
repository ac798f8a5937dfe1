"""Stage ``synth``: generate the synthetic benchmark (LASSIE format + ground truth)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task

from artic3d_core.config import Params
from artic3d_core.data.synthetic import generate
from artic3d_core.pipeline.layout import Cell
from tasks.artifacts import UnitResult, build_unit
from tasks.context import PROJECT_ROOT, StageContext
from tasks.options import TASK_OPTIONS

SECTIONS = ("synth",)
MODULES = ("artic3d_core.data.synthetic", "tasks.synth")


def run_synth(
    params: Params, project_root: str = str(PROJECT_ROOT), force: bool = False
) -> UnitResult:
    """Write the preset into ``synth.out_dir`` (atomically; skipped when up to date)."""
    ctx = StageContext(params, Cell("synthetic", "*"), None, "cpu", force, project_root)
    out = ctx.resolve(params.synth.out_dir)
    key = ctx.key("synth", SECTIONS, MODULES)

    def body(tmp: Path) -> dict[str, Any]:
        c = params.synth
        manifest = generate(
            tmp,
            c.classes,
            c.seed,
            c.preset,
            c.n_clean,
            c.n_occluded,
            c.image_size,
            c.supersample,
            c.contact_sheet,
            c.split,
        )
        try:
            rel = Path(manifest).relative_to(tmp).as_posix()
        except ValueError:
            rel = str(manifest)
        return {"preset": c.preset, "generator_manifest": rel}

    return build_unit("synth", out, key, ctx.provenance(SECTIONS, MODULES), body, ctx.forced)


@task(name="synth", **TASK_OPTIONS)
def synth_task(params: Params, project_root: str = str(PROJECT_ROOT)) -> UnitResult:
    return run_synth(params, project_root)
