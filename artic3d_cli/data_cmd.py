"""``artic3d synth`` (synthetic benchmark) and ``artic3d data fetch lassie``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from artic3d_cli.common import ParamsOpt, SetOpt, load_or_exit

app = typer.Typer(
    help="Datasets: fetch LASSIE images, check what is present.", no_args_is_help=True
)
fetch_app = typer.Typer(help="Download dataset images.", no_args_is_help=True)
app.add_typer(fetch_app, name="fetch")


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [c for v in values for c in v.split(",") if c.strip()]


def synth(
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default synth.out_dir).")
    ] = None,
    classes: Annotated[
        list[str] | None, typer.Option("--classes", help="Classes (repeat or comma-separate).")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed (default synth.seed).")] = None,
    preset: Annotated[
        str | None,
        typer.Option(
            "--preset",
            help="demo | full | wide (default: full with --out, else synth.preset of params.yaml).",
        ),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option("--split", help="train | dev | test (default synth.split: none)."),
    ] = None,
    params: ParamsOpt = Path("params.yaml"),
    set_: SetOpt = None,
) -> None:
    """Generate the synthetic articulated-animal benchmark (LASSIE format + ground truth)."""
    from artic3d_core.data.synthetic import generate

    p = Path(params)
    cfg = load_or_exit(p if p.is_file() else None, set_).synth  # type: ignore[arg-type]
    t0 = time.perf_counter()
    try:
        manifest = generate(
            out or Path(cfg.out_dir),
            classes=_split(classes) or cfg.classes,
            seed=cfg.seed if seed is None else seed,
            preset=preset or ("full" if out is not None else cfg.preset),
            n_clean=cfg.n_clean,
            n_occluded=cfg.n_occluded,
            image_size=cfg.image_size,
            supersample=cfg.supersample,
            contact_sheet=cfg.contact_sheet,
            split=split or cfg.split,
        )
    except ValueError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {manifest} in {time.perf_counter() - t0:.1f} s")


@fetch_app.command("lassie")
def fetch_lassie_cmd(
    root: Annotated[
        Path | None, typer.Option("--root", help="LASSIE root (default data.lassie_root).")
    ] = None,
    classes: Annotated[list[str] | None, typer.Option("--classes")] = None,
    download: Annotated[bool, typer.Option("--download/--no-download")] = True,
    params: ParamsOpt = Path("params.yaml"),
    set_: SetOpt = None,
) -> None:
    """Download missing LASSIE / E-LASSIE images from img_url; report what is present.
    Exits 1 (naming what is missing) unless every image is present, 2 for a malformed
    annotation file or a class / id that is not a plain file name."""
    from artic3d_core.data.fetch import fetch_lassie
    from artic3d_core.data.records import DataError

    p = Path(params)
    cfg = load_or_exit(p if p.is_file() else None, set_).data  # type: ignore[arg-type]
    root = root or Path(cfg.lassie_root)
    try:
        reports = fetch_lassie(root, _split(classes), download=download)
    except DataError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    ok = True
    for r in reports:
        if r.annotation_missing:
            ok = False
            for msg in r.annotation_missing:
                typer.echo(f"{r.cls}: {msg}")
        typer.echo(
            f"{r.cls}: {r.rows} rows, {r.present} present, {r.downloaded} downloaded, "
            f"{len(r.missing)} missing"
        )
        for image_id, why in list(r.missing.items())[:10]:
            typer.echo(f"  missing {root}/images/{r.cls}/input_{image_id}.png ({why})")
        if len(r.missing) > 10:
            typer.echo(f"  … and {len(r.missing) - 10} more")
        ok = ok and r.complete
    if not ok:
        typer.secho("LASSIE data incomplete (see above).", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
