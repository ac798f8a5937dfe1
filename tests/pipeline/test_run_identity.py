"""A method folder belongs to one set of inputs: ``run.json`` records the crops' fingerprint and
the params hash; a run with other crops or parameters is refused before the folder changes,
``--fresh`` moves the old folder aside, and the same inputs go on (so a killed run resumes).
The stages after the data stage are replaced by a sentinel: what is tested happens before."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from artic3d_core.config import params_hash
from artic3d_core.data.synthetic import generate
from artic3d_core.pipeline import stages as st
from artic3d_core.pipeline.reconstruct import (
    RUN_FILE,
    RunInputsChangedError,
    data_fingerprint,
    reconstruct_class,
)


class _ReachedFeatures(Exception):
    pass


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("ident")
    generate(tmp / "synth", ["zebra"], seed=0, preset="demo", n_clean=2, n_occluded=0,
             image_size=64, contact_sheet=False)  # fmt: skip
    dest = tmp / "photos" / "zebra"
    dest.mkdir(parents=True)
    for png in sorted((tmp / "synth" / "images" / "zebra").glob("*.png")):
        shutil.copy(png, dest / png.name)
    return tmp / "photos"


@pytest.fixture
def setup(photos, tmp_path, make_params, monkeypatch):
    def stop(*_a, **_k):
        raise _ReachedFeatures

    monkeypatch.setattr(st, "run_features", stop)
    params = make_params([f"data.folder_root={photos}", f"pipeline.run_dir={tmp_path / 'runs'}"])
    mdir = tmp_path / "runs" / "folder" / "zebra" / "hi-lassie"
    return params, mdir


def _run(params, fresh=False):
    return reconstruct_class(
        params, params.pipeline.run_dir, "folder", "zebra", "hi-lassie", "cpu", fresh=fresh
    )


def _seed_folder(mdir: Path, data: str, params: str) -> None:
    (mdir / "joint").mkdir(parents=True)
    (mdir / "joint" / "marker").write_text("old run")
    (mdir / RUN_FILE).write_text(json.dumps({"data": data, "params": params}))


def test_a_new_folder_records_the_inputs(setup) -> None:
    params, mdir = setup
    with pytest.raises(_ReachedFeatures):
        _run(params)
    rec = json.loads((mdir / RUN_FILE).read_text())
    data_dir = mdir.parent / "data"
    assert rec["data"] == data_fingerprint(data_dir) and rec["params"] == params_hash(params)


def test_the_same_inputs_and_params_go_on(setup) -> None:
    params, mdir = setup
    with pytest.raises(_ReachedFeatures):
        _run(params)
    with pytest.raises(_ReachedFeatures):  # a rerun (after a kill) is not refused
        _run(params)
    assert (mdir / RUN_FILE).is_file()


@pytest.mark.parametrize("changed", ["data", "params"])
def test_other_inputs_are_refused_and_nothing_changes(changed, setup) -> None:
    params, mdir = setup
    with pytest.raises(_ReachedFeatures):
        _run(params)
    rec = json.loads((mdir / RUN_FILE).read_text())
    _seed_folder(mdir, *(("0" * 16, rec["params"]) if changed == "data" else (rec["data"], "x")))
    before = (mdir / RUN_FILE).read_text()
    with pytest.raises(RunInputsChangedError, match="--fresh"):
        _run(params)
    assert (mdir / RUN_FILE).read_text() == before
    assert (mdir / "joint" / "marker").read_text() == "old run"


def test_fresh_moves_the_old_folder_aside(setup) -> None:
    params, mdir = setup
    _seed_folder(mdir, "0" * 16, "x")
    with pytest.raises(_ReachedFeatures):
        _run(params, fresh=True)
    (old,) = mdir.parent.glob("hi-lassie.old-*")
    assert (old / "joint" / "marker").read_text() == "old run"
    assert not (mdir / "joint").exists()
    assert json.loads((mdir / RUN_FILE).read_text())["params"] == params_hash(params)


def test_the_cli_refusal_is_two_lines_and_exit_2(setup, tiny_overrides, photos) -> None:
    from artic3d_cli.main import app

    params, mdir = setup
    _seed_folder(mdir, "0" * 16, "x")
    params_file = Path(__file__).resolve().parents[2] / "params.yaml"
    args = ["run", "--dataset", "folder", "--cls", "zebra", "--no-outputs", "-p", str(params_file)]
    for o in [*tiny_overrides, f"data.folder_root={photos}",
              f"pipeline.run_dir={params.pipeline.run_dir}"]:  # fmt: skip
        args += ["--set", o]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.startswith(("error:", "  Rerun"))]
    assert lines[0].startswith("error: ") and "other images/crops" in lines[0]
    assert "--fresh" in lines[1]
