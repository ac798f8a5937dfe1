"""Rows computed with the synthetic prior carry its mark in the tables and its name in the report."""

from __future__ import annotations

from artic3d_core.metrics.report import render_report
from artic3d_core.metrics.schema import rows_to_table
from artic3d_core.metrics.tables import SYNTHETIC_MARK, build_tables, latex_escape
from artic3d_core.weights import WeightsInfo
from tests.metrics.conftest import make_ctx

SYNTH_SD = WeightsInfo("synthetic prior", "synthetic", "/p/synthetic-animals", "sha256:1", False)


def test_synthetic_prior_rows_are_marked_and_named(t0):
    rows = [
        make_ctx(set_=s, weights=(SYNTH_SD,)).row("pck", v, images=30, pairs=870, timestamp=t0)
        for s, v in (("clean", 50.0), ("occluded", 40.0))
    ]
    df = rows_to_table(rows).to_pandas()
    t1 = {t.name: t for t in build_tables(df)}["table1"]
    zi = t1.header.index("Zebra")
    row = next(r for r in t1.rows if r[0] == "ARTIC3D" and r[1] == "LASSIE")
    assert row[zi] == "50.0" + SYNTHETIC_MARK  # not RANDOM (†), but not SD either
    assert any("synthetic prior" in n for n in t1.notes)
    assert latex_escape(SYNTHETIC_MARK) == r"\textsuperscript{\S}"
    assert "synthetic prior: trained on the synthetic animals" in render_report(df, regenerate="x")
