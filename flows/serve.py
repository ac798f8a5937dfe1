"""Serve the scheduled benchmark: ``python -m flows.serve`` (cron from pipeline.schedule_cron).

The process stays up, runs the ``benchmark`` flow on the schedule and publishes the tables
(the ``tables`` flow's artifacts). One run at a time: a run still going when the next one is
due delays it instead of competing for the same CPUs/GPUs. ``--interval SECONDS`` replaces the
cron by a fixed interval (quick checks). Alternative with a work pool and worker: see
prefect.yaml.
"""

from __future__ import annotations

import argparse

from flows.benchmark import benchmark
from flows.common import load


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m flows.serve", description=__doc__)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--cron", default=None, help="default: pipeline.schedule_cron")
    ap.add_argument("--interval", type=float, default=None, help="seconds; replaces the cron")
    a = ap.parse_args(argv)
    schedule = (
        {"interval": a.interval}
        if a.interval
        else {"cron": a.cron or load(a.params).pipeline.schedule_cron}
    )
    benchmark.serve(
        name="scheduled-benchmark",
        parameters={"params_file": a.params},
        tags=["artic3d", "benchmark"],
        limit=1,
        **schedule,
    )


if __name__ == "__main__":
    main()
