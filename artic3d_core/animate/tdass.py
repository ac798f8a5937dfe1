"""T-DASS (docs/method.md §9): fine-tune the SD latents of rendered animation frames towards
accumulated DASS targets, with a temporal loss along flows from mesh rasterisation, then decode.

L = mean (z − ẑ)² + w_temp·L_temp (L_temp for iterations j ≤ temporal_until), Adam on z,
targets ẑ = update_latents(z) recomputed every iteration (no gradient).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from artic3d_core.animate.config import AnimateConfig
from artic3d_core.animate.flow import temporal_loss, warped_frame_difference


@dataclass
class TDassResult:
    """frames (N, 3, H, W) in [0, 1]; baseline = per-frame DASS targets decoded independently
    (the comparison the paper makes); losses per iteration; warped-frame differences."""

    frames: torch.Tensor
    baseline: torch.Tensor
    losses: list[dict[str, float]] = field(default_factory=list)
    warp_diff_input: float = float("nan")
    warp_diff_baseline: float = float("nan")
    warp_diff_output: float = float("nan")
    weights: dict | None = None


def tdass(
    frames: torch.Tensor,
    flows: dict[str, torch.Tensor],
    encode: Callable[[torch.Tensor], torch.Tensor],
    decode: Callable[[torch.Tensor], torch.Tensor],
    targets: Callable[[torch.Tensor], torch.Tensor],
    cfg: AnimateConfig,
    progress: bool = True,
) -> TDassResult:
    """Run T-DASS on ``frames`` (N, 3, H, W) in [0, 1].

    ``encode``/``decode`` map images ↔ scaled latents (N, 4, H/8, W/8) (e.g. the SD wrapper);
    ``targets(z) -> ẑ`` gives the accumulated DASS latent targets without gradient (e.g.
    ``functools.partial(update_latents, sd, prompt=..., settings=..., generator=g)``).
    """
    with torch.no_grad():
        z0 = encode(frames).float()
        baseline = decode(targets(z0)).clamp(0, 1)
    z = z0.clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=cfg.tdass_lr)
    losses = []
    bar = tqdm(range(cfg.tdass_iters), desc="T-DASS", disable=not progress, leave=False)
    for j in bar:
        with torch.no_grad():
            z_hat = targets(z.detach())
        recon = ((z - z_hat) ** 2).mean()
        loss = recon
        temp = torch.zeros(())
        if cfg.temporal_weight > 0 and j <= cfg.temporal_until:
            temp = temporal_loss(z, flows)
            loss = loss + cfg.temporal_weight * temp
        opt.zero_grad()
        loss.backward()
        opt.step()
        rec = {"recon": recon.item(), "temporal": temp.item(), "total": loss.item()}
        losses.append(rec)
        bar.set_postfix(rec)
    with torch.no_grad():
        out = decode(z.detach()).clamp(0, 1)
    return TDassResult(
        frames=out,
        baseline=baseline,
        losses=losses,
        warp_diff_input=warped_frame_difference(frames, flows),
        warp_diff_baseline=warped_frame_difference(baseline, flows),
        warp_diff_output=warped_frame_difference(out, flows),
    )
