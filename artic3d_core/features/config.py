"""Typed ``features``-section of params.yaml: DINO features, clustering and masks (spec §2)."""

from artic3d_core.strict import StrictModel


class FeaturesConfig(StrictModel):
    """The ``features`` section of params.yaml."""
