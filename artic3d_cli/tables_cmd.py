"""``artic3d tables``: the paper's tables (Markdown + LaTeX) from the metrics parquet files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def tables(
    metrics: Annotated[
        list[Path],
        typer.Option("--metrics", "-m", help="Metrics parquet file or folder (repeatable)."),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the .md / .tex tables.")
    ] = Path("reports"),
    paper: Annotated[
        Path | None, typer.Option(help="Paper-numbers YAML (default: the packaged one).")
    ] = None,
    show: Annotated[bool, typer.Option(help="Print the Markdown tables.")] = True,
) -> None:
    """Render Table 1 (LASSIE / E-LASSIE PCK), Table 2 (Pascal-Part PCK), Table 3 (CLIP), a
    synthetic-benchmark table (3D joint and azimuth errors among its metrics), the tables over
    seeds (seeds, presets, minutes per class and method) and an all-metrics table, with the
    paper's numbers alongside."""
    from artic3d_core.metrics.paper import load_paper_numbers
    from artic3d_core.metrics.store import MetricsFileError, read_metrics
    from artic3d_core.metrics.tables import write_tables

    try:
        df = read_metrics(*metrics)
        paper_data = load_paper_numbers(paper)
    except (MetricsFileError, ValueError) as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    written = write_tables(df, out, paper_data)
    if show:
        typer.echo((out / "tables.md").read_text())
    n_random = int(df["weights_random"].sum()) if len(df) else 0
    typer.echo(
        f"{len(df)} metric rows ({n_random} with random weights) → {len(written)} files in {out}"
    )
