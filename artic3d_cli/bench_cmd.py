"""``artic3d bench``: the benchmark flow (every enabled cell × method, then the tables)."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Benchmark: every enabled cell × method, then the tables.")


@app.callback(invoke_without_command=True)
def bench(
    params: Path = typer.Option(Path("params.yaml"), "--params", "-p"),
    set_: list[str] | None = typer.Option(None, "--set", "-s", help="section.key=value"),
    cells: list[str] | None = typer.Option(None, "--cell", help="dataset/class (repeatable)"),
    methods: list[str] | None = typer.Option(None, "--method", help="repeatable"),
    stages: list[str] | None = typer.Option(None, "--stage", help="stop after these stages"),
    dask_workers: int | None = typer.Option(None, help="run cells on a local Dask cluster"),
    dask_address: str | None = typer.Option(None, help="tcp://host:8786 of a Dask scheduler"),
    gpu_resource: bool = typer.Option(False, help="each cell asks Dask for GPU=1"),
    split: str | None = typer.Option(
        None, help="train | dev | test: the synthetic split data.synthetic_root must hold"
    ),
) -> None:
    """Run the benchmark flow; exit 1 if any cell failed."""
    from flows.benchmark import run_benchmark
    from tasks.errors import BadInputError, StageUnavailableError

    try:
        res = run_benchmark(
            str(params),
            set_,
            dask_workers,
            dask_address,
            cells=cells,
            methods=methods,
            stages=stages,
            gpu_resource=gpu_resource,
            split=split,
        )
    except (BadInputError, StageUnavailableError) as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    for name, r in res.items():
        typer.echo(f"{'ok  ' if r['ok'] else 'FAIL'} {name}: {r.get('eval') or r.get('error', '')}")
    if not all(r["ok"] for r in res.values()):
        raise typer.Exit(1)
