"""``artic3d weights``: which model weights are present, where, and how to get them."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from artic3d_cli.common import ParamsOpt, SetOpt, load_or_exit
from artic3d_core.weights import check_weights

app = typer.Typer(help="Model weights: check what is present.", no_args_is_help=True)


@app.command("check")
def check(
    params: ParamsOpt = "params.yaml",
    set_: SetOpt = None,
    strict: bool = typer.Option(False, help="Exit 1 if any real weights are missing."),
) -> None:
    """Report, per model, whether real weights were found, where, and how to get them."""
    cfg = load_or_exit(params, set_)
    rows = check_weights(cfg.weights)
    table = Table(title=f"Model weights (profile in use: {cfg.weights.profile})")
    for col in ("model", "description", "real weights", "where / tried", "how to get"):
        table.add_column(col, overflow="fold")
    for r in rows:
        status = "[green]found[/green]" if r.found else "[red]missing[/red]"
        table.add_row(r.model, r.description, status, r.where, r.how_to_get)
    Console(width=200).print(table)
    if cfg.weights.profile != "real":
        typer.echo(
            f"note: profile '{cfg.weights.profile}' uses RANDOM weights; outputs are marked so. "
            "Set weights.profile=real for a real run."
        )
    if strict and not all(r.found for r in rows):
        raise typer.Exit(1)
