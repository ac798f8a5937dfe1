"""Prefect tasks: one thin wrapper per pipeline stage over ``artic3d_core``.

Each task calls one stage function of :mod:`artic3d_core.pipeline.stages` (the same functions
``artic3d run`` calls) and writes its files into the run layout
(:mod:`artic3d_core.pipeline.layout`), each unit atomically with a ``manifest.json`` written last
(:mod:`tasks.artifacts`). A unit whose manifest carries the current cache key (inputs + params
sections + code version) is skipped, so a rerun after a kill or a parameter change redoes only
what changed.
"""
