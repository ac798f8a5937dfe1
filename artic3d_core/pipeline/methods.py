"""Methods as a registry (paper Tables 1-3): one entry per method name says which inputs it
optimises on, which guidance it adds and in which optimisation stages.

* ``hi-lassie``: no input enhancement, no diffusion guidance;
* ``hi-lassie+``: Hi-LASSIE + encoder-back-propagated SDS in the shape and texture optimisation;
* ``artic3d``: DASS input enhancement + DASS in the shape and texture optimisation;
* ``artic3d-enhance`` and ``artic3d-dass``: ARTIC3D's ablations ([A] §4, ablation study): the input
  enhancement alone, and DASS in the optimisation alone (on the original inputs).

Adding a method is one :func:`register_method` call in this file. The stages that add the
guidance loss are ``guidance.guided_stages`` in params.yaml (default ``[instance_refine]``, the
per-instance shape + texture stage, ``docs/method.md §7``); a stage carries the guidance term
under the generic weight key ``guidance`` whichever guidance the method uses. Each guidance reads
its prompt from its own block (``guidance.dass.prompt``, ``guidance.sds.prompt``; the input
enhancement from ``guidance.enhance.prompt``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from artic3d_core.errors import BadInputError
from artic3d_core.guidance.config import GuidanceConfig

if TYPE_CHECKING:  # pragma: no cover
    from artic3d_core.config import Params
    from artic3d_core.optim.config import StageSpec

__all__ = [
    "GUIDANCE_WEIGHT",
    "METHODS",
    "MethodSpec",
    "get_method",
    "guidance_prompt",
    "method_stages",
    "register_method",
    "seed_stream",
]

GuidanceKind = Literal["none", "sds", "dass"]
GUIDANCE_WEIGHT = "guidance"  # the stage-weight key of the guidance loss (any guidance)


@dataclass(frozen=True)
class MethodEntry:
    """One registry row: what a method does before and during the optimisation."""

    enhance_inputs: bool
    guidance: GuidanceKind
    description: str


@dataclass(frozen=True)
class MethodSpec:
    """A method resolved against the config: ``stages`` are the ones that get the guidance."""

    name: str
    enhance_inputs: bool
    guidance: GuidanceKind
    stages: tuple[str, ...]
    description: str

    def guided(self, stage: str) -> bool:
        """Does ``stage`` add the guidance loss under this method?"""
        return self.guidance != "none" and stage in self.stages


_REGISTRY: dict[str, MethodEntry] = {}


def register_method(name: str, entry: MethodEntry) -> None:
    """Add ``name`` to the registry (a name registered twice is a programming error)."""
    if name in _REGISTRY:
        raise ValueError(f"method {name!r} is registered twice")
    _REGISTRY[name] = entry


register_method(
    "hi-lassie",
    MethodEntry(False, "none", "Hi-LASSIE: no input enhancement, no diffusion guidance"),
)
register_method(
    "hi-lassie+",
    MethodEntry(False, "sds", "Hi-LASSIE+: SDS (encoder back-prop) in shape + texture stages"),
)
register_method(
    "artic3d",
    MethodEntry(True, "dass", "ARTIC3D: DASS input enhancement + DASS in shape + texture stages"),
)
register_method(
    "artic3d-enhance",
    MethodEntry(True, "none", "ARTIC3D ablation: DASS input enhancement only, no guidance loss"),
)
register_method(
    "artic3d-dass",
    MethodEntry(False, "dass", "ARTIC3D ablation: DASS in shape + texture stages only"),
)
METHODS: frozenset[str] = frozenset(_REGISTRY)


def get_method(name: str, cfg: GuidanceConfig | None = None) -> MethodSpec:
    """The :class:`MethodSpec` called ``name``; guided stages from ``cfg.guided_stages``.

    Raises :class:`~artic3d_core.errors.BadInputError` (a ValueError) listing the valid names.
    """
    entry = _REGISTRY.get(name)
    if entry is None:
        valid = ", ".join(sorted(_REGISTRY))
        raise BadInputError(f"unknown method {name!r}; valid methods: {valid}")
    guided = entry.guidance != "none"
    stages = tuple((cfg or GuidanceConfig()).guided_stages) if guided else ()
    return MethodSpec(name, entry.enhance_inputs, entry.guidance, stages, entry.description)


def seed_stream(name: str) -> str:
    """The key of method ``name``'s random streams: the kind of input it optimises on (``raw``:
    hi-lassie, hi-lassie+, artic3d-dass; ``enhanced``: artic3d, artic3d-enhance).

    Methods that share it draw the same random numbers wherever they do the same thing (common
    random numbers): same enhanced inputs, same joint result, same instance fits up to the first
    guided stage. A difference between two of them is then the effect of what differs (the
    guidance), not of a seed. Raises :class:`BadInputError` for an unknown name."""
    return "enhanced" if get_method(name).enhance_inputs else "raw"


def method_stages(params: Params, spec: MethodSpec) -> list[StageSpec]:
    """The schedule's stages with the ``guidance`` weight kept only where ``spec`` guides, and
    ``render.rasteriser`` where a stage names no rasteriser of its own."""
    out = []
    for s in params.optim.stages():
        if s.rasteriser is None:
            s = s.model_copy(update={"rasteriser": params.render.rasteriser})
        if GUIDANCE_WEIGHT in s.weights and not spec.guided(s.name):
            kept = {k: v for k, v in s.weights.items() if k != GUIDANCE_WEIGHT}
            s = s.model_copy(update={"weights": kept})
        out.append(s)
    return out


def guidance_prompt(cfg: GuidanceConfig, spec: MethodSpec, cls: str) -> str:
    """The text prompt of ``spec``'s guidance for class ``cls``, from that guidance's own block
    (``guidance.dass.prompt`` or ``guidance.sds.prompt``); ``""`` for a method without guidance."""
    from artic3d_core.guidance.base import format_prompt

    if spec.guidance == "none":
        return ""
    return format_prompt(getattr(cfg, spec.guidance).prompt, cls)
