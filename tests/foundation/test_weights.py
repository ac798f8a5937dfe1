import pickle
import time

import pytest
import torch
from typer.testing import CliRunner

from artic3d_core.guidance.stable_diffusion import StableDiffusion
from artic3d_core.weights import (
    MissingWeightsError,
    WeightsConfig,
    check_weights,
    load_clip,
    load_dino,
    load_stable_diffusion,
    load_state_dict_file,
    write_clip_tokenizer,
)


def _empty_cache(tmp_path):
    return WeightsConfig(profile="real", hf_cache=str(tmp_path / "hf-empty"))


def test_tiny_sd_stack_offline_one_guided_denoising_step():
    comps = load_stable_diffusion(WeightsConfig(profile="tiny"))
    assert comps.info.random and comps.info.profile == "tiny"
    sd = StableDiffusion(comps)
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    z = sd.encode(x, generator=torch.Generator().manual_seed(1))
    assert z.shape == (2, 4, 8, 8)  # SD's 8x down-sampling is kept by the tiny VAE
    noise = torch.randn(z.shape, generator=torch.Generator().manual_seed(2))
    t = 250
    z_t = sd.add_noise(z, noise, t)
    eps = sd.predict_noise(z_t, t, "A photo of zebra", guidance=12.0)
    assert eps.shape == z.shape and torch.isfinite(eps).all()
    # one DDIM-style x0 step from the guided noise estimate, then decode
    a = sd.alphas_cumprod[t]
    z0 = (z_t - (1 - a).sqrt() * eps) / a.sqrt()
    img = sd.decode(z0)
    assert img.shape == x.shape and torch.isfinite(img).all()
    # guidance changes the estimate; g = 1 equals the conditional prediction alone
    e1 = sd.predict_noise(z_t, t, "A photo of zebra", guidance=1.0)
    assert not torch.allclose(e1, eps)
    emb = sd.text_embeddings("A photo of zebra")
    assert emb.shape == (2, 77, 32)
    assert sd.text_embeddings("A photo of zebra") is emb  # cached per prompt


def test_tiny_profiles_are_seeded():
    a = load_stable_diffusion(WeightsConfig(profile="tiny", random_seed=1))
    b = load_stable_diffusion(WeightsConfig(profile="tiny", random_seed=1))
    wa = next(a.unet.parameters())
    assert torch.equal(wa, next(b.unet.parameters()))
    assert a.info.fingerprint == b.info.fingerprint
    c = load_stable_diffusion(WeightsConfig(profile="tiny", random_seed=2))
    assert c.info.fingerprint != a.info.fingerprint


def test_missing_real_weights_fail_fast_with_instructions(tmp_path):
    cfg = _empty_cache(tmp_path)
    cfg.sd.path = str(tmp_path / "nowhere" / "sd21")
    for loader, name in ((load_stable_diffusion, "sd"), (load_dino, "dino"), (load_clip, "clip")):
        t0 = time.perf_counter()
        with pytest.raises(MissingWeightsError) as exc:
            loader(cfg)
        assert time.perf_counter() - t0 < 5.0
        msg = str(exc.value)
        assert "tried:" in msg and "hf download" in msg and f"weights.{name}.path" in msg
    with pytest.raises(MissingWeightsError) as exc:
        load_stable_diffusion(cfg)
    assert str(tmp_path / "nowhere" / "sd21") in str(exc.value)


def test_weights_check_cli_prints_a_row_per_model(tmp_path):
    from artic3d_cli.main import app

    params = tmp_path / "params.yaml"
    params.write_text(f"weights:\n  hf_cache: {tmp_path / 'hf'}\n")
    res = CliRunner().invoke(app, ["weights", "check", "--params", str(params)])
    assert res.exit_code == 0, res.output
    for name in ("sd ", "dino", "clip"):
        assert name in res.output
    assert res.output.count("missing") == 3 and "RANDOM" in res.output
    res = CliRunner().invoke(app, ["weights", "check", "-p", str(params), "--strict"])
    assert res.exit_code == 1


def _fake_hf_snapshot(cache, hub_id, files):
    repo = cache / ("models--" + hub_id.replace("/", "--"))
    snap = repo / "snapshots" / "abc123"
    snap.mkdir(parents=True, exist_ok=True)
    for f, data in files.items():
        (snap / f).parent.mkdir(parents=True, exist_ok=True)
        (snap / f).write_bytes(data)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text("abc123")
    return snap


def test_real_dino_from_hf_cache_loads_safetensors(tmp_path):
    from safetensors.torch import save_file

    full = load_dino(WeightsConfig(profile="full-random", random_seed=5))[0]
    cache = tmp_path / "hf"
    snap = _fake_hf_snapshot(cache, "timm/vit_small_patch8_224.dino", {})
    save_file({k: v.contiguous() for k, v in full.state_dict().items()}, snap / "model.safetensors")
    cfg = WeightsConfig(profile="real", hf_cache=str(cache))
    model, info = load_dino(cfg)
    assert not info.random and info.fingerprint.startswith("sha256:")
    assert torch.equal(model.pos_embed, full.pos_embed)
    rows = {r.model: r for r in check_weights(cfg)}
    assert rows["dino"].found and not rows["sd"].found
    x = torch.rand(1, 3, 64, 64)
    assert model.forward_features(x).shape == (1, 1 + 64, 384)


def test_pickles_load_with_weights_only(tmp_path):
    good = tmp_path / "good.pth"
    torch.save({"state_dict": {"w": torch.ones(2)}}, good)
    assert torch.equal(load_state_dict_file(good)["w"], torch.ones(2))

    class Evil:
        def __reduce__(self):
            return (print, ("executed",))

    bad = tmp_path / "bad.pth"
    bad.write_bytes(pickle.dumps({"w": Evil()}))
    with pytest.raises(ValueError, match="weights_only"):
        load_state_dict_file(bad)


def test_real_sd_path_loads_diffusers_folder_and_tokenizers_agree(tmp_path):
    """The real-profile code path, exercised on a tiny random stack saved in diffusers format."""
    tiny = load_stable_diffusion(WeightsConfig(profile="tiny", random_seed=3))
    root = tmp_path / "sd21"
    tiny.unet.save_pretrained(root / "unet", safe_serialization=True)
    tiny.vae.save_pretrained(root / "vae", safe_serialization=True)
    tiny.text_encoder.save_pretrained(root / "text_encoder", safe_serialization=True)
    write_clip_tokenizer(root / "tokenizer")
    cfg = WeightsConfig(profile="real", hf_cache=str(tmp_path / "hf"))
    cfg.sd.path = str(root)
    real = load_stable_diffusion(cfg)
    assert not real.info.random and real.info.source == str(root)
    prompts = ["", "A photo of zebra", "A photo of kangaroo in white background"]
    assert torch.equal(real.tokenize(prompts), tiny.tokenize(prompts))
    x = torch.rand(1, 3, 32, 32)
    g = torch.Generator
    assert torch.allclose(
        StableDiffusion(real).encode(x, g().manual_seed(0)),
        StableDiffusion(tiny).encode(x, g().manual_seed(0)),
        atol=1e-5,
    )


def test_tiny_clip_and_dino_build():
    model, tokenizer, info = load_clip(WeightsConfig(profile="tiny"))
    assert info.random
    with torch.no_grad():
        f = model.encode_image(torch.rand(2, 3, 224, 224))
        t = model.encode_text(tokenizer(["A photo of zebra"]))
    assert f.shape == (2, 32) and t.shape == (1, 32)
    dino, dinfo = load_dino(WeightsConfig(profile="tiny"))
    assert dinfo.random and dino.patch_embed.patch_size == (8, 8)
    assert len(dino.blocks[-1].attn.qkv.weight) == 3 * 48


@pytest.mark.slow
def test_real_clip_from_local_file(tmp_path):
    from safetensors.torch import save_file

    full, _, _ = load_clip(WeightsConfig(profile="full-random", random_seed=4))
    path = tmp_path / "open_clip_model.safetensors"
    save_file({k: v.contiguous() for k, v in full.state_dict().items()}, path)
    cfg = WeightsConfig(profile="real")
    cfg.clip.path = str(path)
    model, _, info = load_clip(cfg)
    assert not info.random
    assert torch.equal(model.visual.conv1.weight, full.visual.conv1.weight)


def test_synthetic_profile_builds_dino_and_clip_as_tiny_and_names_its_prior():
    cfg = WeightsConfig(profile="synthetic", random_seed=2)
    tiny = WeightsConfig(profile="tiny", random_seed=2)
    assert load_dino(cfg)[1] == load_dino(tiny)[1]  # same WeightsInfo: profile tiny, RANDOM
    assert load_clip(cfg)[2].fingerprint == load_clip(tiny)[2].fingerprint
    assert (
        cfg.synthetic_folder().name == "synthetic-animals" and cfg.synthetic_folder().is_absolute()
    )
    from artic3d_core.weights import WeightsInfo

    info = WeightsInfo("synthetic prior", "synthetic", "x", "sha256:0", False)
    assert info.label().startswith("synthetic prior:") and "RANDOM" not in info.label()
