"""Training the synthetic prior: the VAE first (reconstruction + KL), then the UNet on the frozen
VAE's latents (SD's noise schedule, ε-prediction, classifier-free-guidance prompt dropout), then
the diffusers folder and its card.

Bit-for-bit repeatable on CPU for the same params: every random draw comes from a generator
seeded by ``derive_seed(prior.seed, ...)``, the thread count is fixed (``prior.threads``) and
``torch.use_deterministic_algorithms`` is on while training (both restored afterwards).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from artic3d_core.atomic import atomic_write_dir
from artic3d_core.prior.card import up_to_date, write_card
from artic3d_core.prior.config import PriorConfig
from artic3d_core.prior.data import PriorImages, render_split
from artic3d_core.prior.model import (
    build_text_encoder,
    build_unet,
    build_vae,
    count_parameters,
    save_diffusers_folder,
)
from artic3d_core.seeding import derive_seed
from artic3d_core.weights import SD_SCHEDULER, OpenClipTokenizer

log = logging.getLogger("artic3d.prior")


@dataclass
class PhaseLog:
    """Losses of one training phase: the mean over every ``every`` steps, and the wall time."""

    steps: int
    every: int
    curve: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "loss_every": self.every,
            "loss_curve": [round(v, 6) for v in self.curve],
            "first_loss": round(self.curve[0], 6) if self.curve else None,
            "final_loss": round(self.curve[-1], 6) if self.curve else None,
            "seconds": round(self.seconds, 1),
        }


@contextlib.contextmanager
def deterministic_cpu(threads: int) -> Iterator[None]:
    """Fixed thread count and deterministic kernels inside the block; restored on exit."""
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(old_det, warn_only=old_warn)
        torch.set_num_threads(old_threads)


def _lr_at(step: int, steps: int, lr: float) -> float:
    """Linear warm-up over the first 5 % of the steps, then cosine decay to 10 %."""
    warm = max(1, steps // 20)
    if step < warm:
        return lr * (step + 1) / warm
    p = (step - warm) / max(1, steps - warm)
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


def _batches(n: int, batch: int, steps: int, gen: torch.Generator) -> Iterator[torch.Tensor]:
    """``steps`` index batches, epoch after epoch of seeded permutations of ``n`` items."""
    perm = torch.empty(0, dtype=torch.int64)
    for _ in range(steps):
        while perm.numel() < batch:
            perm = torch.cat([perm, torch.randperm(n, generator=gen)])
        yield perm[:batch]
        perm = perm[batch:]


def _run_phase(name: str, steps: int, lr: float, every: int, params: list, step_loss) -> PhaseLog:
    """AdamW over ``params`` for ``steps`` steps of ``step_loss(step) -> loss``."""
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    rec = PhaseLog(steps, every)
    acc: list[float] = []
    t0 = time.perf_counter()
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = _lr_at(step, steps, lr)
        loss = step_loss(step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        acc.append(float(loss.detach()))
        if len(acc) == every or step == steps - 1:
            rec.curve.append(sum(acc) / len(acc))
            acc = []
            log.info("%s step %d/%d loss %.5f", name, step + 1, steps, rec.curve[-1])
    rec.seconds = time.perf_counter() - t0
    return rec


def train_vae(vae: Any, data: PriorImages, cfg: PriorConfig) -> PhaseLog:
    """Reconstruction (MSE on [−1, 1] images) + ``kl_weight`` · KL of the posterior."""
    x_all = data.as_float() * 2 - 1
    v = cfg.vae
    gen = torch.Generator().manual_seed(derive_seed(cfg.seed, "prior", "vae", "batches"))
    order = _batches(x_all.shape[0], v.batch_size, v.steps, gen)
    vae.train().requires_grad_(True)

    def step_loss(_step: int) -> torch.Tensor:
        x = x_all[next(order)]
        post = vae.encode(x).latent_dist
        z = post.mean + post.std * torch.randn(post.mean.shape, generator=gen)
        rec = vae.decode(z).sample
        return torch.nn.functional.mse_loss(rec, x) + v.kl_weight * post.kl().mean()

    out = _run_phase("vae", v.steps, v.lr, cfg.log_every, list(vae.parameters()), step_loss)
    vae.eval().requires_grad_(False)
    return out


@torch.no_grad()
def encode_latents(vae: Any, data: PriorImages, batch: int = 64) -> tuple[torch.Tensor, ...]:
    """Posterior mean and std (N, C, h, w) of every image under the frozen VAE (unscaled)."""
    x_all = data.as_float() * 2 - 1
    means, stds = [], []
    for s in range(0, x_all.shape[0], batch):
        post = vae.encode(x_all[s : s + batch]).latent_dist
        means.append(post.mean)
        stds.append(post.std)
    return torch.cat(means), torch.cat(stds)


def latent_scaling(means: torch.Tensor, stds: torch.Tensor) -> float:
    """SD's convention: 1 / std of the latents, so that scaled latents have unit variance."""
    var = (means.var() + (stds**2).mean()).item()
    return float(f"{1.0 / math.sqrt(var):.5g}")


@torch.no_grad()
def prompt_embeddings(text_encoder: Any, prompts: list[str]) -> torch.Tensor:
    """(P, 77, D) last hidden states of the frozen text encoder for ``prompts``."""
    ids = OpenClipTokenizer()(prompts)
    return text_encoder(ids)[0]


def train_unet(
    unet: Any,
    latents: tuple[torch.Tensor, torch.Tensor],
    labels: torch.Tensor,
    emb: torch.Tensor,
    scale: float,
    cfg: PriorConfig,
) -> PhaseLog:
    """ε-prediction MSE at t ~ U{0..999} under SD's scaled-linear schedule; ``emb`` holds the
    empty prompt's embedding first, then one per class; a ``cfg_dropout`` fraction of the
    samples sees the empty prompt."""
    from diffusers import DDPMScheduler

    ac = DDPMScheduler(**SD_SCHEDULER).alphas_cumprod.float()
    means, stds = latents
    u = cfg.unet
    gen = torch.Generator().manual_seed(derive_seed(cfg.seed, "prior", "unet", "batches"))
    order = _batches(means.shape[0], u.batch_size, u.steps, gen)
    unet.train().requires_grad_(True)

    def step_loss(_step: int) -> torch.Tensor:
        idx = next(order)
        b = idx.numel()
        z0 = (means[idx] + stds[idx] * torch.randn(means[idx].shape, generator=gen)) * scale
        t = torch.randint(0, len(ac), (b,), generator=gen)
        noise = torch.randn(z0.shape, generator=gen)
        a = ac[t].view(-1, 1, 1, 1)
        zt = a.sqrt() * z0 + (1 - a).sqrt() * noise
        drop = torch.rand(b, generator=gen) < cfg.data.cfg_dropout
        which = torch.where(drop, torch.zeros_like(labels[idx]), labels[idx] + 1)
        eps = unet(zt, t, encoder_hidden_states=emb[which]).sample
        return torch.nn.functional.mse_loss(eps, noise)

    out = _run_phase("unet", u.steps, u.lr, cfg.log_every, list(unet.parameters()), step_loss)
    unet.eval().requires_grad_(False)
    return out


def class_prompts(cfg: PriorConfig, classes: list[str]) -> list[str]:
    """The empty prompt, then ``data.prompt`` filled with each class."""
    return [""] + [cfg.data.prompt.format(cls=c, species=c) for c in classes]


def train_prior(
    cfg: PriorConfig, out_dir: str | Path | None = None, force: bool = False
) -> dict[str, Any]:
    """Render the data, train VAE then UNet, and write the diffusers folder with its card to
    ``out_dir`` (default ``cfg.out_dir``) atomically. Returns the card (a JSON-able dict).

    A folder whose card was trained from the same ``cfg`` and whose weights match the card's
    hashes is kept as it is (``force`` retrains)."""
    out = Path(out_dir if out_dir is not None else cfg.out_dir)
    if not force and (card := up_to_date(out, cfg)) is not None:
        log.info("%s is up to date with the prior params: kept (force to retrain)", out)
        return card
    t_all = time.perf_counter()
    with deterministic_cpu(cfg.threads):
        t0 = time.perf_counter()
        data = render_split(cfg.data, cfg.seed, "prior-train")
        t_data = time.perf_counter() - t0
        log.info("rendered %d training images in %.1f s", data.images.shape[0], t_data)
        vae = build_vae(cfg, derive_seed(cfg.seed, "prior", "vae", "init"))
        unet = build_unet(cfg, derive_seed(cfg.seed, "prior", "unet", "init"))
        text = build_text_encoder(cfg, derive_seed(cfg.seed, "prior", "text", "init"))
        vae_log = train_vae(vae, data, cfg)
        latents = encode_latents(vae, data)
        scale = latent_scaling(*latents)
        vae.register_to_config(scaling_factor=scale)
        prompts = class_prompts(cfg, data.classes)
        emb = prompt_embeddings(text, prompts)
        unet_log = train_unet(unet, latents, data.labels, emb, scale, cfg)
    card = {
        "classes": data.classes,
        "prompts": prompts[1:],
        "n_train_images": int(data.images.shape[0]),
        "latent_scaling_factor": scale,
        "parameters": {
            "unet": count_parameters(unet),
            "vae": count_parameters(vae),
            "text_encoder": count_parameters(text),
        },
        "vae": vae_log.as_dict(),
        "unet": unet_log.as_dict(),
        "render_seconds": round(t_data, 1),
    }

    def body(tmp: Path) -> dict[str, Any]:
        files = save_diffusers_folder(tmp, unet, vae, text)
        card["total_seconds"] = round(time.perf_counter() - t_all, 1)
        return write_card(tmp, cfg, card, files)

    return atomic_write_dir(out, body)
