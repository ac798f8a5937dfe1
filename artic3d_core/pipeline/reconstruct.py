"""One class end to end without an orchestrator: every stage of
:mod:`artic3d_core.pipeline.stages` in order, into the run layout of
:mod:`artic3d_core.pipeline.layout`.

The Prefect flow runs the same stage functions with the same seeds (:func:`stage_seed`), each
wrapped in a cached unit; here every stage is recomputed. Each stage folder is written under a
temporary name and renamed into place when complete, and any manifest a flow left there goes with
the old folder, so the flow never trusts a folder this function rewrote.

A method folder belongs to one set of inputs: ``<method>/run.json`` records the fingerprint of
the data stage's crops (:func:`data_fingerprint`) and ``params_hash(params)``. A later run with
other crops or parameters is refused before any file of the folder is touched (its checkpoints
would resume the wrong optimisation), unless ``fresh`` moves the folder aside first; the same
inputs and parameters resume from the folder's checkpoints.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artic3d_core.atomic import atomic_write_bytes, atomic_write_dir
from artic3d_core.config import Params, params_hash
from artic3d_core.errors import BadInputError
from artic3d_core.pipeline import stages as st
from artic3d_core.pipeline.layout import Cell, RunLayout, stage_seed
from artic3d_core.pipeline.methods import get_method
from artic3d_core.pipeline.stage_files import CROPS_FILE, read_crop_index
from artic3d_core.run_lock import LOCK_NAME, RunFolderLock

__all__ = [
    "RUN_FILE",
    "ClassRun",
    "RunInputsChangedError",
    "data_fingerprint",
    "instance_count",
    "reconstruct_class",
]

RUN_FILE = "run.json"


class RunInputsChangedError(BadInputError):
    """The method folder was made from other crops or parameters than this run's."""


@dataclass
class ClassRun:
    """The folders one run wrote, by stage, and the evaluation summary (``metrics.json``).

    ``seconds``: wall time per stage name, summed over its runs (one per image or instance
    for the per-image stages), in run order; ``optim``: the ``timing`` entry of every joint and
    instance optimisation stage (``StageResult.timing``) with its ``stage`` name. Together
    they make :func:`artic3d_core.pipeline.timing.time_table`."""

    cell: Cell
    method: str
    dirs: dict[str, list[Path]] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    optim: list[dict[str, Any]] = field(default_factory=list)

    def time_table(self) -> list[dict[str, Any]]:
        """Per-stage time rows (:func:`artic3d_core.pipeline.timing.time_table`)."""
        from artic3d_core.pipeline.timing import time_table

        counts = {k: len(v) for k, v in self.dirs.items()}
        return time_table(self.seconds, counts, self.optim)


def instance_count(params: Params, n_images: int) -> int:
    """How many images get the per-instance stages: all, or the first ``pipeline.max_instances``."""
    cap = params.pipeline.max_instances
    return min(n_images, cap) if cap else n_images


def chunk_name(indices: list[int]) -> str:
    """The checkpoint folder name of images fitted together: ``<first>`` or ``<first>-<last>``."""
    return str(indices[0]) if len(indices) == 1 else f"{indices[0]}-{indices[-1]}"


def data_fingerprint(data_dir: Path) -> str:
    """Hash of a data stage's image ids and crop arrays (not of the file bytes: the npz
    container stores write times)."""
    import numpy as np

    h = hashlib.sha256()
    h.update(json.dumps([str(r["image_id"]) for r in read_crop_index(data_dir)]).encode())
    with np.load(Path(data_dir) / CROPS_FILE) as z:
        for key in sorted(z.files):
            arr = np.ascontiguousarray(z[key])
            h.update(f"{key}:{arr.dtype}:{arr.shape}".encode())
            h.update(arr.tobytes())
    return h.hexdigest()[:16]


def _identity(data_dir: Path, params: Params) -> dict[str, str]:
    return {"data": data_fingerprint(data_dir), "params": params_hash(params)}


def _recorded(method_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((method_dir / RUN_FILE).read_text())
    except (OSError, ValueError):
        return None


def _check_identity(method_dir: Path, ident: dict[str, str]) -> None:
    """Raise :class:`RunInputsChangedError` when ``method_dir/run.json`` records other inputs.
    A folder without ``run.json`` (made by the flow, or new) is adopted."""
    old = _recorded(method_dir)
    if old is None:
        return
    changed = [k for k in ("data", "params") if old.get(k) != ident[k]]
    if changed:
        what = " and ".join({"data": "images/crops", "params": "parameters"}[k] for k in changed)
        raise RunInputsChangedError(
            f"{method_dir} was made from other {what} than this run's; its files would mix "
            f"with this run's\n  Rerun with --fresh to move it aside to "
            f"{method_dir.name}.old-<time>, or use another run folder (pipeline.run_dir)"
        )


def _has_run_files(method_dir: Path) -> bool:
    return method_dir.is_dir() and any(p.name != LOCK_NAME for p in method_dir.iterdir())


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
    fresh: bool = False,
) -> ClassRun:
    """Reconstruct and evaluate ``dataset/cls`` with ``method`` under ``run_root``.

    data → enhancement (when the method enhances its inputs) → features → skeleton → joint →
    instances → animation (``pipeline.animate``) → evaluation of every image set the data stage
    read. ``log`` receives one line per finished stage; ``outputs=False`` skips the per-instance
    meshes and renders (the metrics do not depend on them). The method folder's lock is held
    throughout, as the flow holds it: a second writer gets
    :class:`~artic3d_core.run_lock.RunFolderBusyError`.

    A method folder made from other crops or parameters (``run.json``) raises
    :class:`RunInputsChangedError` after the data stage, before anything is written; with
    ``fresh`` an existing method folder is renamed to ``<method>.old-<UTC time>`` instead and
    the run starts anew."""
    cell = Cell(dataset, cls)
    lay = RunLayout(Path(run_root))
    spec = get_method(method, params.guidance)
    with ExitStack() as locks:
        locks.enter_context(RunFolderLock(lay.method_dir(cell, method)))
        return _reconstruct(
            params, lay, cell, spec.enhance_inputs, method, device, project_root, log, outputs,
            fresh, locks,
        )  # fmt: skip


def _move_aside(method_dir: Path, locks: ExitStack, log: Callable[[str], None]) -> None:
    """Rename ``method_dir`` to ``<name>.old-<UTC time>`` (its lock, still held, goes with it)
    and lock the new folder in its place until the run ends."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = method_dir.with_name(f"{method_dir.name}.old-{stamp}")
    n = 1
    while aside.exists():
        aside, n = method_dir.with_name(f"{method_dir.name}.old-{stamp}-{n}"), n + 1
    os.replace(method_dir, aside)
    locks.enter_context(RunFolderLock(method_dir))
    log(f"fresh: moved the previous {method_dir.name} folder to {aside}")


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
    fresh: bool,
    locks: ExitStack,
) -> ClassRun:
    from artic3d_core.metrics.schema import git_revision

    dataset, cls = cell.dataset, cell.cls
    run = ClassRun(cell, method)

    def seed(*keys: object) -> int:
        return stage_seed(params.seed, cell, method, *keys)

    def stage(name: str, out: Path, body: Callable[[Path], Any]) -> Any:
        t0 = time.perf_counter()
        res = atomic_write_dir(out, body)
        secs = time.perf_counter() - t0
        run.seconds[name] = run.seconds.get(name, 0.0) + secs
        run.dirs.setdefault(name, []).append(out)
        timing = res.get("timing") if isinstance(res, dict) else None
        if isinstance(timing, dict):  # the optimisation stages of run_joint / run_instance
            run.optim += [{"stage": k, **v} for k, v in timing.items()]
        log(f"{name}: {out} ({secs:.1f} s)")
        return res

    data = lay.data_dir(cell)
    root = st.dataset_root(params, dataset, project_root)
    mdir = lay.method_dir(cell, method)
    ident: dict[str, str] = {}

    def data_stage(d: Path) -> Any:
        res = st.run_data(params, root, dataset, cls, d)
        ident.update(_identity(d, params))
        if not fresh:  # refuse before the shared data folder is replaced
            _check_identity(mdir, ident)
        return res

    stage("data", data, data_stage)
    if fresh and _has_run_files(mdir):
        _move_aside(mdir, locks, log)
    record = {**ident, "dataset": dataset, "cls": cls, "method": method}
    atomic_write_bytes(mdir / RUN_FILE, json.dumps(record, indent=1).encode(), fsync=False)
    ids = [str(r["image_id"]) for r in read_crop_index(data)]
    enhanced: list[Path] = []
    if enhance_inputs:
        fg = lay.rough_fg_dir(cell, method)
        stage("rough_fg", fg, lambda d: st.run_rough_fg(params, data, d, device))
        for chunk in st.image_chunks(len(ids), params.guidance.enhance.batch_size):
            t0 = time.perf_counter()
            res = st.enhance_images_of(
                params, data, fg, chunk, device, [seed("enhance", ids[i]) for i in chunk], cls
            )
            secs = time.perf_counter() - t0
            run.seconds["enhance"] = run.seconds.get("enhance", 0.0) + secs
            log(f"enhance: images {chunk_name(chunk)} together ({secs:.1f} s)")
            for j, i in enumerate(chunk):
                out = lay.enhanced_dir(cell, method, ids[i])
                stage("enhance", out, lambda d, r=res, j=j, i=i: st.write_enhanced_image(
                    r, j, ids[i], d))  # fmt: skip
                enhanced.append(out)
    feats = lay.features_dir(cell, method)
    stage("features", feats, lambda d: st.run_features(params, data, enhanced, d, device))
    skel = lay.stage_dir(cell, method, "skeleton")
    stage("skeleton", skel, lambda d: st.run_skeleton(params, feats, d))
    # per-stage checkpoints, kept until the evaluation is written: a rerun after a kill
    # resumes every optimisation where it stopped (finished phases load their last stage)
    ckpt = mdir / ".checkpoints" if params.optim.checkpoint else None
    joint = lay.stage_dir(cell, method, "joint")
    stage("joint", joint, lambda d: st.run_joint(
        params, data, feats, skel, d, method, device, seed("joint"), cls, enhanced,
        ckpt and ckpt / "joint"))  # fmt: skip
    insts = []
    for chunk in st.image_chunks(instance_count(params, len(ids)), params.optim.instance_batch):
        t0 = time.perf_counter()
        fitted = st.fit_instances_of(
            params, joint, chunk, method, device, [seed("instance", i) for i in chunk],
            ckpt and ckpt / "instances" / chunk_name(chunk),
        )  # fmt: skip
        secs = time.perf_counter() - t0
        run.seconds["instance"] = run.seconds.get("instance", 0.0) + secs
        log(f"instance: fitted images {chunk_name(chunk)} together ({secs:.1f} s)")
        for j, i in enumerate(chunk):
            out = lay.instance_dir(cell, method, i)
            stage(
                "instance",
                out,
                lambda d, f=fitted, j=j: st.write_instance(params, f, j, d, outputs),
            )
            insts.append(out)
    if params.pipeline.animate and insts:
        stage("animate", lay.animation_dir(cell, method, 0), lambda d: st.run_animation(
            params, joint, insts[0], d, device, seed("animate")))  # fmt: skip
    before_eval = sum(run.seconds.values())
    ev = stage("eval", lay.stage_dir(cell, method, "eval"), lambda d: st.run_eval(
        params, data, joint, insts, d, dataset, cls, method, device, params_hash(params),
        git_revision(project_root), before_eval))  # fmt: skip
    run.metrics = ev["metrics"]
    if ckpt is not None:
        shutil.rmtree(ckpt, ignore_errors=True)  # the run is complete: its checkpoints are spent
    return run
