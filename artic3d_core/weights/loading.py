"""What the three loaders share: the import lock, safe state-dict loading, freezing, and the
:class:`WeightsInfo` of a random-weight model."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artic3d_core.weights.config import WeightsInfo

if TYPE_CHECKING:  # pragma: no cover
    import torch

# diffusers/transformers resolve names through lazy modules whose first access is not
# thread-safe (Prefect runs mapped tasks in threads): serialise the heavy imports.
IMPORT_LOCK = threading.Lock()


def random_info(model: str, profile: str, seed: int, arch: dict[str, Any]) -> WeightsInfo:
    blob = json.dumps({"arch": arch, "seed": seed}, sort_keys=True, default=str).encode()
    fp = "random:" + hashlib.sha256(blob).hexdigest()[:16]
    return WeightsInfo(model, profile, f"random (seed {seed})", fp, True)


def load_state_dict_file(path: Path) -> dict[str, torch.Tensor]:
    """Load a state dict safely: safetensors, or torch.load(weights_only=True)."""
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(
            f"{path}: cannot be read as a plain tensor checkpoint (weights_only=True): {exc}. "
            "Only safetensors or tensor-only pickles are loaded; convert the file first."
        ) from exc
    for key in ("state_dict", "model", "teacher"):
        if isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
            sd = sd[key]
    if not isinstance(sd, dict):
        raise ValueError(f"{path}: expected a dict of tensors, got {type(sd).__name__}")
    return sd


def freeze(*modules: Any) -> None:
    for m in modules:
        m.eval()
        m.requires_grad_(False)
