"""``artic3d report``: a Markdown results page (e.g. docs/results.md) from the metrics store."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer


def report(
    metrics: Annotated[
        list[Path] | None,
        typer.Option("--metrics", "-m", help="Metrics parquet file or folder (repeatable)."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Markdown file to write.")] = Path(
        "docs/results.md"
    ),
    note: Annotated[
        str | None, typer.Option(help="A paragraph under the header: how the metrics were made.")
    ] = None,
    title: Annotated[str, typer.Option(help="Page title.")] = "Results",
    groups: Annotated[
        bool,
        typer.Option(
            help="One table per commit × machine × command (--no-groups: only "
            "the tables over seeds)."
        ),
    ] = True,
) -> None:
    """Write one table per commit × machine × command × weights profile, newest first."""
    from artic3d_core.metrics.report import write_report
    from artic3d_core.metrics.store import MetricsFileError, read_metrics

    paths = metrics or [Path("metrics")]
    try:
        df = read_metrics(*paths)
    except MetricsFileError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    cmd = ["artic3d", "report"] + [a for p in paths for a in ("--metrics", str(p))]
    cmd += ["--out", str(out)]
    if note:
        cmd += ["--note", note]
    if not groups:
        cmd += ["--no-groups"]
    written = write_report(
        df, out, regenerate=shlex.join(cmd), title=title, note=note, groups=groups
    )
    typer.echo(f"{len(df)} metric rows → {written}")
