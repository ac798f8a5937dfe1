"""The benchmark's ``--split``: the synthetic data must hold that split before any cell runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from artic3d_core.data.synthetic import generate
from flows.benchmark import check_split, plan
from flows.common import load
from tasks.errors import BadInputError

ROOT = Path(__file__).resolve().parents[2]


def _ctxs(root: Path, cells: list[str]):
    params = load(ROOT / "params.yaml", [f"data.synthetic_root={root}"], ROOT)
    return params, plan(params, cells, ["hi-lassie"], None, "cpu", str(ROOT))


def test_check_split_matches_the_generated_split(tmp_path):
    generate(tmp_path / "dev", ["zebra"], 0, "demo", 1, 0, 32, split="dev", contact_sheet=False)
    params, ctxs = _ctxs(tmp_path / "dev", ["synthetic/zebra"])
    check_split(params, ctxs, "dev")
    with pytest.raises(BadInputError, match=r"split 'dev', not 'test'.*--split test"):
        check_split(params, ctxs, "test")
    with pytest.raises(BadInputError, match="unknown split"):
        check_split(params, ctxs, "validation")
    generate(tmp_path / "none", ["zebra"], 0, "demo", 1, 0, 32, contact_sheet=False)
    params, ctxs = _ctxs(tmp_path / "none", ["synthetic/zebra"])
    with pytest.raises(BadInputError, match="split 'none'"):
        check_split(params, ctxs, "dev")
    params, ctxs = _ctxs(tmp_path / "absent", ["synthetic/zebra"])
    with pytest.raises(BadInputError, match="manifest"):
        check_split(params, ctxs, "dev")
    params, ctxs = _ctxs(tmp_path / "absent", ["lassie/zebra"])
    check_split(params, ctxs, "test")  # no synthetic cell: nothing to check
