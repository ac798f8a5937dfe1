"""Typed ``skeleton``-section of params.yaml: skeleton discovery (spec §3)."""

from artic3d_core.strict import StrictModel


class SkeletonConfig(StrictModel):
    """The ``skeleton`` section of params.yaml."""
