"""The prior's modules, built from diffusers / transformers classes with Stable Diffusion's
structure at a small width (AutoencoderKL, UNet2DConditionModel, a frozen CLIPTextModel), and
the diffusers folder they are saved as (the layout ``weights.profile: real`` loads)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import torch

from artic3d_core.atomic import atomic_write_text
from artic3d_core.prior.config import PriorConfig
from artic3d_core.weights import SD_SCHEDULER, write_clip_tokenizer
from artic3d_core.weights.loading import IMPORT_LOCK

# SD 2.x's text side: OpenCLIP's BPE vocabulary and 77-token context
VOCAB_SIZE = 49408
CONTEXT = 77
# the weights are stored as SD's ``fp16`` variant (half the size; loaded back as fp32 on CPU)
VARIANT = "fp16"

MODEL_INDEX = {
    "_class_name": "StableDiffusionPipeline",
    "feature_extractor": [None, None],
    "requires_safety_checker": False,
    "safety_checker": [None, None],
    "scheduler": ["diffusers", "DDPMScheduler"],
    "text_encoder": ["transformers", "CLIPTextModel"],
    "tokenizer": ["transformers", "CLIPTokenizer"],
    "unet": ["diffusers", "UNet2DConditionModel"],
    "vae": ["diffusers", "AutoencoderKL"],
}


def build_vae(cfg: PriorConfig, seed: int) -> Any:
    """AutoencoderKL for ``data.image_size``² RGB in [−1, 1] → latents (4, S/2^(n−1), …)."""
    with IMPORT_LOCK:
        from diffusers import AutoencoderKL
    v = cfg.vae
    n = len(v.block_out_channels)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return AutoencoderKL(
            in_channels=3,
            out_channels=3,
            block_out_channels=tuple(v.block_out_channels),
            down_block_types=("DownEncoderBlock2D",) * n,
            up_block_types=("UpDecoderBlock2D",) * n,
            latent_channels=v.latent_channels,
            layers_per_block=v.layers_per_block,
            norm_num_groups=v.norm_num_groups,
            sample_size=cfg.data.image_size,
        )


def latent_size(cfg: PriorConfig) -> int:
    """Side of the latents: the image size over the VAE's down-sampling 2^(blocks − 1)."""
    return cfg.data.image_size // 2 ** (len(cfg.vae.block_out_channels) - 1)


def build_unet(cfg: PriorConfig, seed: int) -> Any:
    """UNet2DConditionModel on the latents, cross-attending to the text encoder's states."""
    with IMPORT_LOCK:
        from diffusers import UNet2DConditionModel
    u = cfg.unet
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return UNet2DConditionModel(
            sample_size=latent_size(cfg),
            in_channels=cfg.vae.latent_channels,
            out_channels=cfg.vae.latent_channels,
            block_out_channels=tuple(u.block_out_channels),
            layers_per_block=u.layers_per_block,
            down_block_types=tuple(u.down_block_types),
            up_block_types=tuple(u.up_block_types),
            cross_attention_dim=cfg.text.hidden_size,
            attention_head_dim=u.attention_head_dim,
            norm_num_groups=u.norm_num_groups,
            use_linear_projection=True,
        )


def build_text_encoder(cfg: PriorConfig, seed: int) -> Any:
    """A seeded random CLIPTextModel (frozen: only the UNet learns to read it)."""
    with IMPORT_LOCK:
        from transformers import CLIPTextConfig, CLIPTextModel
    t = cfg.text
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CLIPTextModel(
            CLIPTextConfig(
                vocab_size=VOCAB_SIZE,
                hidden_size=t.hidden_size,
                intermediate_size=t.intermediate_size,
                num_hidden_layers=t.num_hidden_layers,
                num_attention_heads=t.num_attention_heads,
                max_position_embeddings=CONTEXT,
                projection_dim=t.hidden_size,
                hidden_act="gelu",
            )
        )
    model.eval().requires_grad_(False)
    return model


def count_parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def save_diffusers_folder(root: Path, unet: Any, vae: Any, text_encoder: Any) -> list[Path]:
    """Write a complete diffusers folder (model_index.json, unet/, vae/, text_encoder/,
    tokenizer/, scheduler/; fp16-variant safetensors) under ``root``; returns the weight files."""
    with IMPORT_LOCK:
        from diffusers import DDPMScheduler
    root = Path(root)
    for name, module in (("unet", unet), ("vae", vae), ("text_encoder", text_encoder)):
        half = copy.deepcopy(module).to(torch.float16)
        half.save_pretrained(root / name, safe_serialization=True, variant=VARIANT)
    write_clip_tokenizer(root / "tokenizer")
    DDPMScheduler(**SD_SCHEDULER).save_pretrained(root / "scheduler")
    atomic_write_text(root / "model_index.json", json.dumps(MODEL_INDEX, indent=2) + "\n")
    return sorted(root.glob("*/*.safetensors"))
