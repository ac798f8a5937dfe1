"""Stage ``skeleton``: discover the 3D skeleton from the clustered masks (spec §3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from prefect import task

from tasks.artifacts import UnitResult, build_unit
from tasks.context import StageContext
from tasks.options import TASK_OPTIONS
from tasks.require import require

SECTIONS = ("skeleton", "features")
MODULES = ("artic3d_core.skeleton", "tasks.skeleton")


def run_skeleton(ctx: StageContext, features: UnitResult) -> UnitResult:
    out = ctx.layout.stage_dir(ctx.cell, ctx.method or "", "skeleton")
    key = ctx.key("skeleton", SECTIONS, MODULES, features=features.key)

    def body(tmp: Path) -> dict[str, Any]:
        import torch

        discover = require("artic3d_core.skeleton.discovery", "discover_skeleton", "skeleton")
        with np.load(Path(features.path) / "features.npz") as z:
            masks = torch.from_numpy(z["masks"].astype(np.int64))
        skel, report = discover(
            masks,
            ctx.params.skeleton,
            reference=ctx.params.skeleton.reference,
            n_clusters=ctx.params.features.n_clusters,
        )
        skel.save(tmp / "skeleton.json")
        rep = report.as_dict() if hasattr(report, "as_dict") else dict(vars(report))
        (tmp / "report.json").write_text(json.dumps(rep, indent=1, default=str))
        return {"n_joints": len(getattr(skel, "parents", []))}

    return build_unit(
        "skeleton",
        out,
        key,
        ctx.provenance(SECTIONS, MODULES),
        body,
        ctx.forced,
        not ctx.runs("skeleton"),
    )


@task(name="skeleton", **TASK_OPTIONS)
def skeleton_task(ctx: StageContext, features: UnitResult) -> UnitResult:
    return run_skeleton(ctx, features)
