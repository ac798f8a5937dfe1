"""Stable Diffusion 2.1-base: the frozen UNet, VAE, text encoder, tokenizer and DDPM scheduler for
each profile (real weights from disk; tiny or full-size with seeded random weights)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from artic3d_core.weights.config import SYNTHETIC_PRIOR_NAME, WeightsConfig, WeightsInfo
from artic3d_core.weights.loading import IMPORT_LOCK, freeze, random_info
from artic3d_core.weights.resolve import fingerprint_files, resolve_real, resolve_synthetic
from artic3d_core.weights.tokenizer import HFTokenizer, OpenClipTokenizer

if TYPE_CHECKING:  # pragma: no cover
    import torch

SD_SCHEDULER = dict(
    num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear"
)

_SD_TINY = dict(
    unet=dict(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=8,
        use_linear_projection=True,
    ),
    # four blocks keep SD's 8x down-sampling (512² image ↔ 64² latent) at a tiny width
    vae=dict(
        in_channels=3,
        out_channels=3,
        block_out_channels=(8, 8, 16, 16),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=8,
        sample_size=64,
    ),
    text=dict(
        vocab_size=49408,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=77,
        projection_dim=32,
        hidden_act="gelu",
    ),
)

_SD_FULL = dict(
    unet=dict(
        sample_size=64,
        in_channels=4,
        out_channels=4,
        block_out_channels=(320, 640, 1280, 1280),
        layers_per_block=2,
        down_block_types=(
            "CrossAttnDownBlock2D",
            "CrossAttnDownBlock2D",
            "CrossAttnDownBlock2D",
            "DownBlock2D",
        ),
        up_block_types=(
            "UpBlock2D",
            "CrossAttnUpBlock2D",
            "CrossAttnUpBlock2D",
            "CrossAttnUpBlock2D",
        ),
        cross_attention_dim=1024,
        attention_head_dim=(5, 10, 20, 20),
        use_linear_projection=True,
    ),
    vae=dict(
        in_channels=3,
        out_channels=3,
        block_out_channels=(128, 256, 512, 512),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        layers_per_block=2,
        sample_size=512,
    ),
    text=dict(
        vocab_size=49408,
        hidden_size=1024,
        intermediate_size=4096,
        num_hidden_layers=23,
        num_attention_heads=16,
        max_position_embeddings=77,
        projection_dim=512,
        hidden_act="gelu",
    ),
)

SD_LATENT_SCALE = 0.18215


@dataclass
class DiffusionComponents:
    """A frozen SD stack. ``tokenize(prompts) -> (B, 77) int64``; modules are in eval mode.
    ``latent_scale``: the VAE config's ``scaling_factor`` (SD 2.1: 0.18215)."""

    unet: Any
    vae: Any
    text_encoder: Any
    tokenize: Any
    scheduler: Any
    info: WeightsInfo
    latent_scale: float = SD_LATENT_SCALE


def load_stable_diffusion(
    cfg: WeightsConfig, device: str | torch.device = "cpu", dtype: torch.dtype | None = None
) -> DiffusionComponents:
    """Build the SD 2.1-base stack for ``cfg.profile`` on ``device`` (frozen, eval mode).

    ``real`` and ``synthetic`` load a diffusers folder through the same code; they differ only
    in where the folder is found (``weights.sd.path`` or the HF cache; ``weights.synthetic_path``)
    and in the name the :class:`WeightsInfo` gives the model."""
    import torch

    # missing weights fail before the (slow) model-library imports
    res = None
    if cfg.profile == "real":
        res = resolve_real("sd", cfg)
    elif cfg.profile == "synthetic":
        res = resolve_synthetic(cfg)
    with IMPORT_LOCK:
        from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
        from transformers import CLIPTextConfig, CLIPTextModel

    dtype = dtype or torch.float32
    scheduler = DDPMScheduler(**SD_SCHEDULER)
    if res is not None:
        variant = "fp16" if res.files["unet weights"].name.endswith(".fp16.safetensors") else None
        kw = dict(local_files_only=True, use_safetensors=True, torch_dtype=dtype)
        unet = UNet2DConditionModel.from_pretrained(
            str(res.root), subfolder="unet", variant=variant, **kw
        )
        vae = AutoencoderKL.from_pretrained(str(res.root), subfolder="vae", variant=variant, **kw)
        text = CLIPTextModel.from_pretrained(
            str(res.root), subfolder="text_encoder", variant=variant, **kw
        )
        tokenize = HFTokenizer(res.root / "tokenizer")
        fp = fingerprint_files([p for k, p in res.files.items() if k.endswith("weights")])
        name = SYNTHETIC_PRIOR_NAME if cfg.profile == "synthetic" else "sd"
        info = WeightsInfo(name, cfg.profile, str(res.root), fp, False)
        latent_scale = float(getattr(vae.config, "scaling_factor", None) or SD_LATENT_SCALE)
    else:
        arch = _SD_TINY if cfg.profile == "tiny" else _SD_FULL
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.random_seed)
            unet = UNet2DConditionModel(**arch["unet"])
            vae = AutoencoderKL(**arch["vae"])
            text = CLIPTextModel(CLIPTextConfig(**arch["text"]))
        tokenize = OpenClipTokenizer()
        info = random_info("sd", cfg.profile, cfg.random_seed, arch)
        latent_scale = SD_LATENT_SCALE
    unet, vae, text = (m.to(device=device, dtype=dtype) for m in (unet, vae, text))
    freeze(unet, vae, text)
    return DiffusionComponents(unet, vae, text, tokenize, scheduler, info, latent_scale)
