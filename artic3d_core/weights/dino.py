"""DINO ViT-S/8 as a timm VisionTransformer, frozen (real weights, or seeded random weights)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from artic3d_core.weights.config import WeightsConfig, WeightsInfo
from artic3d_core.weights.loading import IMPORT_LOCK, freeze, load_state_dict_file, random_info
from artic3d_core.weights.resolve import fingerprint_files, resolve_real

if TYPE_CHECKING:  # pragma: no cover
    import torch

_DINO_TINY = dict(patch_size=8, embed_dim=48, depth=2, num_heads=6, mlp_ratio=2.0)
_DINO_FULL = dict(patch_size=8, embed_dim=384, depth=12, num_heads=6, mlp_ratio=4.0)


def load_dino(
    cfg: WeightsConfig, device: str | torch.device = "cpu", dtype: torch.dtype | None = None
) -> tuple[Any, WeightsInfo]:
    """DINO ViT-S/8 as a timm VisionTransformer (any input size multiple of 8), frozen."""
    import torch

    # missing real weights fail before the (slow) model-library imports
    res = resolve_real("dino", cfg) if cfg.profile == "real" else None
    with IMPORT_LOCK:
        from timm.models.vision_transformer import VisionTransformer, checkpoint_filter_fn

    dtype = dtype or torch.float32
    arch = _DINO_TINY if cfg.random_profile() == "tiny" else _DINO_FULL
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
        info = random_info("dino", cfg.random_profile(), cfg.random_seed, arch)
    model = model.to(device=device, dtype=dtype)
    freeze(model)
    return model, info
