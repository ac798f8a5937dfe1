"""Paper tables from the metrics rows, as Markdown and LaTeX.

* Table 1 — keypoint-transfer PCK on LASSIE (set ``clean``) and E-LASSIE (set ``occluded``);
* Table 2 — Pascal-Part PCK;
  in both, under each of our methods, the bounding-box transfer baseline scored on the same
  pairs (metrics ``pck_bbox``, ``pck_bbox_mirror``, ``pck_bbox_mirror_gt``; docs/method.md §10.1)
  where the metrics hold it;
* Table 3 — CLIP s1/s2 on E-LASSIE;
* synthetic — every metric of dataset ``synthetic`` (no paper numbers exist);
* seeds — mean ± sample standard deviation over the project seeds (``seed`` column) of every
  (dataset, preset, split, set, class, method) and headline metric, where the rows record seeds;
* presets — the synthetic classes side by side per preset (e.g. ``full`` vs ``wide``): mask IoU,
  PCK, the mirrored bounding-box baselines, 3D joint error, azimuth error (plain and
  mirror-invariant) and minutes where the rows hold them, each mean ± std over seeds;
* minutes — per (dataset, preset, split, class) the wall minutes of each method's run (stages
  before the evaluation), mean ± std over seeds;
* all_metrics — the latest value of every (dataset, set, class, method, metric).

Each measured cell is the row with the latest timestamp for its (dataset, set, class, method,
metric). The paper's number sits in the column next to ours. Marks on our cells:
``†`` random weights (tiny / full-random profiles: not comparable with the paper),
``‡`` oracle features (read the ground truth), ``§`` the synthetic prior (a diffusion model
trained on the synthetic animals, weights profile ``synthetic``: not Stable Diffusion).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from artic3d_core.atomic import atomic_write_text
from artic3d_core.metrics.paper import load_paper_numbers
from artic3d_core.metrics.schema import METRIC_UNITS, NO_SPLIT

__all__ = [
    "RenderedTable",
    "TableData",
    "build_tables",
    "format_spread",
    "latest_rows",
    "seed_spreads",
    "write_tables",
]

RANDOM_MARK = "†"
ORACLE_MARK = "‡"
SYNTHETIC_MARK = "§"
KEY = ["dataset", "set", "cls", "method", "metric"]
METHOD_NAMES = {
    "lassie": "LASSIE",
    "hi-lassie": "Hi-LASSIE",
    "hi-lassie+": "Hi-LASSIE+",
    "artic3d": "ARTIC3D",
    "artic3d-enhance": "ARTIC3D (enhancement only)",
    "artic3d-dass": "ARTIC3D (DASS only)",
}
SET_NAMES = {"clean": "LASSIE", "occluded": "E-LASSIE"}
LEGEND = (
    f"{RANDOM_MARK} computed with RANDOM weights (not comparable with the paper); "
    f"{ORACLE_MARK} oracle features (read the ground truth); {SYNTHETIC_MARK} synthetic prior "
    "(diffusion model trained on the synthetic animals, not Stable Diffusion). Paper: 43.x = decimal lost, "
    "[..] = unverified recollection, ? / (likely) = uncertain placement (docs/method.md §12)."
)

# baseline metrics shown under a method's PCK row: metric → row label
BASELINE_ROWS = {
    "pck_bbox": "PCK (bbox)",
    "pck_bbox_mirror": "PCK (bbox, mirrored)",
    "pck_bbox_mirror_gt": "PCK (bbox, mirrored by GT)",
}
BASELINE_NOTE = (
    "PCK (bbox): keypoints transferred through the two animals' bounding boxes, on the same "
    "pairs and threshold as the method's PCK; mirrored: x flipped within the box where the "
    "method's (or the ground truth's) azimuths say the two animals face opposite ways."
)


@dataclass
class TableData:
    """A rendered-to-be table: header, string rows, notes."""

    name: str
    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    text_cols: int = 1  # leading left-aligned columns (LaTeX)


@dataclass(frozen=True)
class RenderedTable:
    name: str
    markdown: str
    latex: str


def latest_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The latest row (by timestamp) of every (dataset, set, cls, method, metric)."""
    if df.empty:
        return df
    return (
        df.sort_values("timestamp", kind="stable")
        .groupby(KEY, as_index=False, sort=True)
        .tail(1)
        .sort_values(KEY, kind="stable")
        .reset_index(drop=True)
    )


def _marks(row: pd.Series) -> str:
    m = RANDOM_MARK if bool(row["weights_random"]) else ""
    m += SYNTHETIC_MARK if "synthetic" in str(row["weights_profile"]) else ""
    return m + (ORACLE_MARK if row["feature_backend"] == "oracle" else "")


def _lookup(latest: pd.DataFrame) -> dict[tuple[str, ...], pd.Series]:
    return {tuple(r[k] for k in KEY): r for _, r in latest.iterrows()}


def _fmt(row: pd.Series | None, digits: int = 1) -> str:
    if row is None:
        return "–"
    return f"{row['value']:.{digits}f}{_marks(row)}"


def _method_display(method: str) -> str:
    return METHOD_NAMES.get(method.lower(), method)


def _ours_methods(latest: pd.DataFrame, dataset: str, set_: str, metrics: list[str]) -> list[str]:
    sel = latest[
        (latest["dataset"] == dataset) & (latest["set"] == set_) & latest["metric"].isin(metrics)
    ]
    return sorted(set(sel["method"]))


def _rows_for(
    paper_rows: list[dict[str, Any]], ours: list[str], set_: str
) -> list[tuple[str, dict[str, str] | None, str | None]]:
    """(display name, paper cells or None, our method key or None), paper order first."""
    ours_by_display = {_method_display(m).lower(): m for m in ours}
    out = []
    seen = set()
    for pr in paper_rows:
        if pr["set"] != set_:
            continue
        key = str(pr["method"]).lower()
        out.append((str(pr["method"]), pr["cells"], ours_by_display.get(key)))
        seen.add(key)
    for disp, m in ours_by_display.items():
        if disp not in seen:
            out.append((_method_display(m), None, m))
    return out


def _pck_table(
    name: str, spec: dict[str, Any], latest: pd.DataFrame, sets: list[str], show_set: bool
) -> TableData:
    classes: list[str] = spec["classes"]
    header = ["Method"] + (["Set"] if show_set else [])
    for c in classes:
        header += [c.capitalize(), f"{c.capitalize()} (paper)"]
    td = TableData(name, spec["title"], header, notes=[LEGEND], text_cols=2 if show_set else 1)
    look = _lookup(latest)
    ds = spec["dataset"]
    for set_ in sets:
        ours = _ours_methods(latest, ds, set_, [spec["metric"]])
        for disp, cells, m in _rows_for(spec["rows"], ours, set_):
            row = [disp] + ([SET_NAMES.get(set_, set_)] if show_set else [])
            for c in classes:
                r = look.get((ds, set_, c, m, spec["metric"])) if m else None
                row += [_fmt(r), cells[c] if cells else "–"]
            td.rows.append(row)
            if m is None:
                continue
            for metric, label in BASELINE_ROWS.items():
                found = [look.get((ds, set_, c, m, metric)) for c in classes]
                if all(r is None for r in found):
                    continue
                row = [f"{disp}: {label}"] + ([SET_NAMES.get(set_, set_)] if show_set else [])
                for r in found:
                    row += [_fmt(r), "–"]
                td.rows.append(row)
                if BASELINE_NOTE not in td.notes:
                    td.notes.append(BASELINE_NOTE)
    return td


def _clip_table(spec: dict[str, Any], latest: pd.DataFrame) -> TableData:
    classes: list[str] = spec["classes"]
    header = ["Method"]
    for c in classes:
        header += [f"{c.capitalize()} s1/s2", f"{c.capitalize()} (paper)"]
    td = TableData("table3", spec["title"], header, notes=[LEGEND, str(spec.get("note", ""))])
    look = _lookup(latest)
    ds, set_ = spec["dataset"], spec["set"]
    ours = _ours_methods(latest, ds, set_, list(spec["metrics"]))
    for disp, cells, m in _rows_for(spec["rows"], ours, set_):
        row = [disp]
        for c in classes:
            r1 = look.get((ds, set_, c, m, "clip_s1")) if m else None
            r2 = look.get((ds, set_, c, m, "clip_s2")) if m else None
            ours_cell = "–" if r1 is None and r2 is None else f"{_fmt(r1)}/{_fmt(r2)}"
            row += [ours_cell, cells[c] if cells else "–"]
        td.rows.append(row)
    return td


def _metric_order(metrics: list[str]) -> list[str]:
    known = [m for m in METRIC_UNITS if m in metrics]
    return known + sorted(m for m in metrics if m not in METRIC_UNITS)


def _synthetic_table(latest: pd.DataFrame) -> TableData:
    syn = latest[latest["dataset"] == "synthetic"]
    metrics = _metric_order(sorted(set(syn["metric"])))
    units = {m: syn.loc[syn["metric"] == m, "unit"].iloc[0] for m in metrics}
    header = ["Class", "Set", "Method"] + [f"{m} ({units[m]})" for m in metrics]
    td = TableData(
        "synthetic",
        "Synthetic benchmark (ground truth known; no paper numbers)",
        header,
        notes=[LEGEND],
        text_cols=3,
    )
    look = _lookup(syn)
    for (cls, set_, method), _ in syn.groupby(["cls", "set", "method"], sort=True):
        row = [cls, set_, _method_display(method)]
        for m in metrics:
            r = look.get(("synthetic", set_, cls, method, m))
            row.append(_fmt(r, 2))
        td.rows.append(row)
    return td


SPREAD_KEY = ["dataset", "preset", "split", "set", "cls", "method", "metric"]
SPREAD_METRICS = (
    "mask_iou",
    "pck",
    "pck_bbox",
    "pck_bbox_mirror",
    "pck_bbox_mirror_gt",
    "joint3d_err_rel",
    "kp3d_err_rel",
    "azim_err_deg",
    "azim_err_mirror_deg",
    "minutes",
)
PRESET_METRICS = {
    "mask_iou": "mask IoU",
    "pck": "PCK",
    "pck_bbox_mirror": "box, mirrored",
    "pck_bbox_mirror_gt": "box, mirrored by GT",
    "joint3d_err_rel": "joint err",
    "azim_err_deg": "azimuth err",
    "azim_err_mirror_deg": "azimuth err, mirror",
    "minutes": "minutes",
}
SPREAD_NOTE = (
    "Cells: mean ± sample standard deviation over the project seeds (seed = features.seed), "
    "each seed's latest row; n = seeds. Mirrored box baselines: the method's PCK pairs and "
    "threshold, x flipped where the method's (or the ground truth's) facings differ."
)


PRESET_NOTE = (
    "joint err: 3D joint error after a similarity alignment, % of the ground-truth extent; "
    "azimuth err: azimuth error of the fitted cameras (degrees), plain and mirror-invariant "
    "(a ↔ 2·90° − a); minutes: wall time of the run's stages before the evaluation."
)
MINUTES_NOTE = (
    "Wall minutes of one class's run (data, preprocessing, skeleton, joint and instance "
    "optimisation, animation; not the evaluation), mean ± std over seeds; a stage reused from "
    "an earlier run counts with the time it took then."
)


def seed_spreads(df: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, preset, split, set, cls, method, metric): ``mean``, ``std`` (ddof 1; NaN
    for one seed), ``n`` seeds, ``unit`` and ``random`` (any random weights) over the latest row
    of each seed. Rows without a seed are left out."""
    cols = [*SPREAD_KEY, "mean", "std", "n", "unit", "random"]
    if df.empty or "seed" not in df or df["seed"].isna().all():
        return pd.DataFrame(columns=cols)
    d = df[df["seed"].notna()].assign(
        preset=lambda x: x["preset"].fillna("–"), split=lambda x: x["split"].fillna(NO_SPLIT)
    )
    per_seed = (
        d.sort_values("timestamp", kind="stable").groupby([*SPREAD_KEY, "seed"], sort=True).tail(1)
    )
    g = per_seed.groupby(SPREAD_KEY, sort=True)
    out = g["value"].agg(["mean", "count"]).rename(columns={"count": "n"})
    out["std"] = g["value"].std(ddof=1)
    out["unit"] = g["unit"].first()
    out["random"] = g["weights_random"].any()
    return out.reset_index()[cols]


def format_spread(row: pd.Series | None, digits: int = 1) -> str:
    """``mean ± std`` (``mean (1 seed)`` for one seed; ``–`` for none), ``†`` if random."""
    if row is None:
        return "–"
    mark = RANDOM_MARK if bool(row["random"]) else ""
    if int(row["n"]) < 2:
        return f"{row['mean']:.{digits}f}{mark} (1 seed)"
    return f"{row['mean']:.{digits}f} ± {row['std']:.{digits}f}{mark}"


def _seeds_table(spreads: pd.DataFrame) -> TableData:
    metrics = [m for m in SPREAD_METRICS if m in set(spreads["metric"])]
    units = {m: spreads.loc[spreads["metric"] == m, "unit"].iloc[0] for m in metrics}
    header = ["Dataset", "Preset", "Split", "Set", "Class", "Method", "n"]
    header += [f"{m} ({units[m]})" for m in metrics]
    td = TableData(
        "seeds", "Mean ± std over seeds", header, notes=[SPREAD_NOTE, LEGEND], text_cols=6
    )
    look = {tuple(r[k] for k in SPREAD_KEY): r for _, r in spreads.iterrows()}
    for key, rows in spreads.groupby(SPREAD_KEY[:-1], sort=True):
        row = [str(k) for k in key[:5]] + [_method_display(str(key[5])), str(int(rows["n"].max()))]
        row += [format_spread(look.get((*key, m))) for m in metrics]
        td.rows.append(row)
    return td


def _presets_table(spreads: pd.DataFrame) -> TableData:
    syn = spreads[spreads["dataset"] == "synthetic"]
    presets = sorted(set(syn["preset"]))
    metrics = [m for m in PRESET_METRICS if m in set(syn["metric"])]
    header = ["Class", "Split", "Set", "Method"]
    header += [f"{p}: {PRESET_METRICS[m]}" for p in presets for m in metrics]
    td = TableData(
        "presets",
        "Synthetic presets side by side (mean ± std over seeds)",
        header,
        notes=[SPREAD_NOTE, PRESET_NOTE, LEGEND],
        text_cols=4,
    )
    look = {tuple(r[k] for k in SPREAD_KEY): r for _, r in syn.iterrows()}
    keys = (
        syn[["cls", "split", "set", "method"]]
        .drop_duplicates()
        .sort_values(["split", "set", "method", "cls"], kind="stable")
    )
    for _, k in keys.iterrows():
        row = [k["cls"], k["split"], k["set"], _method_display(k["method"])]
        for p in presets:
            row += [
                format_spread(
                    look.get(("synthetic", p, k["split"], k["set"], k["cls"], k["method"], m))
                )
                for m in metrics
            ]
        td.rows.append(row)
    return td


def _minutes_table(spreads: pd.DataFrame) -> TableData:
    """Rows (dataset, preset, split, class), one column per method: minutes mean ± std. The
    run's minutes are recorded under each set it scored; the first set's row is shown."""
    mins = spreads[spreads["metric"] == "minutes"].sort_values(["set"], kind="stable")
    mins = mins.drop_duplicates(["dataset", "preset", "split", "cls", "method"])
    methods = sorted(set(mins["method"]))
    header = ["Dataset", "Preset", "Split", "Class"] + [_method_display(m) for m in methods]
    td = TableData(
        "minutes", "Minutes per class and method", header, notes=[MINUTES_NOTE], text_cols=4
    )
    look = {(*(r[k] for k in ("dataset", "preset", "split", "cls")), r["method"]): r
            for _, r in mins.iterrows()}  # fmt: skip
    for key, _ in mins.groupby(["dataset", "preset", "split", "cls"], sort=True):
        row = [str(k) for k in key]
        row += [format_spread(look.get((*key, m))) for m in methods]
        td.rows.append(row)
    return td


def _all_table(latest: pd.DataFrame) -> TableData:
    header = ["Dataset", "Set", "Class", "Method", "Metric", "Value", "Unit", "Images", "Pairs"]
    header += ["Weights", "Features", "Run", "Git"]
    td = TableData(
        "all_metrics", "All metrics (latest value per cell)", header, notes=[LEGEND], text_cols=5
    )
    for _, r in latest.iterrows():
        td.rows.append(
            [
                r["dataset"],
                r["set"],
                r["cls"],
                _method_display(r["method"]),
                r["metric"],
                _fmt(r, 3),
                r["unit"],
                "" if pd.isna(r["images"]) else str(int(r["images"])),
                "" if pd.isna(r["pairs"]) else str(int(r["pairs"])),
                str(r["weights_profile"]),
                str(r["feature_backend"]),
                str(r["run_id"]),
                str(r["git_rev"]),
            ]
        )
    return td


def build_tables(df: pd.DataFrame, paper: dict[str, Any] | None = None) -> list[TableData]:
    """Tables 1–3, the synthetic table, the tables over seeds (seeds, presets, minutes) where
    the rows record seeds, and the all-metrics table from the metrics rows."""
    paper = paper or load_paper_numbers()
    latest = latest_rows(df)
    spreads = seed_spreads(df)
    seeds = [_seeds_table(spreads)] if len(spreads) else []
    presets = [_presets_table(spreads)] if (spreads["dataset"] == "synthetic").any() else []
    minutes = [_minutes_table(spreads)] if (spreads["metric"] == "minutes").any() else []
    return [
        _pck_table("table1", paper["table1"], latest, ["clean", "occluded"], show_set=True),
        _pck_table("table2", paper["table2"], latest, ["clean"], show_set=False),
        _clip_table(paper["table3"], latest),
        _synthetic_table(latest),
        *seeds,
        *presets,
        *minutes,
        _all_table(latest),
    ]


def to_markdown(td: TableData) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    out = [f"### {td.title}", "", line(td.header), line(["---"] * len(td.header))]
    out += (
        [line(r) for r in td.rows]
        if td.rows
        else [line(["(no rows)"] + [""] * (len(td.header) - 1))]
    )
    out += [""] + [n for n in td.notes if n]
    return "\n".join(out) + "\n"


_LATEX_ESCAPE = {
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\\": r"\textbackslash{}",
    RANDOM_MARK: r"\textsuperscript{\dag}",
    ORACLE_MARK: r"\textsuperscript{\ddag}",
    SYNTHETIC_MARK: r"\textsuperscript{\S}",
    "–": "--",
    "²": r"\textsuperscript{2}",
}


def latex_escape(s: str) -> str:
    return "".join(_LATEX_ESCAPE.get(ch, ch) for ch in s)


def to_latex(td: TableData) -> str:
    n_text = min(len(td.header), td.text_cols)
    cols = "l" * n_text + "r" * (len(td.header) - n_text)
    out = [
        "% generated by `artic3d tables`; needs \\usepackage{booktabs}",
        "\\begin{table}[t]",
        "\\centering",
        f"\\caption{{{latex_escape(td.title)}}}",
        "\\resizebox{\\linewidth}{!}{%",
        f"\\begin{{tabular}}{{{cols}}}",
        "\\toprule",
        " & ".join(latex_escape(h) for h in td.header) + " \\\\",
        "\\midrule",
    ]
    out += [" & ".join(latex_escape(c) for c in r) + " \\\\" for r in td.rows]
    out += ["\\bottomrule", "\\end{tabular}}"]
    notes = [n for n in td.notes if n]
    if notes:
        out.append("\\\\[2pt]{\\footnotesize " + latex_escape(" ".join(notes)) + "}")
    out.append("\\end{table}")
    return "\n".join(out) + "\n"


def render_tables(df: pd.DataFrame, paper: dict[str, Any] | None = None) -> list[RenderedTable]:
    return [RenderedTable(t.name, to_markdown(t), to_latex(t)) for t in build_tables(df, paper)]


def _write_text(path: Path, text: str) -> None:
    atomic_write_text(path, text, fsync=False)


def write_tables(
    df: pd.DataFrame, out_dir: str | Path, paper: dict[str, Any] | None = None
) -> list[Path]:
    """Write ``<name>.md`` and ``<name>.tex`` per table plus ``tables.md`` (all, in order)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    rendered = render_tables(df, paper)
    for t in rendered:
        for suffix, text in ((".md", t.markdown), (".tex", t.latex)):
            p = out / f"{t.name}{suffix}"
            _write_text(p, text)
            written.append(p)
    combined = out / "tables.md"
    _write_text(combined, "\n".join(t.markdown for t in rendered))
    written.append(combined)
    return written
