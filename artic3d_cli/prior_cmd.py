"""``artic3d prior``: train the synthetic prior (the diffusion model of the synthetic animals)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated

import typer

from artic3d_cli.common import ParamsOpt, SetOpt, load_or_exit, user_error

app = typer.Typer(help="The synthetic prior: train it.", no_args_is_help=True)


@app.command("train")
def train(
    params: ParamsOpt = Path("params.yaml"),
    set_: SetOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default prior.out_dir).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Retrain even if the folder matches the params.")
    ] = False,
) -> None:
    """Render the training images, train the VAE and the UNet, write the diffusers folder and
    its card (``weights.profile: synthetic`` loads it)."""
    from artic3d_core.prior.train import train_prior

    cfg = load_or_exit(params, set_)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    t0 = time.perf_counter()
    try:
        card = train_prior(cfg.prior, out, force)
    except ValueError as exc:
        user_error(exc)
    folder = out or Path(cfg.prior.out_dir)
    typer.echo(
        f"{folder} (this command {time.perf_counter() - t0:.0f} s; trained in "
        f"{card['total_seconds']} s): VAE loss "
        f"{card['vae']['first_loss']} -> {card['vae']['final_loss']}, UNet loss "
        f"{card['unet']['first_loss']} -> {card['unet']['final_loss']}"
    )
