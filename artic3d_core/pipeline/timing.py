"""Where one class's time went: a per-stage table of a :class:`~artic3d_core.pipeline.reconstruct.ClassRun`.

One row per pipeline stage (data, enhancement, features, skeleton, joint, instance, animation,
eval: wall seconds summed over its runs, e.g. one per instance), each followed by the
optimisation stages of its phase (docs/method.md §7.1 joint, §7.2 instance) summed over the
instances that ran them: iterations per run, render size, mesh level, batch (B joint; the
images fitted together in an instance stage), seconds and seconds per iteration (per image
iteration: an instance stage's seconds are summed over its images' shares). A stage resumed from its checkpoint counts with
the seconds it took when it ran (unknown ones are left out of the sums) and is counted under
``resumed``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["format_time_table", "time_table"]

COLUMNS = (
    ("stage", "<", 18),
    ("phase", "<", 8),
    ("count", ">", 5),
    ("resumed", ">", 7),
    ("iters", ">", 6),
    ("image_size", ">", 10),
    ("mesh_level", ">", 10),
    ("batch", ">", 5),
    ("seconds", ">", 9),
    ("s_per_iter", ">", 10),
)


def _optim_rows(entries: Sequence[Mapping[str, Any]], phase: str) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for e in entries:
        if e.get("phase") != phase:
            continue
        row = rows.setdefault(
            e["stage"],
            {
                "stage": e["stage"], "phase": phase, "count": 0, "resumed": 0,
                "iters": e["iters"], "image_size": e["image_size"],
                "mesh_level": e["mesh_level"], "batch": e["batch"], "seconds": 0.0,
                "_timed_iters": 0,
            },
        )  # fmt: skip
        row["count"] += 1
        row["resumed"] += int(bool(e.get("resumed")))
        if e.get("seconds") is not None:
            row["seconds"] += float(e["seconds"])
            row["_timed_iters"] += int(e["iters"])
    out = []
    for row in rows.values():
        n = row.pop("_timed_iters")
        row["s_per_iter"] = row["seconds"] / n if n else None
        if not n:
            row["seconds"] = None
        out.append(row)
    return out


def time_table(
    seconds: Mapping[str, float],
    counts: Mapping[str, int],
    optim: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Rows of the table: ``seconds`` and ``counts`` per pipeline stage (in run order),
    ``optim`` the ``timing`` entries of the joint and instance summaries, each with its
    ``stage`` name (``ClassRun.optim``)."""
    rows: list[dict[str, Any]] = []
    for name, secs in seconds.items():
        rows.append({"stage": name, "phase": "pipeline", "count": counts.get(name, 1),
                     "seconds": secs})  # fmt: skip
        rows += _optim_rows(optim, name)
    return rows


def _cell(row: Mapping[str, Any], key: str) -> str:
    v = row.get(key)
    if v is None:
        return "-"
    if key == "seconds":
        return f"{v:.3f}"
    if key == "s_per_iter":
        return f"{v:.4f}"
    if key == "stage" and row.get("phase") != "pipeline":
        return f"  {v}"
    return str(v)


def format_time_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as fixed-width text, a header line first."""
    lines = [" ".join(f"{k:{a}{w}}" for k, a, w in COLUMNS)]
    for row in rows:
        lines.append(" ".join(f"{_cell(row, k):{a}{w}}" for k, a, w in COLUMNS))
    return "\n".join(lines)
