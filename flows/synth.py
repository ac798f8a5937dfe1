"""Flow ``synth``: generate the synthetic benchmark preset (``python -m flows.synth``)."""

from __future__ import annotations

import argparse

from prefect import flow

from flows import PROJECT_ROOT
from flows.common import fail, load
from tasks.artifacts import UnitResult
from tasks.errors import BadInputError, StageUnavailableError
from tasks.synth import synth_task


@flow(name="synth")
def synth(
    params_file: str = "params.yaml",
    overrides: list[str] | None = None,
    project_root: str = str(PROJECT_ROOT),
) -> UnitResult:
    return synth_task(load(params_file, overrides, project_root), project_root)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m flows.synth", description=__doc__)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--set", dest="overrides", action="append", default=None)
    a = ap.parse_args(argv)
    try:
        synth(a.params, a.overrides)
    except (BadInputError, StageUnavailableError) as exc:
        fail(exc)


if __name__ == "__main__":
    main()
