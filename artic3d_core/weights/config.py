"""The ``weights`` section of params.yaml, and :class:`WeightsInfo`, the record of which weights
made an output."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from artic3d_core.strict import StrictModel

Profile = Literal["real", "tiny", "full-random", "synthetic"]
ModelName = Literal["sd", "dino", "clip"]
MODEL_NAMES: tuple[ModelName, ...] = ("sd", "dino", "clip")


class ModelSource(StrictModel):
    """Where one model's real weights are looked for (``path`` first, then the HF cache)."""

    path: str | None = None
    hub_id: str
    revision: str | None = None


DEFAULT_HUB_IDS = {
    "sd": "stabilityai/stable-diffusion-2-1-base",
    "dino": "timm/vit_small_patch8_224.dino",
    "clip": "timm/vit_base_patch32_clip_224.openai",
}


# The committed synthetic prior (``artic3d prior train``), and the project root that relative
# ``synthetic_path`` values are taken from (the folder holding artic3d_core/).
SYNTHETIC_PRIOR_PATH = "priors/synthetic-animals"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
SYNTHETIC_PRIOR_NAME = "synthetic prior"


class WeightsConfig(StrictModel):
    """The ``weights`` section of params.yaml."""

    @model_validator(mode="before")
    @classmethod
    def _default_hub_ids(cls, data: Any) -> Any:
        """A partial model block (e.g. only ``path``) keeps the default hub id."""
        if isinstance(data, dict):
            data = dict(data)
            for name, hub in DEFAULT_HUB_IDS.items():
                block = data.get(name)
                if isinstance(block, dict) and "hub_id" not in block:
                    data[name] = {**block, "hub_id": hub}
        return data

    profile: Profile = "tiny"
    # the synthetic prior's diffusers folder (profile synthetic); relative = to the project root
    synthetic_path: str = SYNTHETIC_PRIOR_PATH
    hf_cache: str | None = None  # default: huggingface_hub's HF_HUB_CACHE
    random_seed: int = 0  # seeds the random profiles
    sd: ModelSource = Field(default_factory=lambda: ModelSource(hub_id=DEFAULT_HUB_IDS["sd"]))
    dino: ModelSource = Field(default_factory=lambda: ModelSource(hub_id=DEFAULT_HUB_IDS["dino"]))
    clip: ModelSource = Field(default_factory=lambda: ModelSource(hub_id=DEFAULT_HUB_IDS["clip"]))

    def synthetic_folder(self) -> Path:
        """The synthetic prior's folder (``synthetic_path``, relative to the project root)."""
        p = Path(self.synthetic_path).expanduser()
        return p if p.is_absolute() else PROJECT_ROOT / p

    def random_profile(self) -> str:
        """The random-weight profile the models without a synthetic version (DINO, CLIP) build
        under this profile: ``tiny`` for ``synthetic``, else the profile itself."""
        return "tiny" if self.profile == "synthetic" else self.profile


@dataclass(frozen=True)
class WeightsInfo:
    """Which weights made an output. ``random`` is True for the tiny/full-random profiles; the
    synthetic profile's diffusion model is named ``synthetic prior``."""

    model: str
    profile: str
    source: str
    fingerprint: str
    random: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def label(self) -> str:
        if self.profile == "synthetic":
            return f"{SYNTHETIC_PRIOR_NAME}:{self.fingerprint} (trained on the synthetic animals)"
        tag = " (RANDOM WEIGHTS)" if self.random else ""
        return f"{self.model}:{self.profile}:{self.fingerprint}{tag}"
