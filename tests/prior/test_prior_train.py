"""Training the synthetic prior: a micro model learns (losses fall), trains bit for bit again
from the same params, and its folder loads through the real-weights loader."""

from __future__ import annotations

import json

import pytest
import torch

from artic3d_core.guidance.dass import dass_target
from artic3d_core.guidance.stable_diffusion import load_prior
from artic3d_core.prior.config import PriorConfig
from artic3d_core.prior.data import render_split
from artic3d_core.prior.train import latent_scaling, train_prior
from artic3d_core.weights import WeightsConfig, load_stable_diffusion

MICRO = {
    "seed": 3,
    "threads": 1,
    "log_every": 10,
    "data": {
        "classes": ["zebra", "penguin"],
        "n_per_class": 6,
        "n_heldout": 2,
        "render_size": 64,
        "image_size": 32,
    },
    "vae": {"block_out_channels": [8, 8, 16, 16], "steps": 30, "batch_size": 4, "lr": 2e-3},
    "unet": {
        "block_out_channels": [16, 32],
        "attention_head_dim": 8,
        "norm_num_groups": 8,
        "steps": 40,
        "batch_size": 8,
        "lr": 2e-3,
    },
    "text": {
        "hidden_size": 16,
        "intermediate_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
    },
}


@pytest.fixture(scope="module")
def micro(tmp_path_factory):
    cfg = PriorConfig.model_validate(MICRO)
    out = tmp_path_factory.mktemp("prior") / "micro"
    return cfg, out, train_prior(cfg, out)


def test_micro_training_losses_fall_and_the_card_says_how(micro):
    cfg, out, card = micro
    for phase in ("vae", "unet"):
        curve = card[phase]["loss_curve"]
        assert len(curve) == card[phase]["steps"] // cfg.log_every
        assert curve[-1] < 0.8 * curve[0], (phase, curve)
    on_disk = json.loads((out / "card.json").read_text())
    assert on_disk["name"] == "synthetic prior"
    assert on_disk["params"]["seed"] == 3 and on_disk["n_train_images"] == 12
    assert "derive_seed(3, 'prior-train'" in on_disk["data_seeds"]
    for rel in (
        "model_index.json",
        "scheduler/scheduler_config.json",
        "tokenizer/vocab.json",
        "unet/diffusion_pytorch_model.fp16.safetensors",
        "README.md",
    ):
        assert (out / rel).is_file(), rel
    assert set(on_disk["files"]) == {
        "text_encoder/model.fp16.safetensors",
        "unet/diffusion_pytorch_model.fp16.safetensors",
        "vae/diffusion_pytorch_model.fp16.safetensors",
    }


def test_micro_training_repeats_bit_for_bit(micro, tmp_path):
    cfg, _, card = micro
    again = train_prior(cfg, tmp_path / "again")
    assert again["files"] == card["files"]  # sha256 of every weights file
    assert again["unet"]["loss_curve"] == card["unet"]["loss_curve"]


def test_folder_loads_through_the_real_loader_and_synthetic_profile_is_the_same(micro, tmp_path):
    _, out, card = micro
    real = WeightsConfig(profile="real", hf_cache=str(tmp_path / "no-hf"))
    real.sd.path = str(out)
    synth = WeightsConfig(profile="synthetic", synthetic_path=str(out))
    a, b = load_prior(real, "cpu"), load_prior(synth, "cpu")
    assert a.info.model == "sd" and a.info.profile == "real"
    assert b.info.model == "synthetic prior" and b.info.profile == "synthetic"
    assert not b.info.random and "synthetic prior" in b.info.label()
    assert a.info.fingerprint == b.info.fingerprint
    assert a.c.latent_scale == b.c.latent_scale == card["latent_scaling_factor"] != 0.18215
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    outs = [
        dass_target(sd, x, "A photo of zebra", 250, 2, 7.5, torch.Generator().manual_seed(1))
        for sd in (a, b)
    ]
    assert torch.equal(outs[0], outs[1]) and outs[0].shape == x.shape
    # the trained text side distinguishes the classes (the prompts' embeddings differ)
    assert not torch.equal(
        b.text_embeddings("A photo of zebra"), b.text_embeddings("A photo of penguin")
    )


def test_synthetic_profile_without_the_folder_fails_fast_with_the_retrain_command(tmp_path):
    from artic3d_core.weights import MissingWeightsError

    cfg = WeightsConfig(profile="synthetic", synthetic_path=str(tmp_path / "absent"))
    with pytest.raises(MissingWeightsError, match="artic3d prior train"):
        load_stable_diffusion(cfg)


def test_training_renders_are_disjoint_from_the_benchmark_and_heldout():
    cfg = PriorConfig.model_validate(MICRO).data
    train = render_split(cfg, 3, "prior-train")
    held = render_split(cfg, 3, "prior-heldout")
    assert train.images.shape == (12, 3, 32, 32) and train.images.dtype == torch.uint8
    assert held.images.shape == (4, 3, 32, 32)
    assert train.labels.tolist() == [0] * 6 + [1] * 6
    flat = {bytes(im.numpy()) for im in train.images}
    assert not flat & {bytes(im.numpy()) for im in held.images}
    with pytest.raises(ValueError, match="unknown class"):
        render_split(cfg.model_copy(update={"classes": ["unicorn"]}), 0, "prior-train")


def test_latent_scaling_gives_unit_variance():
    g = torch.Generator().manual_seed(0)
    means = 3.0 * torch.randn(4000, 4, 2, 2, generator=g)
    stds = torch.full_like(means, 4.0)  # total variance 9 + 16 = 25
    assert latent_scaling(means, stds) == pytest.approx(0.2, rel=0.02)


def test_a_folder_trained_from_the_same_params_is_kept_even_when_moved(micro, tmp_path):
    import shutil

    from artic3d_core.prior.card import up_to_date

    cfg, out, card = micro
    moved = tmp_path / "moved"
    shutil.copytree(out, moved)
    assert up_to_date(moved, cfg.model_copy(update={"out_dir": str(moved)})) == card
    other = PriorConfig.model_validate({**MICRO, "unet": {**MICRO["unet"], "steps": 41}})
    assert up_to_date(moved, other) is None  # a prior parameter changed: retrain
    weights = moved / "vae" / "diffusion_pytorch_model.fp16.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\0")
    assert up_to_date(moved, cfg) is None  # the weights no longer match the card


def test_prior_train_cli_keeps_an_up_to_date_folder(micro, tmp_path):
    import yaml
    from typer.testing import CliRunner

    from artic3d_cli.main import app

    _, out, card = micro
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"prior": MICRO}))
    res = CliRunner().invoke(app, ["prior", "train", "--params", str(params), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert f"trained in {card['total_seconds']} s" in res.output
    params.write_text(yaml.safe_dump({"prior": {**MICRO, "bogus": 1}}))
    res = CliRunner().invoke(app, ["prior", "train", "--params", str(params)])
    assert res.exit_code == 2 and "prior.bogus" in res.output
