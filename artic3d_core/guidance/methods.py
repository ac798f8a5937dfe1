"""Methods as named configurations (paper Tables 1-3): which inputs, which guidance, where.

* ``hi-lassie``: no input enhancement, no diffusion guidance;
* ``hi-lassie+``: Hi-LASSIE + encoder-back-propagated SDS in the shape and texture optimisation;
* ``artic3d``: DASS input enhancement + DASS in the shape and texture optimisation.

The optimisation stages that add the guidance loss are ``guidance.guided_stages`` in params.yaml
(default ``[instance_refine]``, the per-instance shape + texture stage, spec §7.2 c).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from artic3d_core.guidance.config import GuidanceConfig

MethodName = Literal["hi-lassie", "hi-lassie+", "artic3d"]


@dataclass(frozen=True)
class MethodSpec:
    """What a method does: ``guidance`` ∈ {none, sds, dass}; ``stages`` get the guidance loss."""

    name: str
    enhance_inputs: bool
    guidance: Literal["none", "sds", "dass"]
    stages: tuple[str, ...]
    description: str

    def guided(self, stage: str) -> bool:
        """Does ``stage`` add the guidance loss under this method?"""
        return self.guidance != "none" and stage in self.stages


_DEFINITIONS: dict[str, tuple[bool, Literal["none", "sds", "dass"], str]] = {
    "hi-lassie": (False, "none", "Hi-LASSIE: no input enhancement, no diffusion guidance"),
    "hi-lassie+": (False, "sds", "Hi-LASSIE+: SDS (encoder back-prop) in shape + texture stages"),
    "artic3d": (True, "dass", "ARTIC3D: DASS input enhancement + DASS in shape + texture stages"),
}
METHODS: frozenset[str] = frozenset(_DEFINITIONS)


def get_method(name: str, cfg: GuidanceConfig | None = None) -> MethodSpec:
    """The :class:`MethodSpec` called ``name``; guided stages from ``cfg.guided_stages``.

    Raises ValueError listing the valid names for an unknown method.
    """
    if name not in _DEFINITIONS:
        valid = ", ".join(sorted(_DEFINITIONS))
        raise ValueError(f"unknown method {name!r}; valid methods: {valid}")
    enhance, guidance, desc = _DEFINITIONS[name]
    stages = tuple((cfg or GuidanceConfig()).guided_stages) if guidance != "none" else ()
    return MethodSpec(name, enhance, guidance, stages, desc)
