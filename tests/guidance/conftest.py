"""Shared fixtures for the guidance tests: one tiny random SD prior per test run (CPU, fp32)."""

from __future__ import annotations

import pytest
import torch

from artic3d_core.guidance.stable_diffusion import StableDiffusion, load_prior
from artic3d_core.weights import WeightsConfig


@pytest.fixture(scope="session")
def tiny_sd() -> StableDiffusion:
    torch.set_num_threads(1)
    return load_prior(WeightsConfig(profile="tiny", random_seed=0), "cpu", "fp16")


@pytest.fixture
def images() -> torch.Tensor:
    """(2, 3, 64, 64) random images in [0, 1]."""
    return torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(123))
