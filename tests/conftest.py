"""Suite-wide setup: offline by default, Prefect state in a temp home, `gpu` tests skipped on CPU."""

from __future__ import annotations

import os
import tempfile

import pytest

from artic3d_cli.env import DEFAULTS

for _k, _v in DEFAULTS.items():
    os.environ.setdefault(_k, _v)
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="artic3d-prefect-"))


def pytest_collection_modifyitems(config, items):
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
