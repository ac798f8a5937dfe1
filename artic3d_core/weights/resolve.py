"""Finding real weights on disk — a local path, then an existing Hugging Face cache — without
any network access, and the ``artic3d weights check`` report built on it.

A missing file fails fast with the paths tried and the command that fetches it on a connected
machine (:class:`MissingWeightsError`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from artic3d_core.weights.config import MODEL_NAMES, ModelName, ModelSource, WeightsConfig


class MissingWeightsError(FileNotFoundError):
    """Real weights were asked for and are absent. The message says where and how to get them."""


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


def _diffusers_files(root: Path) -> tuple[dict[str, Path], list[str]]:
    """The SD files found in the diffusers folder ``root``, and the missing ones."""
    files: dict[str, Path] = {}
    miss = []
    for key, alts in _SD_FILES.items():
        hit = next((root / a for a in alts if (root / a).is_file()), None)
        if hit is None:
            miss.append(f"{root}/{alts[0]}")
        else:
            files[key] = hit
    return files, miss


def resolve_synthetic(cfg: WeightsConfig) -> ResolvedWeights:
    """Locate the synthetic prior's diffusers folder (``weights.synthetic_path``; never the HF
    cache). Missing files fail fast, saying how to retrain it."""
    root = cfg.synthetic_folder()
    files, miss = _diffusers_files(root)
    if miss:
        raise MissingWeightsError(
            f"The synthetic prior (weights.synthetic_path = {root}) is missing or incomplete.\n"
            f"  missing: {', '.join(miss)}\n"
            "  retrain it with `artic3d prior train` (or `dvc repro prior`), or point "
            "weights.synthetic_path at a trained copy."
        )
    return ResolvedWeights("sd", root, files)


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
            files, miss = _diffusers_files(root)
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
