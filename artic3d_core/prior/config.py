"""The ``prior`` section of params.yaml: the synthetic-animal diffusion prior, its training data,
its architecture (Stable Diffusion's structure at a small width) and its training schedule."""

from __future__ import annotations

from pydantic import Field

from artic3d_core.strict import StrictModel


class PriorDataConfig(StrictModel):
    """Clean renders of the synthetic animals, cropped like the pipeline's inputs."""

    classes: list[str] | None = None  # null = the six classes of the side-view presets
    n_per_class: int = Field(100, ge=1)  # training images per class
    n_heldout: int = Field(16, ge=0)  # held-out images per class (denoising-loss benchmark)
    render_size: int = Field(64, ge=16)  # rendered frame before the crop
    supersample: int = Field(2, ge=1)
    image_size: int = Field(64, ge=16)  # training resolution (= guidance.image_size)
    crop_scale: float = Field(2.0, gt=0)  # crop side / keypoint-box side (= data.crop_scale)
    prompt: str = "A photo of {cls}"  # the guidance prompts' template
    cfg_dropout: float = Field(0.1, ge=0, le=1)  # fraction of steps trained on the empty prompt


class PriorVaeConfig(StrictModel):
    """AutoencoderKL: one down-sampling per block after the first (4 blocks = SD's 8×)."""

    block_out_channels: list[int] = Field(default_factory=lambda: [8, 16, 32, 32])
    layers_per_block: int = 1
    norm_num_groups: int = 8
    latent_channels: int = 4
    steps: int = Field(200, ge=1)
    batch_size: int = Field(8, ge=1)
    lr: float = Field(2e-3, gt=0)
    kl_weight: float = Field(1e-6, ge=0)  # SD's VAE: 1e-6 beside an L1 + perceptual term


class PriorUnetConfig(StrictModel):
    """UNet2DConditionModel with cross-attention on the text encoder's states."""

    block_out_channels: list[int] = Field(default_factory=lambda: [32, 64])
    down_block_types: list[str] = Field(
        default_factory=lambda: ["CrossAttnDownBlock2D", "DownBlock2D"]
    )
    up_block_types: list[str] = Field(default_factory=lambda: ["UpBlock2D", "CrossAttnUpBlock2D"])
    layers_per_block: int = 1
    attention_head_dim: int = 8
    norm_num_groups: int = 8
    steps: int = Field(300, ge=1)
    batch_size: int = Field(32, ge=1)
    lr: float = Field(1e-3, gt=0)


class PriorTextConfig(StrictModel):
    """The frozen, seeded CLIPTextModel whose last hidden states condition the UNet."""

    hidden_size: int = 32
    intermediate_size: int = 64
    num_hidden_layers: int = 2
    num_attention_heads: int = 4


class PriorConfig(StrictModel):
    """The ``prior`` section of params.yaml."""

    out_dir: str = "priors/synthetic-animals"  # the diffusers folder written
    seed: int = 0
    threads: int = Field(1, ge=1)  # torch CPU threads while training (fixed: bit-for-bit)
    log_every: int = Field(25, ge=1)  # steps per recorded mean loss
    data: PriorDataConfig = Field(default_factory=PriorDataConfig)
    vae: PriorVaeConfig = Field(default_factory=PriorVaeConfig)
    unet: PriorUnetConfig = Field(default_factory=PriorUnetConfig)
    text: PriorTextConfig = Field(default_factory=PriorTextConfig)
