"""The metrics table: one row per (run, dataset, set, class, method, metric), long format.

Every row says which run, code revision, parameters and weights made it, on which machine
(``host``) and by which command line (``command``); which data split it scores (``split``:
train / dev / test of the synthetic generator's seeds, ``none`` for datasets without splits),
the synthetic ``preset`` (null elsewhere) and the project ``seed``; ``weights_random`` is
True when any weights involved were random (profiles tiny / full-random), and
``feature_backend == "oracle"`` marks rows whose features read the ground truth.
Values are stored in the units the paper reports (PCK and IoU in %, CLIP ×100).
"""

from __future__ import annotations

import math
import os
import platform
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from artic3d_core.weights import WeightsInfo

__all__ = [
    "COLUMNS",
    "METRIC_UNITS",
    "NO_SPLIT",
    "OPTIONAL_COLUMNS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "SETS",
    "MetricRow",
    "RunContext",
    "current_command",
    "git_revision",
    "machine_description",
    "new_run_id",
    "rows_to_table",
]

SCHEMA_VERSION = "2"
SETS = ("clean", "occluded")
NO_SPLIT = "none"

SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("git_rev", pa.string(), nullable=False),
        pa.field("params_hash", pa.string(), nullable=False),
        pa.field("dataset", pa.string(), nullable=False),
        pa.field("set", pa.string(), nullable=False),
        pa.field("cls", pa.string(), nullable=False),
        pa.field("method", pa.string(), nullable=False),
        pa.field("metric", pa.string(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
        pa.field("unit", pa.string(), nullable=False),
        pa.field("images", pa.int32(), nullable=True),
        pa.field("pairs", pa.int32(), nullable=True),
        pa.field("weights_profile", pa.string(), nullable=False),
        pa.field("weights_fingerprint", pa.string(), nullable=False),
        pa.field("weights_random", pa.bool_(), nullable=False),
        pa.field("feature_backend", pa.string(), nullable=False),
        pa.field("device", pa.string(), nullable=False),
        pa.field("seconds", pa.float64(), nullable=True),
        pa.field("crop_scale", pa.float64(), nullable=True),
        pa.field("threshold", pa.float64(), nullable=True),
        pa.field("host", pa.string(), nullable=True),
        pa.field("command", pa.string(), nullable=True),
        pa.field("split", pa.string(), nullable=True),
        pa.field("preset", pa.string(), nullable=True),
        pa.field("seed", pa.int64(), nullable=True),
    ],
    metadata={"artic3d.metrics.schema": SCHEMA_VERSION},
)
COLUMNS: tuple[str, ...] = tuple(SCHEMA.names)
# provenance columns a metrics file may lack; the reader fills them with nulls
OPTIONAL_COLUMNS: tuple[str, ...] = ("host", "command", "split", "preset", "seed")

# metric name → unit (the names other areas should use)
METRIC_UNITS: dict[str, str] = {
    "pck": "%",  # keypoint transfer PCK@threshold, paper indexing
    "pck_reference": "%",  # the reference eval.py variant (indexing defect reproduced)
    "pck_bbox": "%",  # baseline: keypoints transferred through the two animals' boxes
    "pck_bbox_mirror": "%",  # … x flipped where the method's facing estimates differ
    "pck_bbox_mirror_gt": "%",  # … x flipped where the ground-truth facings differ (synthetic)
    "sil_iou": "%",  # silhouette IoU vs GT (Pascal-Part part masks / synthetic masks)
    "part_iou": "%",
    "mask_iou": "%",  # synthetic: predicted silhouette vs GT mask
    "clip_s1": "x100",  # image–image vs masked input
    "clip_s2": "x100",  # image–text vs "A photo of <cls>"
    "kp3d_err": "gt_units",
    "kp3d_err_rel": "% of GT extent",
    "joint3d_err": "gt_units",
    "joint3d_err_rel": "% of GT extent",
    "azim_err_deg": "deg",
    "azim_err_mirror_deg": "deg",
    "minutes": "min",  # wall time of the class's stages before the evaluation (one run)
}


@dataclass(frozen=True)
class MetricRow:
    """One metrics row (see :data:`SCHEMA`)."""

    run_id: str
    timestamp: datetime
    git_rev: str
    params_hash: str
    dataset: str
    set: str
    cls: str
    method: str
    metric: str
    value: float
    unit: str
    images: int | None
    pairs: int | None
    weights_profile: str
    weights_fingerprint: str
    weights_random: bool
    feature_backend: str
    device: str
    seconds: float | None = None
    crop_scale: float | None = None
    threshold: float | None = None
    host: str | None = None
    command: str | None = None
    split: str = NO_SPLIT
    preset: str | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.set not in SETS:
            raise ValueError(f"MetricRow: set must be one of {SETS}, got {self.set!r}")
        for name in ("run_id", "dataset", "cls", "method", "metric"):
            if not getattr(self, name):
                raise ValueError(f"MetricRow: {name} must be non-empty")
        if not isinstance(self.value, (int, float)) or not math.isfinite(self.value):
            raise ValueError(
                f"MetricRow {self.cls}/{self.method}/{self.metric}: value must be a finite "
                f"number, got {self.value!r}"
            )
        if self.timestamp.tzinfo is None:
            raise ValueError("MetricRow: timestamp must be timezone-aware (UTC)")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def rows_to_table(rows: Iterable[MetricRow]) -> pa.Table:
    """Rows → an Arrow table with exactly :data:`SCHEMA`."""
    rows = list(rows)
    cols = {name: [getattr(r, name) for r in rows] for name in COLUMNS}
    cols["value"] = [float(v) for v in cols["value"]]
    return pa.Table.from_pydict(cols, schema=SCHEMA)


def new_run_id() -> str:
    """``YYYYmmddTHHMMSSZ-<8 hex>``: sortable and unique."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def git_revision(repo_dir: str | Path = ".") -> str:
    """Short commit of ``repo_dir`` (+ ``-dirty`` with uncommitted changes), ``unknown`` if none."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=repo_dir,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo_dir,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + ("-dirty" if dirty else "") if rev else "unknown"


def machine_description() -> str:
    """``<hostname> (<OS> <arch>, <n> CPUs[, <GPU name>])``: the machine a row was computed on."""
    parts = [f"{platform.system()} {platform.machine()}", f"{os.cpu_count()} CPUs"]
    torch = sys.modules.get("torch")  # only if already imported: never load torch for this
    try:
        if torch is not None and torch.cuda.is_available():
            parts.append(torch.cuda.get_device_name(0))
    except (RuntimeError, AssertionError):
        pass
    return f"{platform.node() or 'unknown'} ({', '.join(parts)})"


def current_command() -> str:
    """This process's command line, ``python -m <module> …`` for a module run with ``-m``."""
    argv = list(sys.argv) or ["python"]
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name and argv[0].endswith(".py"):
        head = ["python", "-m", spec.name.removesuffix(".__main__")]
    else:
        head = [os.path.basename(argv[0])]
    return shlex.join(head + argv[1:])


def _weights_summary(weights: Sequence[WeightsInfo]) -> tuple[str, str, bool]:
    if not weights:
        return "none", "", False
    profiles = sorted({w.profile for w in weights})
    profile = profiles[0] if len(profiles) == 1 else "mixed(" + ",".join(profiles) + ")"
    fp = ";".join(f"{w.model}={w.fingerprint}" for w in sorted(weights, key=lambda w: w.model))
    return profile, fp, any(w.random for w in weights)


@dataclass(frozen=True)
class RunContext:
    """What every row of one evaluation run shares; :meth:`row` builds the rows."""

    dataset: str
    set: str
    cls: str
    method: str
    params_hash: str
    device: str
    feature_backend: str
    weights: tuple[WeightsInfo, ...] = ()
    split: str = NO_SPLIT
    preset: str | None = None
    seed: int | None = None
    run_id: str = field(default_factory=new_run_id)
    git_rev: str = field(default_factory=git_revision)
    host: str = field(default_factory=machine_description)
    command: str = field(default_factory=current_command)

    def row(
        self,
        metric: str,
        value: float,
        *,
        unit: str | None = None,
        images: int | None = None,
        pairs: int | None = None,
        seconds: float | None = None,
        crop_scale: float | None = None,
        threshold: float | None = None,
        extra_weights: Sequence[WeightsInfo] = (),
        timestamp: datetime | None = None,
    ) -> MetricRow:
        """One row; ``extra_weights`` adds e.g. the CLIP model to the run's weights."""
        if unit is None:
            if metric not in METRIC_UNITS:
                raise ValueError(f"metric {metric!r} has no default unit; pass unit=")
            unit = METRIC_UNITS[metric]
        profile, fp, rnd = _weights_summary(tuple(self.weights) + tuple(extra_weights))
        return MetricRow(
            run_id=self.run_id,
            timestamp=timestamp or datetime.now(UTC),
            git_rev=self.git_rev,
            params_hash=self.params_hash,
            dataset=self.dataset,
            set=self.set,
            cls=self.cls,
            method=self.method,
            metric=metric,
            value=float(value),
            unit=unit,
            images=images,
            pairs=pairs,
            weights_profile=profile,
            weights_fingerprint=fp,
            weights_random=rnd,
            feature_backend=self.feature_backend,
            device=self.device,
            seconds=seconds,
            crop_scale=crop_scale,
            threshold=threshold,
            host=self.host,
            command=self.command,
            split=self.split,
            preset=self.preset,
            seed=self.seed,
        )
