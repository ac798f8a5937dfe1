"""Flow ``benchmark``: every enabled cell × method, fanned out, then the tables.

Local runs use a thread pool of ``pipeline.max_concurrency`` cells; ``--dask-workers N`` runs
the cells on a Dask ``LocalCluster`` of N processes; ``--dask-address tcp://host:8786`` on an
existing cluster (one GPU per worker: start each worker with its own ``CUDA_VISIBLE_DEVICES``
and ``--resources GPU=1``; cells then ask for ``GPU=1``). Cell i gets ``pipeline.gpus[i % n]``
when that list is set, else ``params.device``.

``--split train|dev|test`` names the synthetic split the run is meant to score: the flow checks
that ``data.synthetic_root`` was generated for that split (its ``manifest.json``) before any
cell runs, and every metrics row records the split of the data it scored.

    python -m flows.benchmark [--split test] [--dask-workers 2 | --dask-address tcp://host:8786]
"""

from __future__ import annotations

import argparse
import contextlib
from typing import Any

from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner

from artic3d_core.data.records import DataError
from artic3d_core.data.synthetic.generator import SPLITS
from artic3d_core.data.synthetic.ground_truth import benchmark_identity
from artic3d_core.pipeline.layout import STAGES, Cell
from flows import PROJECT_ROOT
from flows.common import fail, load, resolve_device
from flows.pipeline import CellResult, run_cell
from flows.publish import publish_cell
from flows.tables import tables
from tasks.context import StageContext
from tasks.errors import BadInputError, StageUnavailableError
from tasks.options import TASK_OPTIONS


@task(name="reconstruct-cell", **TASK_OPTIONS)
def reconstruct_cell(ctx: StageContext) -> CellResult:
    """One cell × method as one task (plain stage calls inside: it may run on a Dask worker)."""
    return run_cell(ctx, as_tasks=False)


def plan(
    params: Any,
    cells: list[str] | None,
    methods: list[str] | None,
    stages: list[str] | None,
    device: str | None,
    project_root: str,
) -> list[StageContext]:
    """The contexts of the fan-out, with the per-GPU assignment (round robin)."""
    gpus = params.pipeline.gpus
    dev = None if gpus else resolve_device(params, device)
    out = []
    for c in cells or params.pipeline.cells:
        for m in methods or params.pipeline.methods:
            d = gpus[len(out) % len(gpus)] if gpus else dev
            st = tuple(stages) if stages else None
            out.append(StageContext(params, Cell.parse(c), m, d, False, project_root, st))
    return out


def check_split(params: Any, ctxs: list[StageContext], split: str) -> None:
    """BadInputError unless every synthetic cell's data was generated for ``split``."""
    if split not in SPLITS:
        raise BadInputError(f"unknown split {split!r}; splits are {list(SPLITS)}")
    if not any(c.cell.dataset == "synthetic" for c in ctxs):
        return
    root = ctxs[0].resolve(params.data.synthetic_root)
    try:
        found, preset = benchmark_identity(root)
    except DataError as exc:
        raise BadInputError(str(exc)) from None
    if found != split:
        raise BadInputError(
            f"{root}: the synthetic benchmark there is split {found!r}, not {split!r}; "
            f"generate it with `artic3d synth --out {root} --preset {preset} --split {split}`"
        )


@flow(name="benchmark", log_prints=True)
def benchmark(
    params_file: str = "params.yaml",
    overrides: list[str] | None = None,
    cells: list[str] | None = None,
    methods: list[str] | None = None,
    stages: list[str] | None = None,
    device: str | None = None,
    gpu_resource: bool = False,
    publish_tables: bool = True,
    project_root: str = str(PROJECT_ROOT),
    split: str | None = None,
) -> dict[str, Any]:
    """Fan out over cells × methods; failures of one cell do not stop the others. ``split``:
    :func:`check_split` first."""
    params = load(params_file, overrides, project_root)
    bad = [s for s in stages or [] if s not in STAGES]
    if bad:
        raise BadInputError(f"unknown stage(s) {bad}; stages are {list(STAGES)}")
    ctxs = plan(params, cells, methods, stages, device, project_root)
    if split is not None:
        check_split(params, ctxs, split)
    ann: Any = contextlib.nullcontext()
    if gpu_resource:
        import dask

        ann = dask.annotate(resources={"GPU": 1})
    with ann:
        futures = [reconstruct_cell.submit(c) for c in ctxs]
    results: dict[str, Any] = {}
    for ctx, fut in zip(ctxs, futures, strict=True):
        name = f"{ctx.cell} {ctx.method}"
        fut.wait()
        if fut.state.is_completed():
            res = fut.result()
            publish_cell(res)
            results[name] = {"ok": True, "device": ctx.device, "eval": str(res.eval_dir or "")}
        else:
            err = fut.state.result(raise_on_failure=False)
            results[name] = {"ok": False, "device": ctx.device, "error": str(err)}
    if publish_tables:
        tables(params_file, overrides, project_root)
    return results


def task_runner(max_concurrency: int, dask_workers: int | None, dask_address: str | None) -> Any:
    """A thread pool, a Dask LocalCluster of ``dask_workers`` processes, or a Dask cluster."""
    if dask_address or dask_workers:
        from prefect_dask import DaskTaskRunner

        if dask_address:
            return DaskTaskRunner(address=dask_address)
        return DaskTaskRunner(
            cluster_class="distributed.LocalCluster",
            cluster_kwargs={"n_workers": dask_workers, "threads_per_worker": 1, "processes": True},
        )
    return ThreadPoolTaskRunner(max_workers=max_concurrency)


def run_benchmark(
    params_file: str = "params.yaml",
    overrides: list[str] | None = None,
    dask_workers: int | None = None,
    dask_address: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """``benchmark`` with the task runner chosen from the arguments / ``pipeline`` section."""
    root = kwargs.get("project_root", str(PROJECT_ROOT))
    params = load(params_file, overrides, root)
    runner = task_runner(
        params.pipeline.max_concurrency,
        dask_workers,
        dask_address or params.pipeline.dask_address,
    )
    return benchmark.with_options(task_runner=runner)(params_file, overrides, **kwargs)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m flows.benchmark", description=__doc__)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--set", dest="overrides", action="append", default=None)
    ap.add_argument("--cells", nargs="*", default=None)
    ap.add_argument("--methods", nargs="*", default=None)
    ap.add_argument("--stages", nargs="*", default=None)
    ap.add_argument("--device", default=None)
    ap.add_argument("--dask-workers", type=int, default=None)
    ap.add_argument("--dask-address", default=None)
    ap.add_argument("--gpu-resource", action="store_true", help="cells ask Dask for GPU=1")
    ap.add_argument("--split", choices=SPLITS, default=None, help="the synthetic split scored")
    a = ap.parse_args(argv)
    try:
        res = run_benchmark(
            a.params,
            a.overrides,
            a.dask_workers,
            a.dask_address,
            cells=a.cells,
            methods=a.methods,
            stages=a.stages,
            device=a.device,
            gpu_resource=a.gpu_resource,
            split=a.split,
        )
    except (BadInputError, StageUnavailableError) as exc:
        fail(exc)
        return
    for name, r in res.items():
        print(f"{'ok ' if r['ok'] else 'FAIL'} {name}: {r.get('eval') or r.get('error', '')}")


if __name__ == "__main__":
    main()
