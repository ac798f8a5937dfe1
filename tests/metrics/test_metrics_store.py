"""Parquet schema, append-only writing, crash safety."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from artic3d_core.metrics import store
from artic3d_core.metrics.schema import COLUMNS, SCHEMA, MetricRow, git_revision, new_run_id
from artic3d_core.metrics.store import MetricsFileError, append_rows, read_metrics

REQUIRED = [
    "run_id", "timestamp", "git_rev", "params_hash", "dataset", "set", "cls", "method",
    "metric", "value", "images", "pairs", "weights_profile", "weights_fingerprint",
    "weights_random", "feature_backend", "device", "seconds", "crop_scale", "threshold",
    "host", "command", "split", "preset", "seed",
]  # fmt: skip


def test_schema_columns_and_types(tmp_path: Path, sample_rows):
    path = append_rows(tmp_path / "m.parquet", sample_rows)
    schema = pq.read_schema(path)
    assert [c for c in REQUIRED if c not in schema.names] == []
    assert tuple(schema.names) == COLUMNS
    assert schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert schema.field("value").type == pa.float64()
    assert schema.field("weights_random").type == pa.bool_()
    assert schema.field("images").type == pa.int32()
    assert schema.metadata[b"artic3d.metrics.schema"] == b"2"
    df = read_metrics(path)
    assert len(df) == len(sample_rows)
    first = df.iloc[0]
    assert first["metric"] == "pck" and first["value"] == 64.2 and first["unit"] == "%"
    assert first["weights_random"] and first["weights_fingerprint"] == "sd=random:abc"
    assert first["threshold"] == 0.1 and first["crop_scale"] == 2.0


def test_rows_record_machine_and_command(tmp_path: Path, sample_rows):
    df = read_metrics(append_rows(tmp_path / "m.parquet", sample_rows))
    assert df["host"].str.contains("CPUs").all()
    assert (df["command"].str.len() > 0).all()


def test_files_without_provenance_columns_read_as_null(tmp_path: Path, sample_rows):
    path = append_rows(tmp_path / "m.parquet", sample_rows)
    old = tmp_path / "old.parquet"
    pq.write_table(pq.read_table(path).drop_columns(["host", "command"]), old)
    df = read_metrics(old)
    assert list(df.columns) == list(COLUMNS)
    assert df["host"].isna().all() and df["command"].isna().all()
    assert len(read_metrics(path, old)) == 2 * len(sample_rows)


def test_rows_record_split_preset_and_seed(tmp_path: Path, ctx_factory, t0):
    ctx = ctx_factory(dataset="synthetic", split="test", preset="wide", seed=2)
    path = append_rows(tmp_path / "m.parquet", [ctx.row("pck", 50.0, timestamp=t0)])
    r = read_metrics(path).iloc[0]
    assert (r["split"], r["preset"], r["seed"]) == ("test", "wide", 2)
    # a row of a dataset without splits, and a file written before splits existed
    plain = ctx_factory().row("pck", 40.0, timestamp=t0)
    assert plain.split == "none" and plain.preset is None and plain.seed is None
    old = tmp_path / "old.parquet"
    pq.write_table(pq.read_table(path).drop_columns(["split", "preset", "seed"]), old)
    df = read_metrics(old)
    assert df["split"].tolist() == ["none"] and df["seed"].isna().all()


def test_append_accumulates_and_keeps_old_rows(tmp_path: Path, sample_rows):
    path = tmp_path / "metrics" / "all.parquet"
    append_rows(path, sample_rows[:3])
    before = read_metrics(path)
    append_rows(path, sample_rows[3:])
    after = read_metrics(path)
    assert len(after) == len(sample_rows)
    assert after.iloc[:3].equals(before)


def test_folder_mode_writes_one_immutable_part_per_call(tmp_path: Path, sample_rows):
    folder = tmp_path / "metrics"
    p1 = append_rows(folder, sample_rows[:2])
    p1_bytes = p1.read_bytes()
    p2 = append_rows(folder, sample_rows[2:])
    assert p1 != p2 and p1.read_bytes() == p1_bytes
    assert len(list(folder.glob("part-*.parquet"))) == 2
    assert len(read_metrics(folder)) == len(sample_rows)


def test_crash_while_writing_leaves_old_file_intact(tmp_path: Path, sample_rows, monkeypatch):
    path = tmp_path / "m.parquet"
    append_rows(path, sample_rows[:3])
    old = path.read_bytes()

    def crashing_write(table, where, **kw):
        Path(where).write_bytes(b"PAR1 half a file")  # partial output, then the process dies
        raise OSError("simulated crash (disk full)")

    monkeypatch.setattr(store.pq, "write_table", crashing_write)
    with pytest.raises(OSError, match="simulated crash"):
        append_rows(path, sample_rows[3:])
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []
    # folder mode: no part file appears
    with pytest.raises(OSError):
        append_rows(tmp_path / "folder", sample_rows)
    assert list((tmp_path / "folder").glob("*.parquet")) == []
    monkeypatch.undo()
    assert len(read_metrics(path)) == 3


def test_rows_are_validated():
    base = dict(
        run_id="r", timestamp=datetime.now(UTC), git_rev="g", params_hash="p", dataset="d",
        set="clean", cls="c", method="m", metric="pck", value=1.0, unit="%", images=1,
        pairs=None, weights_profile="tiny", weights_fingerprint="f", weights_random=True,
        feature_backend="dino", device="cpu",
    )  # fmt: skip
    MetricRow(**base)
    with pytest.raises(ValueError, match="finite"):
        MetricRow(**{**base, "value": math.nan})
    with pytest.raises(ValueError, match="set must be"):
        MetricRow(**{**base, "set": "train"})
    with pytest.raises(ValueError, match="timezone"):
        MetricRow(**{**base, "timestamp": datetime(2025, 1, 1)})
    with pytest.raises(ValueError, match="no metric rows"):
        append_rows("x.parquet", [])


def test_bad_files_are_named(tmp_path: Path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(MetricsFileError, match=r"bad\.parquet"):
        read_metrics(bad)
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"a": [1]}), other)
    with pytest.raises(MetricsFileError, match="missing columns"):
        read_metrics(other)
    with pytest.raises(MetricsFileError, match="no such"):
        read_metrics(tmp_path / "nope")
    empty = tmp_path / "emptydir"
    empty.mkdir()
    df = read_metrics(empty)
    assert len(df) == 0 and list(df.columns) == SCHEMA.names


def test_run_id_and_git_revision():
    a, b = new_run_id(), new_run_id()
    assert a != b and a[:8].isdigit()
    assert git_revision("/") == "unknown"  # not a git work tree
