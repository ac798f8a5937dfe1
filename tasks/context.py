"""What every stage task receives: the params, the run layout, the device, and key helpers.

Cache keys = sha256(stage, the params sections the stage reads, the code version of the
packages it runs, the keys of its inputs, any extra identity such as an image id).
The code version hashes the source files of those packages, so editing the code a stage uses
invalidates that stage (and, through the input keys, everything downstream) but no other.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from artic3d_core.config import Params, params_hash
from artic3d_core.pipeline.layout import Cell, RunLayout, stage_seed
from tasks.artifacts import Provenance, git_revision

__all__ = ["PIPELINE_MODULES", "StageContext", "code_version", "make_key"]

# the stage functions, stage files and method registry every stage runs through
PIPELINE_MODULES = (
    "artic3d_core.pipeline.stages",
    "artic3d_core.pipeline.stage_files",
    "artic3d_core.pipeline.methods",
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=64)
def code_version(modules: tuple[str, ...]) -> str:
    """sha256 (12 hex) over the source of the named modules/packages (a package: all .py files
    below it). A module that does not exist contributes its name only."""
    h = hashlib.sha256()
    for name in sorted(modules):
        h.update(name.encode())
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        files = sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
        for f in files:
            h.update(f.relative_to(origin.parent).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def make_key(stage: str, **parts: Any) -> str:
    blob = json.dumps({"stage": stage, **parts}, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True)
class StageContext:
    """One cell × method run: params, layout, device; ``force`` ignores existing manifests."""

    params: Params
    cell: Cell
    method: str | None = None
    device: str = "cpu"
    force: bool = False
    project_root: str = str(PROJECT_ROOT)
    stages: tuple[str, ...] | None = None  # stage groups this run may compute; None = all

    def runs(self, stage: str) -> bool:
        """May this run compute units of ``stage`` (else it only reuses them)?"""
        return self.stages is None or stage in self.stages

    @property
    def layout(self) -> RunLayout:
        root = Path(self.params.pipeline.run_dir)
        if not root.is_absolute():
            root = Path(self.project_root) / root
        return RunLayout(root)

    def resolve(self, path: str | Path) -> Path:
        """A params path (relative to the project root) as an absolute path."""
        p = Path(path)
        return p if p.is_absolute() else Path(self.project_root) / p

    def seed_for(self, *keys: object) -> int:
        """The unit's seed, the same :func:`stage_seed` that ``artic3d run`` uses."""
        return stage_seed(self.params.seed, self.cell, self.method, *keys)

    def provenance(self, sections: tuple[str, ...], modules: tuple[str, ...]) -> Provenance:
        return Provenance(
            params_hash=params_hash(self.params),
            sections={s: params_hash(self.params, [s]) for s in sections},
            seed=self.params.seed,
            git_revision=git_revision(self.project_root),
            code_version=code_version(modules),
            weights_profile=self.params.weights.profile,
        )

    def key(
        self,
        stage: str,
        sections: tuple[str, ...],
        modules: tuple[str, ...],
        per_method: bool = True,
        **parts: Any,
    ) -> str:
        """The unit's cache key; ``per_method=False`` for method-free units (the data stage)."""
        return make_key(
            stage,
            cell=str(self.cell),
            method=self.method if per_method else None,
            params=params_hash(self.params, list(sections)) if sections else "",
            code=code_version(modules),
            **parts,
        )

    @property
    def forced(self) -> bool:
        return self.force or os.environ.get("ARTIC3D_FORCE", "") == "1"
