"""The run layout: where every stage of every (dataset, class, method) cell writes.

```
runs/<dataset>/<class>/data/                       loaded + cropped inputs (method-free)
runs/<dataset>/<class>/<method>/preprocess/         rough_fg/, enhanced/<image_id>/, features/
runs/<dataset>/<class>/<method>/skeleton/           skeleton.json, report.json
runs/<dataset>/<class>/<method>/joint/              joint optimisation result
runs/<dataset>/<class>/<method>/instances/<i>/      per-instance optimisation results
runs/<dataset>/<class>/<method>/animation/<i>/      animation (optional stage)
runs/<dataset>/<class>/<method>/eval/               metric rows (parquet) + metrics.json
metrics/metrics.parquet, metrics/summary.json       all rows / the DVC metrics file
reports/table.md                                    the rendered table
```

``artic3d run`` and the Prefect flow write the same layout, and both derive every stage's seed
with :func:`stage_seed`, so the two give the same result for the same cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from artic3d_core.errors import BadInputError
from artic3d_core.pipeline.methods import seed_stream
from artic3d_core.seeding import derive_seed

__all__ = ["STAGES", "Cell", "RunLayout", "stage_seed"]

STAGES: tuple[str, ...] = (
    "data",
    "preprocess",
    "skeleton",
    "optimise",
    "animate",
    "eval",
)


@dataclass(frozen=True, order=True)
class Cell:
    """One (dataset, class) pair, written ``dataset/class`` (e.g. ``synthetic/zebra``)."""

    dataset: str
    cls: str

    @classmethod
    def parse(cls, text: str) -> Cell:
        parts = text.strip().split("/")
        if len(parts) != 2 or not all(parts):
            raise BadInputError(f"cell {text!r}: expected 'dataset/class', e.g. 'synthetic/zebra'")
        return cls(parts[0], parts[1])

    def __str__(self) -> str:
        return f"{self.dataset}/{self.cls}"


@dataclass(frozen=True)
class RunLayout:
    """Paths of the run folders under ``root`` (``pipeline.run_dir``)."""

    root: Path

    def cell_dir(self, cell: Cell) -> Path:
        return self.root / cell.dataset / cell.cls

    def data_dir(self, cell: Cell) -> Path:
        return self.cell_dir(cell) / "data"

    def method_dir(self, cell: Cell, method: str) -> Path:
        return self.cell_dir(cell) / method

    def stage_dir(self, cell: Cell, method: str, stage: str) -> Path:
        return self.method_dir(cell, method) / stage

    def rough_fg_dir(self, cell: Cell, method: str) -> Path:
        return self.stage_dir(cell, method, "preprocess") / "rough_fg"

    def enhanced_dir(self, cell: Cell, method: str, image_id: str) -> Path:
        return self.stage_dir(cell, method, "preprocess") / "enhanced" / image_id

    def features_dir(self, cell: Cell, method: str) -> Path:
        return self.stage_dir(cell, method, "preprocess") / "features"

    def instance_dir(self, cell: Cell, method: str, index: int) -> Path:
        return self.stage_dir(cell, method, "instances") / f"{index:03d}"

    def animation_dir(self, cell: Cell, method: str, index: int) -> Path:
        return self.stage_dir(cell, method, "animation") / f"{index:03d}"


def stage_seed(base_seed: int, cell: Cell, method: str | None, *keys: object) -> int:
    """The seed of one stage unit: ``params.seed`` mixed with the cell, the method's random
    stream (:func:`~artic3d_core.pipeline.methods.seed_stream`: methods on the same inputs share
    it) and the unit's own keys (``"joint"``, ``("instance", k)``, ``("enhance", image_id)``...)."""
    return derive_seed(base_seed, str(cell), seed_stream(method) if method else "", *keys)
