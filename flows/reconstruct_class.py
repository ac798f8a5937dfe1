"""Flow ``reconstruct_class``: one dataset × class × method, stage by stage.

CLI (what each DVC stage calls)::

    python -m flows.reconstruct_class --cell synthetic/zebra --method artic3d [--stages eval]
"""

from __future__ import annotations

import argparse

from prefect import flow

from artic3d_core.pipeline.layout import STAGES, Cell
from artic3d_core.run_lock import RunFolderBusyError
from flows import PROJECT_ROOT
from flows.common import fail, load, resolve_device
from flows.pipeline import CellResult, run_cell
from flows.publish import publish_cell
from tasks.context import StageContext
from tasks.errors import BadInputError, StageUnavailableError


@flow(name="reconstruct-class", log_prints=True)
def reconstruct_class(
    dataset: str,
    cls: str,
    method: str | None = None,
    stages: list[str] | None = None,
    params_file: str = "params.yaml",
    overrides: list[str] | None = None,
    device: str | None = None,
    force: bool = False,
    project_root: str = str(PROJECT_ROOT),
) -> CellResult:
    """Run the stages of one cell (all, or only ``stages``; earlier ones are reused)."""
    params = load(params_file, overrides, project_root)
    bad = [s for s in stages or [] if s not in STAGES]
    if bad:
        raise BadInputError(f"unknown stage(s) {bad}; stages are {list(STAGES)}")
    ctx = StageContext(
        params,
        Cell(dataset, cls),
        method,
        resolve_device(params, device),
        force,
        project_root,
        tuple(stages) if stages else None,
    )
    res = run_cell(ctx, as_tasks=True)
    publish_cell(res)
    return res


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m flows.reconstruct_class", description=__doc__)
    ap.add_argument("--cell", required=True, help="dataset/class, e.g. synthetic/zebra")
    ap.add_argument("--method", default=None, help="hi-lassie | hi-lassie+ | artic3d")
    ap.add_argument("--stages", nargs="*", default=None, help=f"subset of {list(STAGES)}")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--set", dest="overrides", action="append", default=None)
    ap.add_argument("--device", default=None)
    ap.add_argument("--force", action="store_true", help="recompute even up-to-date units")
    a = ap.parse_args(argv)
    try:
        cell = Cell.parse(a.cell)
        reconstruct_class(
            cell.dataset, cell.cls, a.method, a.stages, a.params, a.overrides, a.device, a.force
        )
    except (BadInputError, StageUnavailableError, RunFolderBusyError) as exc:
        fail(exc)


if __name__ == "__main__":
    main()
