"""open_clip ViT-B/32 with OpenAI weights, frozen (real weights, or seeded random weights)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from artic3d_core.weights.config import WeightsConfig, WeightsInfo
from artic3d_core.weights.loading import IMPORT_LOCK, freeze, load_state_dict_file, random_info
from artic3d_core.weights.resolve import fingerprint_files, resolve_real

if TYPE_CHECKING:  # pragma: no cover
    import torch

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
    with IMPORT_LOCK:
        import open_clip
        from open_clip.model import CLIP

    dtype = dtype or torch.float32
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.random_seed)
        if cfg.random_profile() == "tiny":
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
        arch = _CLIP_TINY if cfg.random_profile() == "tiny" else {"name": "ViT-B-32"}
        info = random_info("clip", cfg.random_profile(), cfg.random_seed, arch)
    model = model.to(device=device, dtype=dtype)
    freeze(model)
    return model, open_clip.get_tokenizer("ViT-B-32"), info
