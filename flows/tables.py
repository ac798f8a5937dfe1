"""Flow ``tables``: gather the metric rows of the enabled cells and publish the tables.

``python -m flows.tables`` (what the DVC ``tables`` stage calls)."""

from __future__ import annotations

import argparse

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows import PROJECT_ROOT
from flows.common import fail, load
from tasks.errors import BadInputError, StageUnavailableError
from tasks.tables import TablesResult, tables_task


@flow(name="tables")
def tables(
    params_file: str = "params.yaml",
    overrides: list[str] | None = None,
    project_root: str = str(PROJECT_ROOT),
) -> TablesResult:
    res = tables_task(load(params_file, overrides, project_root), project_root)
    rows = [
        {"cell": cell, "method": m, "set": s, "metric": k, "value": v}
        for cell, methods in res.summary.items()
        if isinstance(methods, dict)
        for m, sets in methods.items()
        for s, metrics in sets.items()
        for k, v in metrics.items()
    ]
    if rows:
        create_table_artifact(rows, key="benchmark-metrics", description="Mean metric per cell")
    create_markdown_artifact(res.markdown or "No metric rows yet.", key="benchmark-tables")
    return res


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m flows.tables", description=__doc__)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--set", dest="overrides", action="append", default=None)
    a = ap.parse_args(argv)
    try:
        res = tables(a.params, a.overrides)
        print(res.markdown or "No metric rows yet.")
    except (BadInputError, StageUnavailableError) as exc:
        fail(exc)


if __name__ == "__main__":
    main()
