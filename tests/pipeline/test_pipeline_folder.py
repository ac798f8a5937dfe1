"""``artic3d run --dataset folder`` on a photo folder without annotations: two images of one
class reconstruct end to end, exit 0, and the summary says PCK and mask IoU were not computed
(there are no keypoints nor masks) while the CLIP scores are."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from artic3d_core.data.synthetic import generate
from artic3d_core.eval.evaluate import NO_KEYPOINTS, NO_MASKS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory, tiny_overrides) -> tuple[subprocess.CompletedProcess, Path]:
    tmp = tmp_path_factory.mktemp("photos")
    synth = tmp / "synth"
    generate(synth, ["zebra"], seed=0, preset="demo", n_clean=2, n_occluded=0, image_size=64,
             contact_sheet=False)  # fmt: skip
    photos = tmp / "photos" / "zebra"
    photos.mkdir(parents=True)
    for i, png in enumerate(sorted((synth / "images" / "zebra").glob("*.png"))):
        shutil.copy(png, photos / f"photo_{i}.png")  # images only: no annotations, no masks
    overrides = [
        *tiny_overrides,
        f"data.folder_root={tmp / 'photos'}",
        f"pipeline.run_dir={tmp / 'runs'}",
        "features.backend=offline",
        "features.mask_size=64",
        "features.offline.work_size=64",
        "pipeline.max_instances=1",
        "pipeline.animate=false",
    ]
    args = ["run", "--dataset", "folder", "--cls", "zebra", "--no-outputs",
            "--params", str(ROOT / "params.yaml")]  # fmt: skip
    for o in overrides:
        args += ["--set", o]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, "-m", "artic3d_cli.main", *args],
        cwd=tmp, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    return res, tmp


def test_photo_folder_runs_end_to_end_and_exits_0(folder_run) -> None:
    res, _ = folder_run
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "Traceback" not in res.stderr


def test_summary_says_pck_and_mask_iou_were_not_computed(folder_run) -> None:
    res, _ = folder_run
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["images"] == {"clean": 2, "total": 2}
    assert summary["notes"]["clean"] == [NO_KEYPOINTS, NO_MASKS]
    clean = summary["sets"]["clean"]
    assert "pck" not in clean and "mask_iou" not in clean
    assert {"clip_s1", "clip_s2"} <= set(clean)


def test_metrics_json_records_the_notes(folder_run) -> None:
    res, _ = folder_run
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    metrics = json.loads((Path(summary["eval"]) / "metrics.json").read_text())
    assert metrics["clean/notes"] == [NO_KEYPOINTS, NO_MASKS]
    assert not any(k.endswith("/pck") for k in metrics)


def test_pck_skip_reason_names_what_the_keypoints_lack() -> None:
    import numpy as np

    from artic3d_core.eval.evaluate import pck_skip_reason

    kps = np.zeros((2, 14, 3), dtype=np.float32)
    assert pck_skip_reason(kps) == NO_KEYPOINTS
    kps[0, 0, 2], kps[1, 1, 2] = 1, 1  # visible, but never the same keypoint in two images
    assert "no pair" in pck_skip_reason(kps)
    kps[1, 0, 2] = 1
    assert pck_skip_reason(kps) is None
    assert "PCK needs 2" in pck_skip_reason(kps[:1])
