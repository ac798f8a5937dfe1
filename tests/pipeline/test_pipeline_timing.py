"""The per-stage time table: pipeline stages in run order, each followed by the optimisation
stages of its phase summed over instances; resumed stages count with their recorded seconds."""

from __future__ import annotations

from artic3d_core.pipeline.timing import format_time_table, time_table


def _entry(stage, phase, seconds, resumed=False, batch=1):
    return {"stage": stage, "phase": phase, "seconds": seconds, "iters": 10, "image_size": 64,
            "mesh_level": 2, "batch": batch, "resumed": resumed}  # fmt: skip


def test_time_table_sums_instances_and_keeps_resumed_seconds() -> None:
    optim = [
        _entry("pose", "joint", 2.0, batch=4),
        _entry("tex", "instance", 1.0),
        _entry("tex", "instance", 3.0, resumed=True),
        _entry("refine", "instance", None, resumed=True),  # recorded without seconds
    ]
    rows = time_table({"data": 0.5, "joint": 2.5, "instance": 4.5}, {"instance": 2}, optim)
    assert [(r["stage"], r["phase"], r["count"]) for r in rows] == [
        ("data", "pipeline", 1), ("joint", "pipeline", 1), ("pose", "joint", 1),
        ("instance", "pipeline", 2), ("tex", "instance", 2), ("refine", "instance", 1),
    ]  # fmt: skip
    tex = rows[4]
    assert (tex["seconds"], tex["s_per_iter"], tex["resumed"], tex["batch"]) == (4.0, 0.2, 1, 1)
    assert rows[2]["batch"] == 4 and rows[2]["s_per_iter"] == 0.2
    assert rows[5]["seconds"] is None and rows[5]["s_per_iter"] is None
    text = format_time_table(rows).splitlines()
    assert text[0].split()[0] == "stage" and len(text) == 7
    assert text[5].split() == ["tex", "instance", "2", "1", "10", "64", "2", "1", "4.000", "0.2000"]
