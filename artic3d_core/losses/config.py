"""Typed ``losses``-section of params.yaml: loss weights and constants (spec §6)."""

from artic3d_core.strict import StrictModel


class LossesConfig(StrictModel):
    """The ``losses`` section of params.yaml."""
