"""Stage ``prior``: train the synthetic prior and write its diffusers folder and card."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prefect import task

from artic3d_core.config import Params
from artic3d_core.prior.train import train_prior
from tasks.context import PROJECT_ROOT
from tasks.options import TASK_OPTIONS


def run_prior_train(
    params: Params, project_root: str = str(PROJECT_ROOT), force: bool = False
) -> dict[str, Any]:
    """Train from ``params.prior`` into ``prior.out_dir`` (relative: under ``project_root``);
    returns the card. The folder is replaced atomically when training completes; a folder
    trained from the same params is kept unless ``force`` or ``ARTIC3D_FORCE=1``."""
    out = Path(params.prior.out_dir)
    out = out if out.is_absolute() else Path(project_root) / out
    force = force or os.environ.get("ARTIC3D_FORCE", "") == "1"
    return train_prior(params.prior, out, force)


@task(name="prior-train", **TASK_OPTIONS)
def prior_train_task(params: Params, project_root: str = str(PROJECT_ROOT)) -> dict[str, Any]:
    return run_prior_train(params, project_root)
