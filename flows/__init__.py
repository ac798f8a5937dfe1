"""Prefect flows: ``reconstruct_class``, ``benchmark``, ``tables``, ``synth``.

Importing this package sets the process defaults (offline, analytics off, ``PREFECT_HOME`` =
<project>/.prefect) before Prefect is imported; variables the user set win.
"""

from pathlib import Path

from artic3d_core.env import set_process_defaults

PROJECT_ROOT = Path(__file__).resolve().parent.parent
set_process_defaults(PROJECT_ROOT)
