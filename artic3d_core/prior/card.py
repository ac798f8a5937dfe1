"""The prior's card: how the folder was made (data and seeds, parameters, steps, losses, wall
time, machine) as ``card.json`` and a readable ``README.md`` beside the weights."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from artic3d_core.atomic import atomic_write_text, file_sha256
from artic3d_core.prior.config import PriorConfig
from artic3d_core.weights import SYNTHETIC_PRIOR_NAME

CARD_FILE = "card.json"


def machine() -> dict[str, Any]:
    """CPU, core count, Python and library versions (no host name)."""
    import diffusers
    import torch
    import transformers

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
    }


def write_card(root: Path, cfg: PriorConfig, stats: dict[str, Any], files: list[Path]) -> dict:
    """Write ``card.json`` and ``README.md`` into ``root``; returns the card."""
    card = {
        "name": SYNTHETIC_PRIOR_NAME,
        "what": (
            "A small latent diffusion model with Stable Diffusion's structure (AutoencoderKL, "
            "UNet2DConditionModel, frozen random CLIPTextModel, SD's DDPM schedule, "
            "epsilon-prediction) trained on clean renders of the synthetic animals. It is not "
            "Stable Diffusion and knows only its training prompts."
        ),
        "data_seeds": (
            f"image i of class c: derive_seed({cfg.seed}, 'prior-train', c, i), "
            f"i < {cfg.data.n_per_class} (the benchmark uses the key 'synth')"
        ),
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {**machine(), "threads": cfg.threads},
        **stats,
        "params": cfg.model_dump(mode="json"),
        "files": {f.relative_to(root).as_posix(): file_sha256(f) for f in files},
    }
    atomic_write_text(root / CARD_FILE, json.dumps(card, indent=1) + "\n")
    atomic_write_text(root / "README.md", card_markdown(card))
    return card


def read_card(root: Path) -> dict[str, Any] | None:
    """The card of the folder ``root``, or None when there is none or it cannot be read."""
    try:
        return json.loads((Path(root) / CARD_FILE).read_text())
    except (OSError, ValueError):
        return None


def up_to_date(root: Path, cfg: PriorConfig) -> dict[str, Any] | None:
    """The card of ``root`` when it was trained from ``cfg`` (every key but ``out_dir``: a moved
    folder is the same model) and every weights file still has the hash the card lists; else
    None."""
    card = read_card(root)
    if card is None:
        return None
    trained = {k: v for k, v in card.get("params", {}).items() if k != "out_dir"}
    if trained != cfg.model_dump(mode="json", exclude={"out_dir"}):
        return None
    for rel, sha in card.get("files", {}).items():
        f = Path(root) / rel
        if not f.is_file() or file_sha256(f) != sha:
            return None
    return card if card.get("files") else None


def card_markdown(card: dict[str, Any]) -> str:
    """The card as a short Markdown page."""
    p, v, u = card["parameters"], card["vae"], card["unet"]
    m = card["machine"]
    lines = [
        f"# {card['name']}",
        "",
        card["what"],
        "",
        f"* classes: {', '.join(card['classes'])}; prompts: "
        + ", ".join(f"'{q}'" for q in card["prompts"])
        + " (and the empty prompt)",
        f"* data: {card['n_train_images']} clean renders; {card['data_seeds']}",
        f"* parameters: UNet {p['unet']:,}, VAE {p['vae']:,}, text encoder {p['text_encoder']:,} "
        "(stored as fp16)",
        f"* VAE: {v['steps']} steps, loss {v['first_loss']} → {v['final_loss']} "
        f"(mean of {v['loss_every']} steps), {v['seconds']} s",
        f"* UNet: {u['steps']} steps, loss {u['first_loss']} → {u['final_loss']}, {u['seconds']} s",
        f"* latent scaling factor: {card['latent_scaling_factor']}",
        f"* wall time: {card['total_seconds']} s in all ({card['render_seconds']} s rendering), "
        f"{m['threads']} threads on {m['processor']} ({m['cpu_count']} cores), "
        f"torch {m['torch']}, created {card['created']}",
        "",
        f"Retrain: `artic3d prior train` (params: the `prior` section; `{CARD_FILE}` lists them "
        "with the loss curves and file hashes). Load: `weights.profile: synthetic`.",
        "",
    ]
    return "\n".join(lines)
