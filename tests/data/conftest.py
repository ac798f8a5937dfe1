"""Fixture writers for the data tests: each real on-disk format, written by the tests."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image


def _write_png(path: Path, w: int, h: int, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(path)


def _write_csv(path: Path, rows: list[dict], fields=("id", "img_url", "kps")) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=list(fields))
        wr.writeheader()
        wr.writerows(rows)


@pytest.fixture
def lassie_root(tmp_path: Path) -> Path:
    """LASSIE + E-LASSIE fixture, class 'zebra', images 200×100 (W×H).

    clean id 1: Left eye (10 %, 20 %), Muzzle (50 %, 60 %), Tail top (90 %, 40 %)
    clean id 2: two keypoints; occluded id 7: Python-repr, value-wrapped, two keypoints.
    """
    root = tmp_path / "lassie"
    for i in (1, 2, 7):
        _write_png(root / "images" / "zebra" / f"input_{i}.png", 200, 100, seed=i)
    kps1 = [
        {"x": 10.0, "y": 20.0, "width": 0.6, "keypointlabels": ["Left eye"]},
        {"x": 50.0, "y": 60.0, "width": 0.6, "keypointlabels": ["Muzzle (tip of nose)"]},
        {"x": 90.0, "y": 40.0, "width": 0.6, "keypointlabels": ["Tail top"]},
    ]
    kps2 = [
        {"x": 25.0, "y": 50.0, "keypointlabels": ["Front left lower leg (ankle)"]},
        {"x": 75.0, "y": 10.0, "keypointlabels": ["Right ear"]},
    ]
    _write_csv(
        root / "annotations" / "zebra.csv",
        [
            {"id": "1", "img_url": "http://example.invalid/1.jpg", "kps": json.dumps(kps1)},
            {"id": "2", "img_url": "http://example.invalid/2.jpg", "kps": json.dumps(kps2)},
        ],
    )
    occ = [
        {
            "value": {"x": 30.0, "y": 30.0, "keypointlabels": ["Back right upper leg (knee)"]},
            "type": "keypointlabels",
            "original_width": 200,
        },
        {
            "value": {"x": 40.0, "y": 70.0, "keypointlabels": ["Back right lower leg (ankle)"]},
            "hidden": False,
        },
    ]
    _write_csv(
        root / "annotations" / "zebra_occ.csv",
        [{"id": "7", "img_url": "http://example.invalid/7.jpg", "kps": repr(occ)}],
    )
    return root


def _struct(records: list[dict], fields: list[str]) -> np.ndarray:
    arr = np.zeros((1, len(records)), dtype=[(f, "O") for f in fields])
    for i, r in enumerate(records):
        for f in fields:
            arr[0, i][f] = r[f]
    return arr


def _box(h: int, w: int, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    m[r0 : r1 + 1, c0 : c1 + 1] = 1
    return m


@pytest.fixture
def pascal_root(tmp_path: Path) -> Path:
    """Pascal-Part fixture: class 'horse', images 40×30 (W×H), list under ``image-sets/``.

    Object 0 (the horse; rows/cols inclusive): head r2-5 c30-35, leye pixel (r3, c32), muzzle
    r4-6 c36-37, torso r8-15 c10-30, tail r9-14 c5-9, lfuleg r15-20 c12-14 (painted after the
    torso), lflleg r21-25 c12-13, lfho r26-27 c12-13. Object 1 (a bigger 'person') must be ignored.
    """
    root = tmp_path / "pascal"
    h, w = 30, 40
    parts = [
        ("head", _box(h, w, 2, 5, 30, 35)),
        ("leye", _box(h, w, 3, 3, 32, 32)),
        ("muzzle", _box(h, w, 4, 6, 36, 37)),
        ("torso", _box(h, w, 8, 15, 10, 30)),
        ("tail", _box(h, w, 9, 14, 5, 9)),
        ("lfuleg", _box(h, w, 15, 20, 12, 14)),
        ("lflleg", _box(h, w, 21, 25, 12, 13)),
        ("lfho", _box(h, w, 26, 27, 12, 13)),
    ]
    obj0_mask = np.clip(sum(m for _, m in parts), 0, 1).astype(np.uint8)
    part_arr = _struct([{"part_name": n, "mask": m} for n, m in parts], ["part_name", "mask"])
    other_parts = _struct(
        [{"part_name": "torso", "mask": _box(h, w, 0, 29, 0, 39)}], ["part_name", "mask"]
    )
    objects = _struct(
        [
            {"class": "horse", "class_ind": 13, "mask": obj0_mask, "parts": part_arr},
            {
                "class": "person",
                "class_ind": 15,
                "mask": _box(h, w, 0, 29, 0, 39),
                "parts": other_parts,
            },
        ],
        ["class", "class_ind", "mask", "parts"],
    )
    (root / "Annotations_Part").mkdir(parents=True)
    for stem in ("2008_000001", "2008_000002"):
        scipy.io.savemat(
            root / "Annotations_Part" / f"{stem}.mat",
            {"anno": {"imname": stem, "objects": objects}},
        )
        (root / "JPEGImages").mkdir(exist_ok=True)
        Image.fromarray(np.full((h, w, 3), 128, np.uint8)).save(root / "JPEGImages" / f"{stem}.jpg")
    (root / "image-sets").mkdir()
    (root / "image-sets" / "horse.txt").write_text("2008_000001\n2008_000002.jpg\n")
    return root
