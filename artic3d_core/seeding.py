"""One seed for torch, numpy and random, for every stage."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch (all devices); return a CPU generator seeded the same."""
    random.seed(seed)
    np.random.seed(seed % (2**32))  # noqa: NPY002 - seeds the legacy global RNG users rely on
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def derive_seed(seed: int, *keys: object) -> int:
    """A stable per-stage/per-item seed from the global seed and any keys (e.g. class, image)."""
    import hashlib

    blob = ":".join([str(seed), *map(str, keys)]).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:4], "little")
