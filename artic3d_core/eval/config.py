"""Typed ``eval``-section of params.yaml: evaluation: PCK keypoint transfer, IoU, CLIP similarity (spec §10)."""

from artic3d_core.strict import StrictModel


class EvalConfig(StrictModel):
    """The ``eval`` section of params.yaml."""
