"""glTF validation: the Khronos glTF-Validator when node + the npm package are installed
(``tools/gltf-validate``, set up by ``make``), otherwise structural checks with pygltflib."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

TOOL_DIR = Path(__file__).resolve().parents[2] / "tools" / "gltf-validate"


@dataclass
class GltfReport:
    """Validator verdict. ``validator`` is 'khronos' or 'pygltflib'."""

    validator: str
    errors: int
    warnings: int
    messages: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)


def khronos_available() -> bool:
    return (
        shutil.which("node") is not None and (TOOL_DIR / "node_modules" / "gltf-validator").is_dir()
    )


def _khronos(path: Path) -> GltfReport:
    out = subprocess.run(
        ["node", str(TOOL_DIR / "validate.mjs"), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{path}: glTF validator failed to run: {out.stderr.strip()[:500]}")
    rep = json.loads(out.stdout)
    issues = rep["issues"]
    msgs = [f"{m['code']}: {m['message']} @ {m.get('pointer', '')}" for m in issues["messages"]]
    return GltfReport(
        "khronos", issues["numErrors"], issues["numWarnings"], msgs, rep.get("info", {})
    )


def _pygltflib(path: Path) -> GltfReport:
    from pygltflib import GLTF2

    g = GLTF2().load(str(path))
    errs: list[str] = []
    blob = g.binary_blob() or b""
    for i, bv in enumerate(g.bufferViews):
        if (bv.byteOffset or 0) + bv.byteLength > len(blob):
            errs.append(f"bufferView {i} exceeds the binary chunk")
    for i, acc in enumerate(g.accessors):
        if acc.bufferView is None or acc.bufferView >= len(g.bufferViews):
            errs.append(f"accessor {i} has no valid bufferView")
    n = len(g.nodes)
    for i, node in enumerate(g.nodes):
        errs += [f"node {i} child {c} out of range" for c in node.children if not 0 <= c < n]
    for a, anim in enumerate(g.animations):
        for c in anim.channels:
            if not 0 <= c.target.node < n:
                errs.append(f"animation {a} targets missing node {c.target.node}")
    return GltfReport("pygltflib", len(errs), 0, errs, {"nodes": n})


def validate_gltf(path: str | Path) -> GltfReport:
    """Validate a .glb/.gltf file; Khronos validator if available, else pygltflib checks."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such glTF file")
    return _khronos(path) if khronos_available() else _pygltflib(path)
