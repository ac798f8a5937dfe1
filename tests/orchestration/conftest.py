"""Fixtures for the orchestration tests: a tiny synthetic class and params pointing at tmp."""

from __future__ import annotations

from pathlib import Path

import pytest

from artic3d_core.config import load_params

ROOT = Path(__file__).resolve().parents[2]


def tiny_overrides(root: Path) -> list[str]:
    """Params for a tiny run under ``root``: 3 clean + 1 occluded zebra at 64², offline features."""
    return [
        f"synth.out_dir={root}/data/synthetic/demo",
        f"data.synthetic_root={root}/data/synthetic/demo",
        f"pipeline.run_dir={root}/runs",
        f"pipeline.metrics_dir={root}/metrics",
        f"pipeline.reports_dir={root}/reports",
        "pipeline.cells=[synthetic/zebra]",
        "synth.classes=[zebra]",
        "synth.n_clean=3",
        "synth.n_occluded=1",
        "synth.image_size=64",
        "synth.contact_sheet=false",
        "features.backend=offline",
        "features.mask_size=64",
        "features.offline.work_size=64",
        "device=cpu",
    ]


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project-like folder with the tiny synthetic zebra generated once per test run."""
    from tasks.synth import run_synth

    root = tmp_path_factory.mktemp("orch")
    run_synth(load_params(ROOT / "params.yaml", tiny_overrides(root)), str(root))
    return root


@pytest.fixture(scope="session")
def overrides_for():
    """``overrides_for(root)`` → the tiny-run ``--set`` list (see :func:`tiny_overrides`)."""
    return tiny_overrides
