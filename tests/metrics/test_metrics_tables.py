"""Paper numbers data file and the rendered tables (Markdown, LaTeX, CLI)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from artic3d_core.metrics.paper import load_paper_numbers, parse_cell
from artic3d_core.metrics.store import append_rows, read_metrics
from artic3d_core.metrics.tables import build_tables, latest_rows, render_tables


def test_paper_numbers_file_transcribes_spec_12():
    paper = load_paper_numbers()
    assert paper["version"] == 1
    t1 = paper["table1"]
    assert len(t1["rows"]) == 7 and len(t1["classes"]) == 6
    artic_clean = next(r for r in t1["rows"] if r["method"] == "ARTIC3D" and r["set"] == "clean")
    assert artic_clean["cells"]["tiger"] == "64.0" and artic_clean["cells"]["elephant"] == "44.x"
    t2 = {r["method"]: r["cells"] for r in paper["table2"]["rows"]}
    assert t2["ARTIC3D"] == {"horse": "44.4", "cow": "43.0", "sheep": "31.x"}
    t3 = {r["method"]: r["cells"] for r in paper["table3"]["rows"]}
    assert t3["Hi-LASSIE"]["elephant"] == "80.0/26.x"


@pytest.mark.parametrize(
    ("shown", "value", "certain"),
    [
        ("44.4", 44.4, True),
        ("43.x", 43.0, False),
        ("40.x [40.3]", 40.3, False),
        ("57.7 (likely)", 57.7, False),
        ("–", None, False),
    ],
)
def test_parse_cell(shown, value, certain):
    cell = parse_cell(shown)
    assert (cell.value, cell.certain) == (value, certain)


def _tables(rows) -> dict:
    from artic3d_core.metrics.schema import rows_to_table

    df = rows_to_table(rows).to_pandas()
    return {t.name: t for t in build_tables(df)}


def test_table1_puts_ours_next_to_the_paper_and_marks_random(sample_rows):
    t1 = _tables(sample_rows)["table1"]
    assert t1.header[:4] == ["Method", "Set", "Elephant", "Elephant (paper)"]
    zi = t1.header.index("Zebra")
    row = next(r for r in t1.rows if r[0] == "ARTIC3D" and r[1] == "LASSIE")
    assert row[zi] == "64.2†" and row[zi + 1] == "64.x"
    occ = next(r for r in t1.rows if r[0] == "ARTIC3D" and r[1] == "E-LASSIE")
    assert occ[zi] == "61.0†" and occ[zi + 1] == "63.x"
    ti = t1.header.index("Tiger")
    hl = next(r for r in t1.rows if r[0] == "Hi-LASSIE" and r[1] == "LASSIE")
    assert hl[ti] == "63.0" and hl[ti + 1] == "63.1"  # real weights: no mark
    lassie = next(r for r in t1.rows if r[0] == "LASSIE")
    assert lassie[zi] == "–" and lassie[zi + 1] == "63.x [63.3]"


def test_table2_table3_and_synthetic(sample_rows):
    tabs = _tables(sample_rows)
    t2 = tabs["table2"]
    row = next(r for r in t2.rows if r[0] == "ARTIC3D")
    assert row[1:3] == ["44.0†‡", "44.4"]  # random weights + oracle features
    t3 = tabs["table3"]
    gi = t3.header.index("Giraffe s1/s2")
    row = next(r for r in t3.rows if r[0] == "ARTIC3D")
    assert row[gi] == "85.1†/30.2†" and row[gi + 1] == "85.3/30.x ?"
    syn = tabs["synthetic"]
    assert syn.header[3:] == [
        "pck (%)",
        "mask_iou (%)",
        "kp3d_err_rel (% of GT extent)",
        "azim_err_deg (deg)",
    ]
    assert syn.rows == [["kangaroo", "clean", "ARTIC3D", "55.50†‡", "80.25†‡", "7.50†‡", "12.00†‡"]]


def test_latest_run_wins(sample_rows, ctx_factory, t0):
    newer = ctx_factory(run_id="run-9").row("pck", 70.0, timestamp=t0 + timedelta(days=1))
    latest = latest_rows(_df([*sample_rows, newer]))
    sel = latest[(latest.cls == "zebra") & (latest.metric == "pck") & (latest.set == "clean")]
    assert sel["value"].tolist() == [70.0] and sel["run_id"].tolist() == ["run-9"]


def _df(rows):
    from artic3d_core.metrics.schema import rows_to_table

    return rows_to_table(rows).to_pandas()


def test_latex_escapes_and_marks(sample_rows):
    rendered = {t.name: t for t in render_tables(_df(sample_rows))}
    tex = rendered["table1"].latex
    assert "\\begin{tabular}{ll" in tex and "\\toprule" in tex
    assert "64.2\\textsuperscript{\\dag}" in tex
    assert "PCK@0.1 (\\%)" in tex  # the caption's percent sign is escaped
    md = rendered["table1"].markdown
    assert md.count("\n| ") >= 8 and "RANDOM weights" in md


def test_tables_cli(tmp_path: Path, sample_rows):
    from artic3d_cli.main import app

    append_rows(tmp_path / "metrics" / "a.parquet", sample_rows[:5])
    append_rows(tmp_path / "metrics" / "run-x", sample_rows[5:])
    out = tmp_path / "reports"
    res = CliRunner().invoke(
        app, ["tables", "--metrics", str(tmp_path / "metrics"), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in out.iterdir())
    for n in ("table1", "table2", "table3", "synthetic", "all_metrics"):
        assert f"{n}.md" in names and f"{n}.tex" in names
    assert "64.2†" in (out / "table1.md").read_text()
    assert f"{len(read_metrics(tmp_path / 'metrics'))} metric rows" in res.output
    bad = CliRunner().invoke(
        app, ["tables", "--metrics", str(tmp_path / "nope"), "--out", str(out)]
    )
    assert bad.exit_code == 2 and "no such" in bad.output


def test_bbox_baseline_rows_sit_under_the_methods_pck(sample_rows, ctx_factory, t0):
    """``pck_bbox*`` rows become rows "<method>: PCK (bbox…)" under the method's PCK row in
    Tables 1/2 (no paper number), columns of the synthetic table, and rows of all_metrics."""
    ctx = ctx_factory()
    extra = [
        ctx.row("pck_bbox", 31.25, images=30, pairs=870, threshold=0.1, timestamp=t0),
        ctx.row("pck_bbox_mirror", 40.5, images=30, pairs=870, threshold=0.1, timestamp=t0),
    ]
    syn = ctx_factory(dataset="synthetic", cls="kangaroo", feature_backend="oracle")
    extra.append(syn.row("pck_bbox_mirror_gt", 42.0, images=12, timestamp=t0))
    tabs = _tables([*sample_rows, *extra])
    t1 = tabs["table1"]
    zi = t1.header.index("Zebra")
    labels = [(r[0], r[1]) for r in t1.rows]
    i = labels.index(("ARTIC3D", "LASSIE"))
    assert labels[i + 1 : i + 3] == [
        ("ARTIC3D: PCK (bbox)", "LASSIE"),
        ("ARTIC3D: PCK (bbox, mirrored)", "LASSIE"),
    ]
    assert t1.rows[i + 1][zi : zi + 2] == ["31.2†", "–"]
    assert t1.rows[i + 2][zi : zi + 2] == ["40.5†", "–"]
    assert ("ARTIC3D: PCK (bbox)", "E-LASSIE") not in labels  # no bbox rows there
    assert any("PCK (bbox)" in n for n in t1.notes)
    assert not any("PCK (bbox)" in n for n in tabs["table2"].notes)
    assert "pck_bbox_mirror_gt (%)" in tabs["synthetic"].header
    assert {"pck_bbox", "pck_bbox_mirror"} <= {r[4] for r in tabs["all_metrics"].rows}
    md = {t.name: t for t in render_tables(_df([*sample_rows, *extra]))}["table1"].markdown
    assert "| ARTIC3D: PCK (bbox) | LASSIE |" in md


def _spread_rows(ctx_factory, t0):
    """PCK of one class over three seeds on two presets, plus a superseded row of seed 0."""
    rows = []
    for preset, values in (("full", (60.0, 70.0, 80.0)), ("wide", (40.0, 44.0, 48.0))):
        for seed, v in enumerate(values):
            ctx = ctx_factory(
                dataset="synthetic", method="hi-lassie", split="test", preset=preset, seed=seed
            )
            rows.append(ctx.row("pck", v, timestamp=t0 + timedelta(hours=1)))
            rows.append(ctx.row("pck_bbox_mirror_gt", 50.0 + seed, timestamp=t0))
    old = ctx_factory(dataset="synthetic", method="hi-lassie", split="test", preset="full", seed=0)
    rows.append(old.row("pck", 5.0, timestamp=t0))  # older than seed 0's 60.0: not counted
    return rows


def test_seed_spreads_mean_and_sample_std(ctx_factory, t0):
    from artic3d_core.metrics.schema import rows_to_table
    from artic3d_core.metrics.tables import format_spread, seed_spreads

    sp = seed_spreads(rows_to_table(_spread_rows(ctx_factory, t0)).to_pandas())
    full = sp[(sp["preset"] == "full") & (sp["metric"] == "pck")].iloc[0]
    assert (full["mean"], full["std"], full["n"]) == (70.0, 10.0, 3)
    wide = sp[(sp["preset"] == "wide") & (sp["metric"] == "pck")].iloc[0]
    assert (wide["mean"], wide["std"]) == (44.0, 4.0)
    assert format_spread(full) == "70.0 ± 10.0†"
    one = full.copy()
    one["n"] = 1
    assert format_spread(one) == "70.0† (1 seed)" and format_spread(None) == "–"


def test_presets_table_puts_full_and_wide_side_by_side(ctx_factory, t0):
    t = _tables(_spread_rows(ctx_factory, t0))
    pr = t["presets"]
    row = pr.rows[0]
    assert row[:4] == ["zebra", "test", "clean", "Hi-LASSIE"]
    assert row[pr.header.index("full: PCK")] == "70.0 ± 10.0†"
    assert row[pr.header.index("wide: PCK")] == "44.0 ± 4.0†"
    assert row[pr.header.index("wide: box, mirrored by GT")] == "51.0 ± 1.0†"
    assert "wide: mask IoU" not in pr.header  # no row holds it
    seeds = t["seeds"]
    assert [r[1] for r in seeds.rows] == ["full", "wide"] and seeds.rows[0][6] == "3"


def test_report_summarises_seeds_before_the_groups(tmp_path, ctx_factory, t0):
    from artic3d_core.metrics.report import render_report
    from artic3d_core.metrics.schema import rows_to_table

    df = rows_to_table(_spread_rows(ctx_factory, t0)).to_pandas()
    text = render_report(df, regenerate="artic3d report", groups=False)
    assert "## Synthetic presets side by side" in text and "70.0 ± 10.0†" in text
    assert "**Commit**" not in text
    assert "**Commit**" in render_report(df, regenerate="artic3d report")


def _timed_rows(ctx_factory, t0):
    """Minutes and 3D errors of two methods over seeds, each recorded under both sets."""
    rows = []
    for method, minutes in (("hi-lassie", (10.0, 12.0, 14.0)), ("artic3d", (30.0, 36.0))):
        for seed, v in enumerate(minutes):
            for set_ in ("clean", "occluded"):
                ctx = ctx_factory(
                    dataset="synthetic", set_=set_, method=method, split="dev", preset="wide",
                    seed=seed,
                )  # fmt: skip
                rows.append(ctx.row("minutes", v, images=45, seconds=60 * v, timestamp=t0))
                rows.append(ctx.row("joint3d_err_rel", 8.0 + seed, timestamp=t0))
                rows.append(ctx.row("azim_err_deg", 100.0 + seed, timestamp=t0))
                rows.append(ctx.row("azim_err_mirror_deg", 20.0 + seed, timestamp=t0))
    lassie = ctx_factory(dataset="lassie", cls="tiger", method="artic3d", seed=0)
    rows.append(lassie.row("minutes", 7.25, timestamp=t0))
    return rows


def test_minutes_table_per_class_and_method(ctx_factory, t0):
    t = _tables(_timed_rows(ctx_factory, t0))
    mt = t["minutes"]
    assert mt.header == ["Dataset", "Preset", "Split", "Class", "ARTIC3D", "Hi-LASSIE"]
    assert mt.rows == [  # one row per class, whichever sets recorded the run
        ["lassie", "–", "none", "tiger", "7.2† (1 seed)", "–"],
        ["synthetic", "wide", "dev", "zebra", "33.0 ± 4.2†", "12.0 ± 2.0†"],
    ]
    pr = t["presets"]
    row = next(r for r in pr.rows if r[2:4] == ["clean", "Hi-LASSIE"])
    assert row[pr.header.index("wide: minutes")] == "12.0 ± 2.0†"
    assert row[pr.header.index("wide: joint err")] == "9.0 ± 1.0†"
    assert row[pr.header.index("wide: azimuth err")] == "101.0 ± 1.0†"
    assert row[pr.header.index("wide: azimuth err, mirror")] == "21.0 ± 1.0†"
    seeds = t["seeds"]
    assert "minutes (min)" in seeds.header and "azim_err_mirror_deg (deg)" in seeds.header
    syn = t["synthetic"]
    assert "joint3d_err_rel (% of GT extent)" in syn.header and "minutes (min)" in syn.header


def test_tables_without_minutes_have_no_minutes_table(ctx_factory, t0):
    assert "minutes" not in _tables(_spread_rows(ctx_factory, t0))
