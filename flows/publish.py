"""Prefect artifacts: a table of the metrics (or of the stage units) and a Markdown page with
links to the renders and meshes, so the Prefect UI shows results and not only states."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.pipeline import CellResult

_MEDIA = (".png", ".gif", ".mp4", ".obj", ".glb", ".gltf")


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys: lowercase letters, digits and dashes."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower())).strip("-")


def metric_rows(eval_dir: Path | None) -> list[dict[str, Any]]:
    if eval_dir is None or not (eval_dir / "metrics.parquet").is_file():
        return []
    import pandas as pd

    df = pd.read_parquet(eval_dir / "metrics.parquet")
    # say where random weights or oracle features made a number (wherever it is shown)
    df["weights"] = [
        f"{p} RANDOM" if r else str(p)
        for p, r in zip(df["weights_profile"], df["weights_random"], strict=True)
    ]
    cols = [
        c
        for c in ("dataset", "cls", "method", "set", "metric", "value", "unit", "weights")
        if c in df
    ]
    cols += ["feature_backend"] if "feature_backend" in df else []
    return json.loads(df[cols].to_json(orient="records"))


def publish_cell(res: CellResult) -> list[str]:
    """Create the artifacts of one cell run; returns their keys."""
    method = res.method or "data"
    base = artifact_key(res.cell, method)
    rows = metric_rows(res.eval_dir)
    keys = []
    if rows:
        create_table_artifact(
            rows, key=f"metrics-{base}", description=f"Metrics of {res.cell} {method}"
        )
        keys.append(f"metrics-{base}")
    stage_rows = [
        {"stage": u.stage, "path": u.path, "key": u.key, "reused": u.skipped, "seconds": u.seconds}
        for u in res.units
    ]
    create_table_artifact(
        stage_rows, key=f"stages-{base}", description=f"Units of {res.cell} {method}"
    )
    keys.append(f"stages-{base}")
    lines = [f"# {res.cell} — {method}", "", f"Stages run up to **{res.last_stage}**.", ""]
    media = []
    for u in res.units:
        p = Path(u.path)
        if p.is_dir():
            media += [f for f in sorted(p.rglob("*")) if f.suffix in _MEDIA]
    if media:
        lines += ["## Renders and meshes", ""] + [
            f"- [{f.name}]({f.resolve().as_uri()})" for f in media[:200]
        ]
    else:
        lines += ["No renders or meshes yet."]
    lines += ["", "## Units", ""] + [
        f"- `{u.stage}` → [{u.path}]({Path(u.path).resolve().as_uri()})"
        f"{' (reused)' if u.skipped else f' ({u.seconds:.1f} s)'}"
        for u in res.units
    ]
    create_markdown_artifact(
        "\n".join(lines), key=f"report-{base}", description=f"{res.cell} {method}"
    )
    keys.append(f"report-{base}")
    return keys
