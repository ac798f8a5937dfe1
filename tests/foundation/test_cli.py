import typer
from typer.testing import CliRunner

from artic3d_cli.main import app


def _walk(cmd, path: list[str]):
    yield path
    for name, sub in (getattr(cmd, "commands", None) or {}).items():
        yield from _walk(sub, [*path, name])


def test_every_subcommand_has_help():
    root = typer.main.get_command(app)
    paths = list(_walk(root, []))
    assert ["weights", "check"] in paths
    runner = CliRunner()
    for p in paths:
        res = runner.invoke(app, [*p, "--help"])
        assert res.exit_code == 0, (p, res.output)
        assert "Usage" in res.output


def test_bad_override_is_a_clean_error(tmp_path):
    res = CliRunner().invoke(app, ["weights", "check", "--set", "weights.nope=1"])
    assert res.exit_code == 2
    assert "unknown key 'weights.nope'" in res.output
