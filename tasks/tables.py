"""Stage ``tables``: gather every cell's metric rows, write the tables, the DVC metrics/plots.

Writes ``metrics/metrics.parquet`` (all rows of the enabled cells), ``metrics/summary.json``
(DVC ``metrics:``; mean value per dataset/class/method/set/metric), ``metrics/plots/pck.csv``
(DVC ``plots:``) and ``reports/*.md|tex`` via :func:`artic3d_core.metrics.tables.write_tables`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import task

from artic3d_core.config import Params
from artic3d_core.pipeline.layout import Cell
from tasks.artifacts import atomic_write_bytes, atomic_write_json, atomic_write_text
from tasks.context import PROJECT_ROOT, StageContext
from tasks.options import TASK_OPTIONS


@dataclass
class TablesResult:
    """Where the tables went, the summary, and which cell × method had no eval yet."""

    metrics_file: str
    summary_file: str
    reports: list[str]
    summary: dict[str, Any]
    missing: list[str] = field(default_factory=list)
    markdown: str = ""


def eval_files(
    params: Params, project_root: str = str(PROJECT_ROOT)
) -> tuple[list[Path], list[str]]:
    """(existing eval parquet files, missing 'cell method' labels) of the enabled cells."""
    found, missing = [], []
    for c in params.pipeline.cells:
        ctx = StageContext(params, Cell.parse(c), None, "cpu", False, project_root)
        for m in params.pipeline.methods:
            f = ctx.layout.stage_dir(ctx.cell, m, "eval") / "metrics.parquet"
            (found.append(f) if f.is_file() else missing.append(f"{c} {m}"))
    return found, missing


def run_tables(params: Params, project_root: str = str(PROJECT_ROOT)) -> TablesResult:
    from artic3d_core.metrics.store import read_metrics
    from artic3d_core.metrics.tables import write_tables

    ctx = StageContext(params, Cell("*", "*"), None, "cpu", False, project_root)
    files, missing = eval_files(params, project_root)
    df = read_metrics(*files) if files else read_metrics()
    metrics_dir = ctx.resolve(params.pipeline.metrics_dir)
    reports_dir = ctx.resolve(params.pipeline.reports_dir)
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    metrics_file = atomic_write_bytes(metrics_dir / "metrics.parquet", buf.getvalue())
    summary: dict[str, Any] = {"missing": missing, "rows": len(df)}
    if len(df):
        g = df.groupby(["dataset", "cls", "method", "set", "metric"])["value"].mean()
        for (ds, cls, method, set_, metric), v in g.items():
            summary.setdefault(f"{ds}/{cls}", {}).setdefault(method, {}).setdefault(set_, {})[
                metric
            ] = round(float(v), 6)
        pck = df[df["metric"] == "pck"]
        lines = ["cell,method,set,pck"] + [
            f"{ds}/{cls},{m},{s},{v:.6f}"
            for (ds, cls, m, s), v in pck.groupby(["dataset", "cls", "method", "set"])["value"]
            .mean()
            .items()
        ]
    else:
        lines = ["cell,method,set,pck"]
    summary_file = atomic_write_json(metrics_dir / "summary.json", summary)
    atomic_write_text(metrics_dir / "plots" / "pck.csv", "\n".join(lines) + "\n")
    reports = [str(p) for p in write_tables(df, reports_dir)] if len(df) else []
    md = (reports_dir / "tables.md").read_text() if reports else ""
    if missing:
        md += "\n\nNo evaluation yet for: " + ", ".join(missing) + "\n"
    atomic_write_text(reports_dir / "README.md", md or "No metric rows yet.\n")
    return TablesResult(
        str(metrics_file), str(summary_file), reports, json.loads(json.dumps(summary)), missing, md
    )


@task(name="tables", **TASK_OPTIONS)
def tables_task(params: Params, project_root: str = str(PROJECT_ROOT)) -> TablesResult:
    return run_tables(params, project_root)
