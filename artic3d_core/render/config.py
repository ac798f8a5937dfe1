"""Typed ``render``-section of params.yaml: the renderer: image sizes, blur, faces per pixel (docs/method.md §5)."""

from typing import Literal

from pydantic import Field

from artic3d_core.strict import StrictModel


class RenderConfig(StrictModel):
    """The ``render`` section of params.yaml (defaults from docs/method.md §5; stages override size/K/σ)."""

    image_size: int = Field(512, ge=8, description="render size for saved renders / evaluation")
    sigma: float = Field(1e-4, gt=0, description="soft blending σ at stage start")
    gamma: float = Field(1e-4, gt=0, description="soft blending γ (SoftRas depth temperature)")
    faces_per_pixel: int = Field(50, ge=1, description="K for soft silhouettes / layered RGB")
    bin_size: int | None = Field(
        0, description="0 = naive rasteriser (spec); null = PyTorch3D heuristic"
    )
    rasteriser: Literal["auto", "torch", "pytorch3d"] = Field(
        "auto",
        description="optimisation renders: torch (splatting, cost ∝ covered pixels), pytorch3d "
        "(its kernels; naive with bin_size 0, cost ∝ pixels × faces), auto (torch on CPU, "
        "pytorch3d elsewhere)",
    )
    dist: float = Field(5.0, gt=0, description="camera distance (orthographic: only sets depth)")
    background: list[float] = Field(default_factory=lambda: [1.0, 1.0, 1.0])
    ambient: float = Field(1.0, ge=0, description="ambient light for hard / layered renders")
    diffuse: float = Field(0.0, ge=0, description="directional light strength")
    light_dir: list[float] = Field(default_factory=lambda: [0.0, 1.0, 2.0])
