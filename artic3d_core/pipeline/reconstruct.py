"""One class end to end without an orchestrator: every stage of
:mod:`artic3d_core.pipeline.stages` in order, into the run layout of
:mod:`artic3d_core.pipeline.layout`.

The Prefect flow runs the same stage functions with the same seeds (:func:`stage_seed`), each
wrapped in a cached unit; here every stage is recomputed. Each stage folder is written under a
temporary name and renamed into place when complete, and any manifest a flow left there goes with
the old folder, so the flow never trusts a folder this function rewrote.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artic3d_core.config import Params, params_hash
from artic3d_core.pipeline import stages as st
from artic3d_core.pipeline.layout import Cell, RunLayout, stage_seed
from artic3d_core.pipeline.methods import get_method
from artic3d_core.pipeline.stage_files import read_crop_index
from artic3d_core.run_lock import RunFolderLock

__all__ = ["ClassRun", "instance_count", "reconstruct_class"]


@dataclass
class ClassRun:
    """The folders one run wrote, by stage, and the evaluation summary (``metrics.json``)."""

    cell: Cell
    method: str
    dirs: dict[str, list[Path]] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


def instance_count(params: Params, n_images: int) -> int:
    """How many images get the per-instance stages: all, or the first ``pipeline.max_instances``."""
    cap = params.pipeline.max_instances
    return min(n_images, cap) if cap else n_images


def _write(out_dir: Path, body: Callable[[Path], Any]) -> Any:
    """``body(tmp)`` into a temporary sibling of ``out_dir``, renamed into place when it returns."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}-{secrets.token_hex(3)}")
    tmp.mkdir()
    try:
        res = body(tmp)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return res


def reconstruct_class(
    params: Params,
    run_root: str | Path,
    dataset: str,
    cls: str,
    method: str,
    device,
    project_root: str | Path = ".",
    log: Callable[[str], None] = lambda _msg: None,
    outputs: bool = True,
) -> ClassRun:
    """Reconstruct and evaluate ``dataset/cls`` with ``method`` under ``run_root``.

    data → enhancement (when the method enhances its inputs) → features → skeleton → joint →
    instances → animation (``pipeline.animate``) → evaluation of every image set the data stage
    read. ``log`` receives one line per finished stage; ``outputs=False`` skips the per-instance
    meshes and renders (the metrics do not depend on them). The method folder's lock is held
    throughout, as the flow holds it: a second writer gets
    :class:`~artic3d_core.run_lock.RunFolderBusyError`."""
    cell = Cell(dataset, cls)
    lay = RunLayout(Path(run_root))
    spec = get_method(method, params.guidance)
    with RunFolderLock(lay.method_dir(cell, method)):
        return _reconstruct(
            params, lay, cell, spec.enhance_inputs, method, device, project_root, log, outputs
        )


def _reconstruct(
    params: Params,
    lay: RunLayout,
    cell: Cell,
    enhance_inputs: bool,
    method: str,
    device,
    project_root: str | Path,
    log: Callable[[str], None],
    outputs: bool,
) -> ClassRun:
    from artic3d_core.metrics.schema import git_revision

    dataset, cls = cell.dataset, cell.cls
    run = ClassRun(cell, method)

    def seed(*keys: object) -> int:
        return stage_seed(params.seed, cell, method, *keys)

    def stage(name: str, out: Path, body: Callable[[Path], Any]) -> Any:
        res = _write(out, body)
        run.dirs.setdefault(name, []).append(out)
        log(f"{name}: {out}")
        return res

    data = lay.data_dir(cell)
    root = st.dataset_root(params, dataset, project_root)
    stage("data", data, lambda d: st.run_data(params, root, dataset, cls, d))
    ids = [str(r["image_id"]) for r in read_crop_index(data)]
    enhanced: list[Path] = []
    if enhance_inputs:
        fg = lay.rough_fg_dir(cell, method)
        stage("rough_fg", fg, lambda d: st.run_rough_fg(params, data, d, device))
        for i, image_id in enumerate(ids):
            out = lay.enhanced_dir(cell, method, image_id)
            s = seed("enhance", image_id)
            stage("enhance", out, lambda d, i=i, s=s: st.run_enhance_image(
                params, data, fg, i, d, device, s, cls))  # fmt: skip
            enhanced.append(out)
    feats = lay.features_dir(cell, method)
    stage("features", feats, lambda d: st.run_features(params, data, enhanced, d, device))
    skel = lay.stage_dir(cell, method, "skeleton")
    stage("skeleton", skel, lambda d: st.run_skeleton(params, feats, d))
    # per-stage checkpoints, kept until the evaluation is written: a rerun after a kill
    # resumes every optimisation where it stopped (finished phases load their last stage)
    ckpt = lay.method_dir(cell, method) / ".checkpoints" if params.optim.checkpoint else None
    joint = lay.stage_dir(cell, method, "joint")
    stage("joint", joint, lambda d: st.run_joint(
        params, data, feats, skel, d, method, device, seed("joint"), cls, enhanced,
        ckpt and ckpt / "joint"))  # fmt: skip
    insts = []
    for i in range(instance_count(params, len(ids))):
        out = lay.instance_dir(cell, method, i)
        s = seed("instance", i)
        stage("instance", out, lambda d, i=i, s=s: st.run_instance(
            params, joint, i, d, method, device, s, outputs,
            ckpt and ckpt / "instances" / str(i)))  # fmt: skip
        insts.append(out)
    if params.pipeline.animate and insts:
        stage("animate", lay.animation_dir(cell, method, 0), lambda d: st.run_animation(
            params, joint, insts[0], d, device, seed("animate")))  # fmt: skip
    ev = stage("eval", lay.stage_dir(cell, method, "eval"), lambda d: st.run_eval(
        params, data, joint, insts, d, dataset, cls, method, device, params_hash(params),
        git_revision(project_root)))  # fmt: skip
    run.metrics = ev["metrics"]
    if ckpt is not None:
        shutil.rmtree(ckpt, ignore_errors=True)  # the run is complete: its checkpoints are spent
    return run
