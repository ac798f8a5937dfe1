"""Tiny settings for the pipeline tests: params.yaml with a 2-iteration copy of its demo
schedule, 32² renders and small CLIP / animation settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from artic3d_core.config import Params, load_params

ROOT = Path(__file__).resolve().parents[2]

TINY_SETTINGS = [
    "weights.profile=tiny",
    "device=cpu",
    "guidance.image_size=64",
    "eval.clip_n_azimuths=4",
    "eval.render_size=64",
    "optim.progress=false",
    "optim.prior_level=1",
    "optim.demo_prior_level=1",
    "animate.n_frames=3",
    "animate.image_size=32",
    "animate.mesh_level=1",
    "animate.tdass_iters=2",
]


def tiny_schedule_overrides() -> list[str]:
    """``--set`` items that add and select ``optim.schedules.tiny``: params.yaml's demo stages
    with 2 iterations at 32², mesh level 1, 4 faces per pixel."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    tiny = [
        {**s, "iters": 2, "image_size": 32, "mesh_level": 1, "faces_per_pixel": 4}
        for s in raw["optim"]["schedules"]["demo"]
    ]
    return [f"optim.schedules.tiny={json.dumps(tiny)}", "optim.schedule=tiny"]


def tiny_params(extra: list[str] | None = None) -> Params:
    return load_params(
        ROOT / "params.yaml", [*TINY_SETTINGS, *tiny_schedule_overrides(), *(extra or [])]
    )


@pytest.fixture(scope="session")
def make_params():
    """``make_params(extra_overrides)`` → :func:`tiny_params`."""
    return tiny_params


@pytest.fixture(scope="session")
def tiny_overrides():
    """The ``--set`` list of :func:`tiny_params` (for the command line)."""
    return [*TINY_SETTINGS, *tiny_schedule_overrides()]
