"""The ``weights`` section of params.yaml, and :class:`WeightsInfo`, the record of which weights
made an output."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from pydantic import Field, model_validator

from artic3d_core.strict import StrictModel

Profile = Literal["real", "tiny", "full-random"]
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
    hf_cache: str | None = None  # default: huggingface_hub's HF_HUB_CACHE
    random_seed: int = 0  # seeds the random profiles
    sd: ModelSource = Field(default_factory=lambda: ModelSource(hub_id=DEFAULT_HUB_IDS["sd"]))
    dino: ModelSource = Field(default_factory=lambda: ModelSource(hub_id=DEFAULT_HUB_IDS["dino"]))
    clip: ModelSource = Field(default_factory=lambda: ModelSource(hub_id=DEFAULT_HUB_IDS["clip"]))


@dataclass(frozen=True)
class WeightsInfo:
    """Which weights made an output. ``random`` is True for the tiny/full-random profiles."""

    model: str
    profile: str
    source: str
    fingerprint: str
    random: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def label(self) -> str:
        tag = " (RANDOM WEIGHTS)" if self.random else ""
        return f"{self.model}:{self.profile}:{self.fingerprint}{tag}"
