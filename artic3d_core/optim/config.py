"""Typed ``optim``-section of params.yaml: optimisation stages and schedules (spec §7)."""

from artic3d_core.strict import StrictModel


class OptimConfig(StrictModel):
    """The ``optim`` section of params.yaml."""
