"""What the synthetic prior learnt, against the random tiny prior (CPU).

    python benchmarks/prior.py --out /tmp/prior-bench            # all three parts
    python benchmarks/prior.py --parts loss --repeats 4

Parts:
* ``loss``: held-out denoising loss — mean ‖ε̂ − ε‖² per latent element, conditional prediction
  with the class prompt — at t = 100, 300, 500, 700, 900 on ``prior.data.n_heldout`` clean renders
  per class (split ``prior-heldout``: neither the prior's training images nor the benchmark's),
  for the synthetic prior and the tiny prior, each in its own latent space; ratio synthetic/tiny.
* ``samples``: a contact sheet per prior, one row per class: ``--samples`` DDIM samples (50
  steps, η = 0, guidance ``--cfg``), then the same number of held-out renders of that class.
* ``cost``: seconds per input enhancement of 4 images and per DASS loss + backward on 2 views at
  ``guidance.image_size``, median of ``--cost-repeats`` calls, synthetic vs tiny.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from artic3d_core.config import load_params
from artic3d_core.guidance.contact_sheet import write_png_atomic
from artic3d_core.guidance.dass import DassGuidance
from artic3d_core.guidance.enhance import enhance
from artic3d_core.guidance.interface import format_prompt
from artic3d_core.guidance.stable_diffusion import StableDiffusion, load_prior
from artic3d_core.prior.data import render_split
from artic3d_core.prior.evaluate import ddim_sample, denoising_loss
from artic3d_core.weights import WeightsConfig

TIMESTEPS = [100, 300, 500, 700, 900]


def _priors(params) -> dict[str, StableDiffusion]:
    w = params.weights
    return {
        "synthetic": load_prior(w.model_copy(update={"profile": "synthetic"}), "cpu"),
        "tiny": load_prior(WeightsConfig(profile="tiny", random_seed=w.random_seed), "cpu"),
    }


def part_loss(priors, held, prompts, repeats: int) -> dict[str, dict[int, float]]:
    x = held.as_float()
    return {
        name: denoising_loss(sd, x, prompts, TIMESTEPS, seed=0, repeats=repeats)
        for name, sd in priors.items()
    }


def _grid(rows: list[torch.Tensor], pad: int = 2) -> np.ndarray:
    """Rows of (n, 3, S, S) images in [0, 1] → one (H, W, 3) uint8 grid, white padding."""
    n, _, s, _ = rows[0].shape
    sheet = np.full((len(rows) * (s + pad) + pad, n * (s + pad) + pad, 3), 255, np.uint8)
    for r, imgs in enumerate(rows):
        for c in range(n):
            y, x = pad + r * (s + pad), pad + c * (s + pad)
            img = (imgs[c].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
            sheet[y : y + s, x : x + s] = img
    return sheet


def part_samples(priors, held, params, n: int, cfg_scale: float, out: Path) -> list[str]:
    written = []
    size = params.prior.data.image_size
    x = held.as_float()
    for name, sd in priors.items():
        rows = []
        latent = sd.c.unet.config.sample_size
        for k, cls in enumerate(held.classes):
            prompt = format_prompt(params.prior.data.prompt, cls)
            s = ddim_sample(sd, prompt, n, latent, steps=50, guidance=cfg_scale, seed=k)
            s = torch.nn.functional.interpolate(s, size=(size, size), mode="bilinear")
            real = x[held.labels == k][:n]
            rows.append(torch.cat([s, real]))
        path = out / f"prior_samples_{name}.png"
        write_png_atomic(path, _grid(rows))
        written.append(str(path))
    return written


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def part_cost(priors, held, params, repeats: int) -> dict[str, dict[str, float]]:
    g = params.guidance
    size = g.image_size
    x4 = held.as_float()[:4]
    fg = torch.ones(4, *x4.shape[-2:], dtype=torch.bool)
    out = {}
    for name, sd in priors.items():
        dass = DassGuidance(sd, g.dass, size)
        views = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(0))

        def one_dass(sd=sd, dass=dass, views=views) -> None:
            v = views.clone().requires_grad_(True)
            dass.loss(v, "A photo of zebra", torch.Generator().manual_seed(1)).backward()

        def one_enhance(sd=sd) -> None:
            enhance(x4, fg, sd, g, torch.Generator().manual_seed(2), cls="zebra")

        out[name] = {
            "enhance_4_images_s": _median_seconds(one_enhance, repeats),
            "dass_2_views_s": _median_seconds(one_dass, repeats),
        }
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--out", type=Path, default=Path("/tmp/prior-bench"))
    ap.add_argument("--parts", nargs="+", default=["loss", "samples", "cost"])
    ap.add_argument("--repeats", type=int, default=2, help="noise draws per held-out image")
    ap.add_argument("--samples", type=int, default=8, help="DDIM samples per class")
    ap.add_argument("--cfg", type=float, default=3.0, help="classifier-free guidance scale")
    ap.add_argument("--cost-repeats", type=int, default=5)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    params = load_params(a.params)
    a.out.mkdir(parents=True, exist_ok=True)
    priors = _priors(params)
    held = render_split(params.prior.data, params.prior.seed, "prior-heldout")
    prompts = [format_prompt(params.prior.data.prompt, held.classes[k]) for k in held.labels]
    result: dict[str, Any] = {"weights": {k: sd.info.label() for k, sd in priors.items()}}
    print(f"held-out: {len(prompts)} renders ({', '.join(held.classes)})")
    if "loss" in a.parts:
        loss = part_loss(priors, held, prompts, a.repeats)
        result["denoising_loss"] = loss
        print("| t | synthetic prior | tiny (RANDOM) | ratio |\n|---|---|---|---|")
        for t in TIMESTEPS:
            s, r = loss["synthetic"][t], loss["tiny"][t]
            print(f"| {t} | {s:.4f} | {r:.4f} | {s / r:.3f} |")
    if "samples" in a.parts:
        result["contact_sheets"] = part_samples(priors, held, params, a.samples, a.cfg, a.out)
        print("contact sheets (rows: classes; DDIM samples, then held-out renders):")
        print("\n".join(f"  {p}" for p in result["contact_sheets"]))
    if "cost" in a.parts:
        cost = part_cost(priors, held, params, a.cost_repeats)
        result["cost"] = cost
        print("| prior | enhance, 4 images (s) | DASS loss+backward, 2 views (s) |\n|---|---|---|")
        for name, c in cost.items():
            print(f"| {name} | {c['enhance_4_images_s']:.3f} | {c['dass_2_views_s']:.3f} |")
        ratio = {k: cost["synthetic"][k] / cost["tiny"][k] for k in cost["tiny"]}
        print("ratio synthetic / tiny: " + ", ".join(f"{k} {v:.2f}" for k, v in ratio.items()))
    (a.out / "prior_bench.json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
