"""Stage ``eval``: PCK transfer, IoU, CLIP similarity, 3D errors → metric rows (parquet).

``runs/<cell>/<method>/eval/``: ``metrics.parquet`` (rows in the schema of
:mod:`artic3d_core.metrics.schema`) and ``metrics.json`` (metric → value, for a glance).
Wraps ``artic3d_core.eval.evaluate.evaluate_class``; fails clearly until it exists.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect import task

from tasks.artifacts import UnitResult, build_unit
from tasks.context import StageContext
from tasks.options import TASK_OPTIONS
from tasks.require import require

SECTIONS = ("eval",)
MODULES = ("artic3d_core.eval", "artic3d_core.metrics", "tasks.evaluate")


def run_eval(
    ctx: StageContext, data: UnitResult, joint: UnitResult, instances: list[UnitResult]
) -> UnitResult:
    out = ctx.layout.stage_dir(ctx.cell, ctx.method or "", "eval")
    key = ctx.key(
        "eval", SECTIONS, MODULES, data=data.key, joint=joint.key, inst=[u.key for u in instances]
    )
    prov = ctx.provenance(SECTIONS, MODULES)

    def body(tmp: Path) -> dict[str, Any]:
        from artic3d_core.metrics.store import append_rows

        evaluate = require("artic3d_core.eval.evaluate", "evaluate_class", "eval")
        rows = evaluate(
            data_dir=Path(data.path),
            joint_dir=Path(joint.path),
            instance_dirs=[Path(u.path) for u in instances],
            params=ctx.params,
            dataset=ctx.cell.dataset,
            cls=ctx.cell.cls,
            method=ctx.method,
            device=ctx.device,
            params_hash=prov.params_hash,
            git_rev=prov.git_revision,
        )
        append_rows(tmp / "metrics.parquet", rows)
        summary = {f"{r.set}/{r.metric}": r.value for r in rows}
        (tmp / "metrics.json").write_text(json.dumps(summary, indent=1, sort_keys=True))
        return {"n_rows": len(rows)}

    return build_unit("eval", out, key, prov, body, ctx.forced, not ctx.runs("eval"))


@task(name="evaluation", **TASK_OPTIONS)
def eval_task(
    ctx: StageContext, data: UnitResult, joint: UnitResult, instances: list[UnitResult]
) -> UnitResult:
    return run_eval(ctx, data, joint, instances)
