"""Typed ``model``-section of params.yaml: the articulated model: part networks, textures, camera (spec §4)."""

from artic3d_core.strict import StrictModel


class ModelConfig(StrictModel):
    """The ``model`` section of params.yaml."""
