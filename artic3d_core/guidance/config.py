"""Typed ``guidance``-section of params.yaml: diffusion guidance: DASS, SDS, none
(docs/method.md §8).

Every constant of every use of the diffusion prior lives here, one block per use
(docs/method.md §8.3):
``enhance`` (input enhancement, §2.2 step 3), ``dass`` (3D distillation, §6.13), ``sds`` (the
Hi-LASSIE+ baseline, §8.4) and ``tdass`` (T-DASS latent targets, §9). Prompt templates may use
``{cls}`` (the class name as given) and ``{species}`` (the class name before any '-').
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from artic3d_core.strict import StrictModel

GuidedParam = Literal["texture", "parts", "bones", "camera"]
ALL_GUIDED_PARAMS: tuple[GuidedParam, ...] = ("texture", "parts", "bones", "camera")


class LatentStepSettings(StrictModel):
    """One DASS-style accumulated latent update (docs/method.md §8.2): t, n, g and the step constants."""

    prompt: str = "A photo of {species}"
    t: int = Field(250, ge=1, le=999, description="fixed diffusion timestep (of 1000)")
    n: int = Field(3, ge=0, description="sequential re-noised latent steps")
    g: float = Field(12.0, ge=0, description="classifier-free guidance scale")
    step_scale: float = Field(0.5, gt=0, description="z ← z − step_scale·Δ")
    clip: float = Field(1.0, gt=0, description="Δ clipped to [−clip, clip]")


class DassSettings(LatentStepSettings):
    """DASS in the 3D optimisation (docs/method.md §6.13, §8.3 row 2)."""

    weight: float = Field(5e-5, ge=0, description="λ: injected pixel gradient λ(x − x′)")


class EnhanceSettings(LatentStepSettings):
    """Input enhancement (docs/method.md §2.2 step 3, §8.3 row 1)."""

    prompt: str = "A photo of {cls}"
    t: int = Field(100, ge=1, le=999)
    n: int = Field(10, ge=0)
    g: float = Field(12.0, ge=0)
    weight: float = Field(1.0, ge=0, description="λ of the DASS pixel gradient")
    lr: float = Field(1.0, gt=0, description="one SGD step: x ← x − lr·λ(x − x′) (1·1 ⇒ x′)")
    bg_noise: float = Field(0.05, ge=0, description="σ of the Gaussian noise on the background")
    keep_foreground: bool = Field(
        False,
        description="paste the enhanced result on the rough background only, keeping the "
        "animal's pixels (paper/reference: false = the whole image is replaced by x′; true "
        "keeps a random-weight CPU demo's inputs usable)",
    )
    batch_size: int = Field(4, ge=1, description="images per DASS call")


class TDassSettings(LatentStepSettings):
    """T-DASS latent targets ẑ = z − ∇z (docs/method.md §8.3 row 3, §9)."""

    prompt: str = "A photo of {cls} in white background"


class SdsSettings(StrictModel):
    """Encoder-back-propagated SDS, the Hi-LASSIE+ baseline (docs/method.md §8.4).

    The paper gives no constants; t ~ U{t_min..t_max} and g = 15 are the reference code's
    defaults. ``weight`` is an engineering choice: DASS's pixel gradient 5e-5·(x − x′) pulled back
    to the latent is about 5e-5·192·(1/(2·0.18215))²·(n/2)·Δ ≈ 0.1·Δ for n = 3, so λ = 0.1 gives
    the SDS latent gradient λ·Δ about the same scale.
    """

    prompt: str = "A photo of {species}"
    t: int | None = Field(None, ge=1, le=999, description="null = random per call")
    t_min: int = Field(20, ge=1, le=999)
    t_max: int = Field(500, ge=1, le=999)
    n: int = Field(1, ge=1, description="noise samples on the same z, gradients averaged")
    g: float = Field(15.0, ge=0)
    clip: float = Field(1.0, gt=0)
    weight: float = Field(0.1, ge=0, description="λ on the latent gradient")

    @model_validator(mode="after")
    def _check_range(self) -> SdsSettings:
        if self.t_min > self.t_max:
            raise ValueError(f"sds.t_min ({self.t_min}) > sds.t_max ({self.t_max})")
        return self


class ViewSettings(StrictModel):
    """Random views for 3D distillation (docs/method.md §5 'DASS random views'; paper: random lighting)."""

    n_pairs: int = Field(1, ge=1, description="pairs of views a, a+90° per DASS call")
    elev_range_deg: tuple[float, float] = (-15.0, 30.0)
    focal_range: tuple[float, float] = (1.0, 1.2)
    random_lighting: bool = Field(True, description="paper; false = reference (ambient 1)")
    ambient_range: tuple[float, float] = (0.4, 0.8)
    diffuse_range: tuple[float, float] = (0.2, 0.6)
    light_elev_range_deg: tuple[float, float] = (0.0, 60.0)


class GuidanceConfig(StrictModel):
    """The ``guidance`` section of params.yaml."""

    precision: Literal["fp16", "bf16", "fp32"] = Field(
        "fp16", description="SD precision on GPU; always fp32 on CPU"
    )
    image_size: int | None = Field(
        512, ge=8, description="images are resized to this before encoding (docs/method.md §8.1)"
    )
    enhance: EnhanceSettings = Field(default_factory=EnhanceSettings)
    dass: DassSettings = Field(default_factory=DassSettings)
    sds: SdsSettings = Field(default_factory=SdsSettings)
    tdass: TDassSettings = Field(default_factory=TDassSettings)
    views: ViewSettings = Field(default_factory=ViewSettings)
    pose_exploration: Literal["instances", "rest"] = Field(
        "instances", description="paper: between two instances; reference: rest ↔ instance"
    )
    guided_params: list[GuidedParam] = Field(
        default_factory=lambda: list(ALL_GUIDED_PARAMS),
        description="which parameter groups receive the guidance gradient (paper: all four; "
        "reference: [texture, parts])",
    )
    guided_stages: list[str] = Field(
        default_factory=lambda: ["instance_refine"],
        description="optimisation stages that add the guidance loss for guided methods",
    )

    @model_validator(mode="after")
    def _check(self) -> GuidanceConfig:
        if self.image_size is not None and self.image_size % 8:
            raise ValueError(f"guidance.image_size must be a multiple of 8, got {self.image_size}")
        return self
