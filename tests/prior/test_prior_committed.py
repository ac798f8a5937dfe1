"""The committed synthetic prior: it matches params.yaml's ``prior`` section and its card's file
hashes (else retrain it: ``artic3d prior train``), and loads offline as the synthetic prior."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from artic3d_core.config import load_params
from artic3d_core.guidance.stable_diffusion import load_prior
from artic3d_core.prior.card import up_to_date
from artic3d_core.weights import WeightsConfig

ROOT = Path(__file__).resolve().parents[2]


def test_committed_prior_matches_the_params_and_loads_as_the_synthetic_prior():
    params = load_params(ROOT / "params.yaml")
    folder = ROOT / params.prior.out_dir
    card = up_to_date(folder, params.prior)
    assert card is not None, f"{folder} was not trained from params.yaml's prior section"
    assert card["name"] == "synthetic prior" and len(card["classes"]) == 6
    assert card["unet"]["final_loss"] < 0.5 * card["unet"]["first_loss"]
    cfg = WeightsConfig(profile="synthetic")
    assert cfg.synthetic_folder() == folder
    load_prior(cfg, "cpu")  # the model libraries' imports are not what is timed
    t0 = time.perf_counter()
    sd = load_prior(cfg, "cpu")
    assert time.perf_counter() - t0 < 10.0
    assert sd.info.label().startswith("synthetic prior:") and not sd.info.random
    assert sd.c.latent_scale == card["latent_scaling_factor"]
    z = sd.encode(torch.full((1, 3, 64, 64), 0.5), generator=torch.Generator().manual_seed(0))
    assert z.shape == (1, 4, 8, 8)
