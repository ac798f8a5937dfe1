"""Typed ``animate``-section of params.yaml: animation and T-DASS (spec §9)."""

from artic3d_core.strict import StrictModel


class AnimateConfig(StrictModel):
    """The ``animate`` section of params.yaml."""
