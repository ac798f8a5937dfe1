"""Loss functions of docs/method.md §6 (every loss but DASS, which lives in ``guidance``).

The functions load on first access (PEP 562) so that importing the ``losses`` section's config,
which :mod:`artic3d_core.config` does, does not import torch: the command line checks its
arguments before any heavy import.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "inflation_loss": "mesh",
    "laplacian_loss": "mesh",
    "normal_consistency_loss": "mesh",
    "canonical_prior": "priors",
    "global_prior": "priors",
    "camera_anchor": "priors",
    "instance_prior": "priors",
    "pose_prior": "priors",
    "shape_prior": "priors",
    "part_centre_loss": "reconstruction",
    "semantic_chamfer_loss": "reconstruction",
    "silhouette_loss": "reconstruction",
    "texture_init_loss": "reconstruction",
    "texture_loss": "reconstruction",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
