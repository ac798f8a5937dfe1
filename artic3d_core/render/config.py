"""Typed ``render``-section of params.yaml: the renderer: image sizes, blur, faces per pixel (spec §5)."""

from artic3d_core.strict import StrictModel


class RenderConfig(StrictModel):
    """The ``render`` section of params.yaml."""
