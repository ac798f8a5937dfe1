"""Metrics storage and reporting: the parquet schema and its append-only writer, the paper's
published numbers (versioned data file), Markdown/LaTeX tables."""

from artic3d_core.metrics.schema import (
    COLUMNS,
    METRIC_UNITS,
    SCHEMA,
    MetricRow,
    RunContext,
    git_revision,
    new_run_id,
)
from artic3d_core.metrics.store import MetricsFileError, append_rows, read_metrics

__all__ = [
    "COLUMNS",
    "METRIC_UNITS",
    "SCHEMA",
    "MetricRow",
    "MetricsFileError",
    "RunContext",
    "append_rows",
    "git_revision",
    "new_run_id",
    "read_metrics",
]
