"""The model registry: Stable Diffusion 2.1-base, DINO ViT-S/8 and CLIP ViT-B/32.

Three profiles build the same architectures:

* ``real`` — pretrained weights from a local path or an *existing* Hugging Face cache, offline.
  Never a download: a missing file fails fast with the path tried and the command that fetches
  it on a connected machine (:class:`MissingWeightsError`).
* ``tiny`` — small configs with seeded random weights, for CPU tests and the CPU demo.
* ``full-random`` — the real sizes with seeded random weights, for GPU timing.

Weights load through safetensors, or ``torch.load(weights_only=True)`` where only a pickle
exists — never arbitrary pickles. Every loader returns a :class:`WeightsInfo` (profile, source,
fingerprint, ``random`` flag) that every artifact and metrics row records.

Heavy libraries (torch, diffusers, timm, open_clip, transformers) are imported inside the
functions, so ``import artic3d_core.config`` stays light.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from artic3d_core.strict import StrictModel

if TYPE_CHECKING:  # pragma: no cover
    import torch

Profile = Literal["real", "tiny", "full-random"]

# diffusers/transformers resolve names through lazy modules whose first access is not
# thread-safe (Prefect runs mapped tasks in threads): serialise the heavy imports.
_IMPORT_LOCK = threading.Lock()
ModelName = Literal["sd", "dino", "clip"]
MODEL_NAMES: tuple[ModelName, ...] = ("sd", "dino", "clip")


class ModelSource(StrictModel):
    """Where one model's real weights are looked for (``path`` first, then the HF cache)."""

    path: str | None = None
    hub_id: str
    revision: str | None = None


DEFAULT_HUB_IDS = {
    "sd": "stabilityai/stable-diffusion-2-1-base",
    "dino": "timm/vit_small_patch8_224.dino",
    "clip": "timm/vit_base_patch32_clip_224.openai",
}


class WeightsConfig(StrictModel):
    """The ``weights`` section of params.yaml."""

    @model_validator(mode="before")
    @classmethod
    def _default_hub_ids(cls, data: Any) -> Any:
        """A partial model block (e.g. only ``path``) keeps the default hub id."""
        if isinstance(data, dict):
            data = dict(data)
            for name, hub in DEFAULT_HUB_IDS.items():
                block = data.get(name)
                if isinstance(block, dict) and "hub_id" not in block:
                    data[name] = {**block, "hub_id": hub}
        return data

    profile: Profile = "tiny"
    hf_cache: str | None = None  # default: huggingface_hub's HF_HUB_CACHE
    random_seed: int = 0  # seeds the random profiles
    sd: ModelSource = Field(default_factory=lambda: ModelSource(hub_id=DEFAULT_HUB_IDS["sd"]))
    dino: ModelSource = Field(default_factory=lambda: ModelSource(hub_id=DEFAULT_HUB_IDS["dino"]))
    clip: ModelSource = Field(default_factory=lambda: ModelSource(hub_id=DEFAULT_HUB_IDS["clip"]))


@dataclass(frozen=True)
class WeightsInfo:
    """Which weights made an output. ``random`` is True for the tiny/full-random profiles."""

    model: str
    profile: str
    source: str
    fingerprint: str
    random: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def label(self) -> str:
        tag = " (RANDOM WEIGHTS)" if self.random else ""
        return f"{self.model}:{self.profile}:{self.fingerprint}{tag}"


class MissingWeightsError(FileNotFoundError):
    """Real weights were asked for and are absent. The message says where and how to get them."""


# --------------------------------------------------------------------------------------------
# What each model needs on disk, and how to fetch it on a connected machine.

_SD_FILES: dict[str, tuple[str, ...]] = {
    # one of the alternatives must exist for each entry
    "unet/config.json": ("unet/config.json",),
    "unet weights": (
        "unet/diffusion_pytorch_model.safetensors",
        "unet/diffusion_pytorch_model.fp16.safetensors",
    ),
    "vae/config.json": ("vae/config.json",),
    "vae weights": (
        "vae/diffusion_pytorch_model.safetensors",
        "vae/diffusion_pytorch_model.fp16.safetensors",
    ),
    "text_encoder/config.json": ("text_encoder/config.json",),
    "text_encoder weights": (
        "text_encoder/model.safetensors",
        "text_encoder/model.fp16.safetensors",
    ),
    "tokenizer/vocab.json": ("tokenizer/vocab.json",),
    "tokenizer/merges.txt": ("tokenizer/merges.txt",),
}
_DINO_FILES = ("model.safetensors", "pytorch_model.bin", "dino_deitsmall8_pretrain.pth")
_CLIP_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")

FETCH_HINT: dict[str, str] = {
    "sd": (
        "hf download {hub_id} --include 'unet/*' 'vae/*' 'text_encoder/*' 'tokenizer/*' "
        "'scheduler/*' 'model_index.json' --exclude '*.bin' '*.ckpt'   "
        "(any diffusers-format copy of SD 2.1-base works; point weights.sd.path at it)"
    ),
    "dino": (
        "hf download {hub_id} model.safetensors   (or the original DINO file "
        "dino_deitsmall8_pretrain.pth; point weights.dino.path at it)"
    ),
    "clip": (
        "hf download {hub_id} open_clip_model.safetensors   (or open_clip_pytorch_model.bin; "
        "point weights.clip.path at it)"
    ),
}

_DESCRIPTION = {
    "sd": "Stable Diffusion 2.1-base (diffusers: unet, vae, text_encoder, tokenizer)",
    "dino": "DINO ViT-S/8 (timm vit_small_patch8_224.dino)",
    "clip": "CLIP ViT-B/32 (open_clip ViT-B-32, OpenAI weights)",
}


def _hf_cache_dir(cfg: WeightsConfig) -> Path:
    if cfg.hf_cache:
        return Path(cfg.hf_cache).expanduser()
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _cached_snapshot(cache: Path, hub_id: str, revision: str | None) -> Path | None:
    """The snapshot folder of ``hub_id`` in an existing HF cache, without any network access."""
    repo = cache / ("models--" + hub_id.replace("/", "--"))
    snaps = repo / "snapshots"
    if not snaps.is_dir():
        return None
    ref = repo / "refs" / (revision or "main")
    if ref.is_file():
        cand = snaps / ref.read_text().strip()
        return cand if cand.is_dir() else None
    if revision and (snaps / revision).is_dir():
        return snaps / revision
    found = sorted(p for p in snaps.iterdir() if p.is_dir())
    return found[-1] if found else None


def _missing_message(model: str, hub_id: str, tried: list[str], missing: list[str]) -> str:
    lines = [f"Real weights for {_DESCRIPTION[model]} were not found."]
    lines += [f"  tried: {t}" for t in tried]
    if missing:
        lines.append(f"  missing: {', '.join(missing)}")
    lines.append("  get them on a connected machine with:")
    lines.append("    " + FETCH_HINT[model].format(hub_id=hub_id))
    lines.append(
        f"  then set weights.{model}.path in params.yaml (or copy the Hugging Face cache here), "
        "or use weights.profile=tiny for a random-weight run."
    )
    return "\n".join(lines)


@dataclass(frozen=True)
class ResolvedWeights:
    """Files found for one model's real weights."""

    model: str
    root: Path
    files: dict[str, Path]


def resolve_real(model: ModelName, cfg: WeightsConfig) -> ResolvedWeights:
    """Locate real weights for ``model`` (local path, then HF cache). Fast, no network."""
    src: ModelSource = getattr(cfg, model)
    tried: list[str] = []
    roots: list[Path] = []
    if src.path:
        roots.append(Path(src.path).expanduser())
        tried.append(f"weights.{model}.path = {roots[-1]}")
    cache = _hf_cache_dir(cfg)
    snap = _cached_snapshot(cache, src.hub_id, src.revision)
    if snap is not None:
        roots.append(snap)
    tried.append(f"Hugging Face cache {cache} / {src.hub_id}" + ("" if snap else " (not cached)"))

    missing: list[str] = []
    for root in roots:
        if model == "sd":
            files: dict[str, Path] = {}
            miss = []
            for key, alts in _SD_FILES.items():
                hit = next((root / a for a in alts if (root / a).is_file()), None)
                if hit is None:
                    miss.append(f"{root}/{alts[0]}")
                else:
                    files[key] = hit
            if not miss:
                return ResolvedWeights(model, root, files)
            missing += miss
        else:
            names = _DINO_FILES if model == "dino" else _CLIP_FILES
            if root.is_file():
                return ResolvedWeights(model, root.parent, {"weights": root})
            hit = next((root / n for n in names if (root / n).is_file()), None)
            if hit is not None:
                return ResolvedWeights(model, root, {"weights": hit})
            missing.append(f"{root}/{{{','.join(names)}}}")
    raise MissingWeightsError(_missing_message(model, src.hub_id, tried, missing))


def fingerprint_files(paths: list[Path]) -> str:
    """sha256 over (name, size, first and last MiB) of each file: quick and stable."""
    h = hashlib.sha256()
    for p in sorted(paths, key=lambda q: q.name):
        size = p.stat().st_size
        h.update(f"{p.name}:{size}".encode())
        with p.open("rb") as f:
            h.update(f.read(1 << 20))
            if size > 2 << 20:
                f.seek(-(1 << 20), os.SEEK_END)
                h.update(f.read(1 << 20))
    return "sha256:" + h.hexdigest()[:16]


def _random_info(model: str, profile: str, seed: int, arch: dict[str, Any]) -> WeightsInfo:
    blob = json.dumps({"arch": arch, "seed": seed}, sort_keys=True, default=str).encode()
    fp = "random:" + hashlib.sha256(blob).hexdigest()[:16]
    return WeightsInfo(model, profile, f"random (seed {seed})", fp, True)


def load_state_dict_file(path: Path) -> dict[str, torch.Tensor]:
    """Load a state dict safely: safetensors, or torch.load(weights_only=True)."""
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(
            f"{path}: cannot be read as a plain tensor checkpoint (weights_only=True): {exc}. "
            "Only safetensors or tensor-only pickles are loaded; convert the file first."
        ) from exc
    for key in ("state_dict", "model", "teacher"):
        if isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
            sd = sd[key]
    if not isinstance(sd, dict):
        raise ValueError(f"{path}: expected a dict of tensors, got {type(sd).__name__}")
    return sd


# --------------------------------------------------------------------------------------------
# Stable Diffusion 2.1-base

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
    """A frozen SD stack. ``tokenize(prompts) -> (B, 77) int64``; modules are in eval mode."""

    unet: Any
    vae: Any
    text_encoder: Any
    tokenize: Any
    scheduler: Any
    info: WeightsInfo
    latent_scale: float = SD_LATENT_SCALE


class OpenClipTokenizer:
    """SD 2.x's tokenizer (OpenCLIP BPE, 77 tokens, pad id 0 = '!') from open_clip's shipped
    vocabulary — works offline, unlike ``CLIPTokenizer.from_pretrained(<hub id>)``."""

    def __init__(self, context_length: int = 77) -> None:
        from open_clip.tokenizer import SimpleTokenizer

        self._tok = SimpleTokenizer(context_length=context_length)
        self.context_length = context_length

    def __call__(self, prompts: list[str]) -> torch.Tensor:
        return self._tok(list(prompts), context_length=self.context_length).long()


class HFTokenizer:
    """A transformers CLIPTokenizer loaded from a *local* folder, padded to 77 tokens."""

    def __init__(self, folder: Path) -> None:
        from transformers import CLIPTokenizer

        tok = CLIPTokenizer.from_pretrained(str(folder), local_files_only=True)
        if len(tok) < 49408:
            raise ValueError(
                f"{folder}: tokenizer has {len(tok)} tokens, expected 49408 (broken or partial files)"
            )
        self._tok = tok

    def __call__(self, prompts: list[str]) -> torch.Tensor:
        out = self._tok(
            list(prompts),
            padding="max_length",
            max_length=self._tok.model_max_length,
            truncation=True,
            return_tensors="pt",
        )
        return out.input_ids


def _freeze(*modules: Any) -> None:
    for m in modules:
        m.eval()
        m.requires_grad_(False)


def load_stable_diffusion(
    cfg: WeightsConfig, device: str | torch.device = "cpu", dtype: torch.dtype | None = None
) -> DiffusionComponents:
    """Build the SD 2.1-base stack for ``cfg.profile`` on ``device`` (frozen, eval mode)."""
    import torch

    # missing real weights fail before the (slow) model-library imports
    res = resolve_real("sd", cfg) if cfg.profile == "real" else None
    with _IMPORT_LOCK:
        from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
        from transformers import CLIPTextConfig, CLIPTextModel

    dtype = dtype or torch.float32
    scheduler = DDPMScheduler(**SD_SCHEDULER)
    if cfg.profile == "real":
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
        info = WeightsInfo("sd", "real", str(res.root), fp, False)
    else:
        arch = _SD_TINY if cfg.profile == "tiny" else _SD_FULL
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.random_seed)
            unet = UNet2DConditionModel(**arch["unet"])
            vae = AutoencoderKL(**arch["vae"])
            text = CLIPTextModel(CLIPTextConfig(**arch["text"]))
        tokenize = OpenClipTokenizer()
        info = _random_info("sd", cfg.profile, cfg.random_seed, arch)
    unet, vae, text = (m.to(device=device, dtype=dtype) for m in (unet, vae, text))
    _freeze(unet, vae, text)
    return DiffusionComponents(unet, vae, text, tokenize, scheduler, info)


# --------------------------------------------------------------------------------------------
# DINO ViT-S/8

_DINO_TINY = dict(patch_size=8, embed_dim=48, depth=2, num_heads=6, mlp_ratio=2.0)
_DINO_FULL = dict(patch_size=8, embed_dim=384, depth=12, num_heads=6, mlp_ratio=4.0)


def load_dino(
    cfg: WeightsConfig, device: str | torch.device = "cpu", dtype: torch.dtype | None = None
) -> tuple[Any, WeightsInfo]:
    """DINO ViT-S/8 as a timm VisionTransformer (any input size multiple of 8), frozen."""
    import torch

    # missing real weights fail before the (slow) model-library imports
    res = resolve_real("dino", cfg) if cfg.profile == "real" else None
    with _IMPORT_LOCK:
        from timm.models.vision_transformer import VisionTransformer, checkpoint_filter_fn

    dtype = dtype or torch.float32
    arch = _DINO_TINY if cfg.profile == "tiny" else _DINO_FULL
    kwargs = dict(img_size=224, num_classes=0, dynamic_img_size=True, qkv_bias=True, **arch)
    if cfg.profile == "real":
        path = res.files["weights"]
        model = VisionTransformer(**kwargs)
        sd = checkpoint_filter_fn(load_state_dict_file(path), model)
        missing, unexpected = model.load_state_dict(sd, strict=False)
        bad = [k for k in missing if not k.startswith("head")]
        if bad or unexpected:
            raise ValueError(
                f"{path}: not a DINO ViT-S/8 checkpoint (missing {bad[:5]}, unexpected {unexpected[:5]})"
            )
        info = WeightsInfo("dino", "real", str(path), fingerprint_files([path]), False)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.random_seed)
            model = VisionTransformer(**kwargs)
        info = _random_info("dino", cfg.profile, cfg.random_seed, arch)
    model = model.to(device=device, dtype=dtype)
    _freeze(model)
    return model, info


# --------------------------------------------------------------------------------------------
# CLIP ViT-B/32

_CLIP_TINY = dict(
    embed_dim=32,
    vision_cfg=dict(image_size=224, layers=2, width=32, head_width=16, patch_size=32),
    text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=2),
)


def load_clip(
    cfg: WeightsConfig, device: str | torch.device = "cpu", dtype: torch.dtype | None = None
) -> tuple[Any, Any, WeightsInfo]:
    """open_clip ViT-B/32 ``(model, tokenizer, info)``; the model is frozen in eval mode.

    Images go in as (B, 3, 224, 224) normalised with open_clip's OPENAI mean/std.
    """
    import torch

    # missing real weights fail before the (slow) model-library imports
    res = resolve_real("clip", cfg) if cfg.profile == "real" else None
    with _IMPORT_LOCK:
        import open_clip
        from open_clip.model import CLIP

    dtype = dtype or torch.float32
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.random_seed)
        if cfg.profile == "tiny":
            model = CLIP(**_CLIP_TINY)
        else:
            model = open_clip.create_model("ViT-B-32", pretrained=None)
    if cfg.profile == "real":
        path = res.files["weights"]
        sd = load_state_dict_file(path)
        try:
            model.load_state_dict(sd, strict=True)
        except RuntimeError as exc:
            raise ValueError(f"{path}: not an open_clip ViT-B-32 state dict: {exc}") from None
        info = WeightsInfo("clip", "real", str(path), fingerprint_files([path]), False)
    else:
        arch = _CLIP_TINY if cfg.profile == "tiny" else {"name": "ViT-B-32"}
        info = _random_info("clip", cfg.profile, cfg.random_seed, arch)
    model = model.to(device=device, dtype=dtype)
    _freeze(model)
    return model, open_clip.get_tokenizer("ViT-B-32"), info


# --------------------------------------------------------------------------------------------
# `artic3d weights check`


@dataclass(frozen=True)
class WeightsStatus:
    model: str
    description: str
    found: bool
    where: str
    how_to_get: str


def check_weights(cfg: WeightsConfig) -> list[WeightsStatus]:
    """For each model: are real weights present, where, and how to get them. No network."""
    rows = []
    for name in MODEL_NAMES:
        src: ModelSource = getattr(cfg, name)
        hint = FETCH_HINT[name].format(hub_id=src.hub_id)
        try:
            res = resolve_real(name, cfg)
            rows.append(WeightsStatus(name, _DESCRIPTION[name], True, str(res.root), hint))
        except MissingWeightsError as exc:
            tried = "; ".join(
                ln.strip()[len("tried: ") :] for ln in str(exc).splitlines() if "tried:" in ln
            )
            rows.append(WeightsStatus(name, _DESCRIPTION[name], False, tried, hint))
    return rows
