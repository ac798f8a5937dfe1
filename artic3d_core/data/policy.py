"""The bad-input policy shared by the loaders: ``stop`` raises, ``skip`` logs and goes on.

Granularity under ``skip``: an image-level problem (missing/unreadable image, malformed ``kps``
cell, duplicate id, no usable keypoints) drops the image; a keypoint-level problem (unknown
label, keypoint outside the image) drops that keypoint. Every skip is logged with its reason and
kept in :attr:`Problems.items` so a caller can report them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

from artic3d_core.data.records import DataError

__all__ = ["Policy", "Problems"]

Policy = Literal["skip", "stop"]
log = logging.getLogger("artic3d.data")


@dataclass
class Problems:
    """Collects the problems met while loading; raises at once under policy ``stop``."""

    policy: Policy = "skip"
    items: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.policy not in ("skip", "stop"):
            raise ValueError(f"policy must be 'skip' or 'stop', got {self.policy!r}")

    def report(self, message: str, what: str = "image") -> None:
        """Raise DataError (stop) or log '<message> — skipping the <what>' (skip)."""
        if self.policy == "stop":
            raise DataError(message)
        self.items.append(message)
        log.warning("%s — skipping the %s", message, what)
