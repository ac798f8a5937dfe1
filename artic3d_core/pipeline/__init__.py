"""The class pipeline, one implementation for every caller (``docs/method.md §2-§10``).

* :mod:`~artic3d_core.pipeline.layout`: where each stage writes, and the per-stage seeds;
* :mod:`~artic3d_core.pipeline.methods`: the method registry (inputs, guidance, guided stages);
* :mod:`~artic3d_core.pipeline.stage_files`: the one writer and reader of every stage file;
* :mod:`~artic3d_core.pipeline.stages`: the stage functions;
* :mod:`~artic3d_core.pipeline.reconstruct`: all stages of one class in order (``artic3d run``).
* :mod:`~artic3d_core.pipeline.timing`: the per-stage time table of one class's run.

The Prefect tasks (``tasks/``) wrap the same stage functions in cached, atomic units; the only
difference between ``artic3d run`` and the flow is who schedules the stages.
"""
