"""The guidance API in one import: the contract (:mod:`.interface`) and build-by-name
(:mod:`.registry`). Guidance implementations import :mod:`.interface` directly, never this
module, so importing any of them never needs the registry."""

from artic3d_core.guidance.interface import (
    Guidance,
    GuidanceOutput,
    check_images,
    format_prompt,
    resize_for_prior,
)
from artic3d_core.guidance.registry import (
    GUIDANCE_NAMES,
    GuidanceName,
    NoGuidance,
    build_guidance,
    register,
)

__all__ = [
    "GUIDANCE_NAMES",
    "Guidance",
    "GuidanceName",
    "GuidanceOutput",
    "NoGuidance",
    "build_guidance",
    "check_images",
    "format_prompt",
    "register",
    "resize_for_prior",
]
