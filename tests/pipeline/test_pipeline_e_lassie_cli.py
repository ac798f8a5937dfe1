"""``artic3d run --dataset e-lassie`` reconstructs and scores both image sets and says how many
images each set has. The fixture is an E-LASSIE-format folder (images/<cls>/, annotations
<cls>.csv and <cls>_occ.csv) written by the synthetic generator, read without its ground truth."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from artic3d_core.data.synthetic import generate


@pytest.fixture(
    scope="module",
    params=[("e-lassie", []), ("lassie", ["data.e_lassie=true"])],
    ids=["--dataset e-lassie", "--dataset lassie -s data.e_lassie=true"],
)
def e_lassie_summary(request, tmp_path_factory, tiny_overrides) -> dict:
    from artic3d_cli.main import app

    dataset, extra = request.param
    root = tmp_path_factory.mktemp("e-lassie")
    generate(root / "lassie", ["zebra"], seed=0, preset="demo", n_clean=3, n_occluded=2,
             image_size=64, contact_sheet=False)  # fmt: skip
    overrides = [
        *tiny_overrides,
        f"data.lassie_root={root / 'lassie'}",
        f"pipeline.run_dir={root / 'runs'}",
        "features.backend=offline",
        "features.mask_size=64",
        "features.offline.work_size=64",
        "pipeline.max_instances=1",
        "pipeline.animate=false",
        *extra,
    ]
    args = ["run", "--dataset", dataset, "--cls", "zebra", "--no-outputs"]
    for o in overrides:
        args += ["--set", o]
    res = CliRunner().invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "clean, occluded" in res.output  # the sets it reads, said before it starts
    return json.loads(res.output.strip().splitlines()[-1])


def test_every_image_of_both_sets_is_counted_and_scored(e_lassie_summary) -> None:
    s = e_lassie_summary
    assert s["images"] == {"clean": 3, "occluded": 2, "total": 5}
    for set_name in ("clean", "occluded"):
        assert 0.0 <= s["sets"][set_name]["pck"] <= 100.0
