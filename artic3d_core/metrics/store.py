"""Append-only parquet storage of metric rows; a crash never damages what was there.

Two layouts, both read by :func:`read_metrics`:

* a **dataset folder** (``metrics/<name>/``, the default for parallel runs): every call writes
  one new immutable part file ``part-<run_id>-<uuid>.parquet`` (temp file + ``os.replace``);
  nothing existing is ever opened for writing;
* a **single file** (``metrics/<name>.parquet``): under an exclusive lock the old rows and the
  new ones are written to a temp file in the same folder, fsynced, then atomically renamed over
  the old file. A crash before the rename leaves the old file untouched.
"""

from __future__ import annotations

import contextlib
import fcntl
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from artic3d_core.atomic import atomic_write
from artic3d_core.metrics.schema import (
    COLUMNS,
    NO_SPLIT,
    OPTIONAL_COLUMNS,
    SCHEMA,
    MetricRow,
    rows_to_table,
)

__all__ = ["MetricsFileError", "append_rows", "read_metrics"]


class MetricsFileError(ValueError):
    """A metrics parquet file that cannot be read or has the wrong columns (file named)."""


def _write_atomic(table: pa.Table, dest: Path) -> None:
    atomic_write(dest, lambda t: pq.write_table(table, t), fsync=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock = path.with_name(path.name + ".lock")
    with open(lock, "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _read_one(path: Path) -> pa.Table:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise MetricsFileError(f"{path}: not a readable parquet file ({exc})") from None
    for name in OPTIONAL_COLUMNS:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(len(table), SCHEMA.field(name).type))
    split = table.column("split")
    if split.null_count:  # rows written before splits existed scored the one unsplit set
        i = table.column_names.index("split")
        table = table.set_column(i, "split", pc.fill_null(split.cast(pa.string()), NO_SPLIT))
    missing = [c for c in COLUMNS if c not in table.column_names]
    if missing:
        raise MetricsFileError(f"{path}: not a metrics table, missing columns {missing}")
    try:
        return table.select(list(COLUMNS)).cast(SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise MetricsFileError(f"{path}: columns have the wrong types ({exc})") from None


def append_rows(path: str | Path, rows: Iterable[MetricRow]) -> Path:
    """Append ``rows`` to the metrics store at ``path``; returns the file written.

    ``path`` ending in ``.parquet`` is a single file (rewritten atomically under a lock);
    anything else is a dataset folder that receives a new part file.
    """
    rows = list(rows)
    if not rows:
        raise ValueError(f"{path}: no metric rows to append")
    table = rows_to_table(rows)
    path = Path(path)
    if path.suffix != ".parquet":
        path.mkdir(parents=True, exist_ok=True)
        run = "".join(c if c.isalnum() or c in "-_" else "_" for c in rows[0].run_id)
        dest = path / f"part-{run}-{uuid.uuid4().hex[:8]}.parquet"
        _write_atomic(table, dest)
        return dest
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        if path.exists():
            table = pa.concat_tables([_read_one(path), table])
        _write_atomic(table, path)
    return path


def read_metrics(*paths: str | Path) -> pd.DataFrame:
    """All rows under the given files / folders (``*.parquet``, recursively), schema-checked."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(
                f for f in p.rglob("*.parquet") if f.is_file() and not f.name.startswith(".")
            )
        elif p.is_file():
            files.append(p)
        else:
            raise MetricsFileError(f"{p}: no such metrics file or folder")
    table = pa.concat_tables([_read_one(f) for f in files]) if files else SCHEMA.empty_table()
    # nullable integers stay integers whether or not a null is present
    return table.to_pandas(types_mapper={pa.int32(): pd.Int32Dtype()}.get)
