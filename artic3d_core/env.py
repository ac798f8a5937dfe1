"""Process-level defaults for the entry points: the CLI, ``flows`` and the test suite.

Offline by default (no silent downloads), Prefect state inside the project, analytics off.
A variable the user has already set wins. It lives in the lowest layer so that every entry point
can import it; library code never calls :func:`set_process_defaults` — only entry points do.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULTS = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "DVC_NO_ANALYTICS": "1",
    "TQDM_MININTERVAL": "1",
}


def set_process_defaults(project_root: Path | None = None) -> None:
    """Set offline/analytics defaults and PREFECT_HOME=<project>/.prefect unless already set."""
    for k, v in DEFAULTS.items():
        os.environ.setdefault(k, v)
    root = project_root or Path.cwd()
    os.environ.setdefault("PREFECT_HOME", str(root / ".prefect"))
