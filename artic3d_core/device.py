"""Device and precision selection. Nothing in the library hard-codes a device."""

from __future__ import annotations

import re

import torch

_DEVICE_RE = re.compile(r"^(auto|cpu|cuda|cuda:\d+|mps)$")


def resolve_device(spec: str = "auto") -> torch.device:
    """``auto`` → ``cuda`` if available, else ``cpu``; ``cpu``; ``cuda:N``.

    Raises ValueError with the reason when the request cannot be met.
    """
    spec = spec.strip().lower()
    if not _DEVICE_RE.match(spec):
        raise ValueError(f"device {spec!r}: expected auto, cpu or cuda:N")
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(spec)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {spec!r} requested but CUDA is not available here")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {spec!r} requested but only {torch.cuda.device_count()} GPU(s) exist"
            )
    return dev


def autocast_dtype(device: torch.device, prefer: str = "fp16") -> torch.dtype:
    """Half precision only on GPU: fp16/bf16 on CUDA, always fp32 on CPU."""
    if device.type != "cuda":
        return torch.float32
    return {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[prefer]
