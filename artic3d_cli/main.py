"""The ``artic3d`` command line. ``artic3d --help`` lists the subcommands."""

from __future__ import annotations

import typer

from artic3d_cli import (
    bench_cmd,
    common,
    data_cmd,
    export_cmd,
    prior_cmd,
    run_cmd,
    tables_cmd,
    weights_cmd,
)
from artic3d_cli.report_cmd import report
from artic3d_core.env import set_process_defaults

set_process_defaults()

app = typer.Typer(
    help="ARTIC3D: articulated 3D animals from a few web images, guided by diffusion.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main(debug: common.DebugOpt = False) -> None:
    """ARTIC3D: articulated 3D animals from a few web images, guided by diffusion."""
    common.STATE.debug = debug


app.add_typer(weights_cmd.app, name="weights")
app.add_typer(data_cmd.app, name="data")
app.add_typer(prior_cmd.app, name="prior")
app.command("synth")(data_cmd.synth)
app.command("tables")(tables_cmd.tables)
app.command("report")(report)
app.add_typer(bench_cmd.app, name="bench")
app.command("run")(run_cmd.run)
app.command("export")(export_cmd.export)


if __name__ == "__main__":  # pragma: no cover
    app()
