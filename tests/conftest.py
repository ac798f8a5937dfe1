"""Suite-wide setup: offline by default, Prefect state in a temp home, `gpu` tests skipped on CPU."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest

from artic3d_core.env import DEFAULTS

for _k, _v in DEFAULTS.items():
    os.environ.setdefault(_k, _v)
if "PREFECT_HOME" not in os.environ:
    # a private Prefect home per session, removed at exit (each run used to leave one in /tmp)
    _home = tempfile.mkdtemp(prefix="artic3d-prefect-")
    os.environ["PREFECT_HOME"] = _home
    atexit.register(shutil.rmtree, _home, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
