"""Typed ``model``-section of params.yaml: the articulated model: part networks, textures, camera (docs/method.md §4)."""

from pydantic import Field

from artic3d_core.strict import StrictModel


class ModelConfig(StrictModel):
    """The ``model`` section of params.yaml (defaults = docs/method.md §4, §14)."""

    mlp_layers: int = Field(10, ge=1, description="part MLP layers (heads)")
    mlp_width: int = Field(6, ge=1, description="hidden width (= 2·3 Fourier features)")
    omega_scale: float = Field(0.3, gt=0, description="ω_k = omega_scale·π·k")
    head_gain: float = Field(1e-3, gt=0, description="Xavier gain of the output heads")
    f_instance: int = Field(
        5, ge=0, description="layers < f_instance are shared (frozen per instance)"
    )
    texture_size: int = Field(128, ge=4, description="per-part UV texture side")
    feat_dim: int = Field(20, ge=1, description="PCA feature dimension of feat_verts")
    feat_ema: float = Field(0.9, ge=0, le=1, description="feat_verts ← m·feat_verts + (1−m)·new")
    global_scale_factor: float = Field(0.1, description="effective scale = factor·g + 1")
    part_xz_clamp: list[float] = Field(default_factory=lambda: [0.05, 1.5])
    part_y_clamp: list[float] = Field(default_factory=lambda: [1.0, 2.0])
    symmetric_shape: bool = Field(
        True, description="mirror-average deformed parts (docs/method.md §4.4 step 5)"
    )
    symmetry_search: str = Field(
        "partner",
        description="'partner': mirror vertex searched in the symmetric part; 'all': over all parts (reference)",
    )
