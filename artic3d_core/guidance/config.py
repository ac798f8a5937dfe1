"""Typed ``guidance``-section of params.yaml: diffusion guidance: DASS, SDS, none (spec §8)."""

from artic3d_core.strict import StrictModel


class GuidanceConfig(StrictModel):
    """The ``guidance`` section of params.yaml."""
