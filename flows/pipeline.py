"""The per-cell pipeline, composed once and run either as Prefect tasks or as plain calls.

data → [rough foreground → enhance (mapped per chunk of images enhanced together)] → features → skeleton → joint →
instances (mapped per chunk of ``optim.instance_batch`` images fitted together) → eval: the stage order of
:func:`artic3d_core.pipeline.reconstruct.reconstruct_class`, each stage a cached unit.
``ctx.stages`` limits what is computed; earlier units are then only reused (a DVC stage computes
its own outputs and nothing else).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import unmapped

from artic3d_core.pipeline.layout import STAGES
from artic3d_core.pipeline.reconstruct import instance_count
from artic3d_core.pipeline.stage_files import read_crop_index
from artic3d_core.pipeline.stages import image_chunks
from artic3d_core.run_lock import RunFolderLock
from tasks import animate as t_anim
from tasks import data as t_data
from tasks import evaluate as t_eval
from tasks import optimise as t_opt
from tasks import preprocess as t_pre
from tasks import skeleton as t_skel
from tasks.artifacts import UnitResult
from tasks.context import StageContext

__all__ = ["CellResult", "run_cell"]


@dataclass
class CellResult:
    """Every unit a cell run produced or reused, by stage group, in order."""

    cell: str
    method: str | None
    units: list[UnitResult] = field(default_factory=list)
    last_stage: str = ""

    def by_stage(self, stage: str) -> list[UnitResult]:
        return [u for u in self.units if u.stage == stage]

    @property
    def eval_dir(self) -> Path | None:
        ev = self.by_stage("eval")
        return Path(ev[0].path) if ev else None


def _last_stage(ctx: StageContext) -> str:
    wanted = ctx.stages or STAGES
    return max(wanted, key=STAGES.index)


def run_cell(ctx: StageContext, as_tasks: bool = True) -> CellResult:
    """Run (or reuse) the stages of one cell × method up to the last one in ``ctx.stages``,
    holding the method folder's lock (the cell's data lock without a method): a second writer
    is refused with :class:`RunFolderBusyError`.

    ``as_tasks``: submit Prefect tasks (inside a flow); False: plain calls (inside a Prefect task
    on a Dask worker, or without Prefect)."""
    if ctx.method is None:
        lock = RunFolderLock(ctx.layout.cell_dir(ctx.cell), name=".lock-data")
    else:
        lock = RunFolderLock(ctx.layout.method_dir(ctx.cell, ctx.method))
    with lock:
        return _run_cell(ctx, as_tasks)


def _run_cell(ctx: StageContext, as_tasks: bool) -> CellResult:
    out = CellResult(str(ctx.cell), ctx.method)
    last = _last_stage(ctx)
    out.last_stage = last
    order = STAGES.index

    def call(task: Any, fn: Any, *args: Any) -> UnitResult:
        return task(*args) if as_tasks else fn(*args)

    data = call(t_data.data_task, t_data.run_data, ctx)
    out.units.append(data)
    if order(last) < order("preprocess") or ctx.method is None:
        return out
    enhanced: list[UnitResult] = []
    if t_pre.method_spec(ctx).enhance_inputs:
        fg = call(t_pre.rough_fg_task, t_pre.run_rough_fg, ctx, data)
        n = len(read_crop_index(data.path))
        chunks = image_chunks(n, ctx.params.guidance.enhance.batch_size)
        if as_tasks:
            futs = t_pre.enhance_images_task.map(
                unmapped(ctx), unmapped(data), unmapped(fg), chunks
            )
            enhanced = [u for units in futs.result() for u in units]
        else:
            enhanced = [u for c in chunks for u in t_pre.run_enhance_images(ctx, data, fg, c)]
        out.units += [fg, *enhanced]
    feats = call(t_pre.features_task, t_pre.run_features, ctx, data, enhanced)
    out.units.append(feats)
    if order(last) < order("skeleton"):
        return out
    skel = call(t_skel.skeleton_task, t_skel.run_skeleton, ctx, feats)
    out.units.append(skel)
    if order(last) < order("optimise"):
        return out
    joint = call(t_opt.joint_task, t_opt.run_joint, ctx, data, feats, skel, enhanced)
    out.units.append(joint)
    n = instance_count(ctx.params, len(read_crop_index(data.path)))
    chunks = image_chunks(n, ctx.params.optim.instance_batch)
    if as_tasks:
        futs = t_opt.instances_task.map(unmapped(ctx), unmapped(joint), chunks)
        insts = [u for units in futs.result() for u in units]
    else:
        insts = [u for c in chunks for u in t_opt.run_instances(ctx, joint, c)]
    out.units += insts
    if order(last) < order("animate"):
        return out
    if ctx.params.pipeline.animate and insts:
        anim = call(t_anim.animate_task, t_anim.run_animate, ctx, joint, insts[0], 0)
        out.units.append(anim)
    elif ctx.runs("animate"):  # the DVC stage's output exists even when animation is off
        adir = ctx.layout.stage_dir(ctx.cell, ctx.method or "", "animation")
        adir.mkdir(parents=True, exist_ok=True)
        (adir / "DISABLED").write_text("pipeline.animate is false: no animation was made\n")
    if order(last) < order("eval"):
        return out
    ev = call(t_eval.eval_task, t_eval.run_eval, ctx, data, joint, insts)
    out.units.append(ev)
    return out
