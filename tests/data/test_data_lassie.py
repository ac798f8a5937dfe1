"""LASSIE / E-LASSIE loaders and the crop protocol against hand-computed values."""

from __future__ import annotations

import csv
import json
import logging

import numpy as np
import pytest

from artic3d_core.data.config import DataConfig
from artic3d_core.data.crop import (
    ClassCrops,
    CropInfo,
    crop_keypoints,
    crop_mask,
    crop_record,
    square_box,
)
from artic3d_core.data.lassie import load_lassie, parse_kps_cell
from artic3d_core.data.loaders import load_class, load_class_from_config
from artic3d_core.data.policy import Problems
from artic3d_core.data.records import KEYPOINT_NAMES, DataError

LEYE, MUZZLE, TAIL = (KEYPOINT_NAMES.index(k) for k in ("leye", "muzzle", "tail"))


def test_clean_percent_coordinates_and_crop_box(lassie_root):
    recs = load_lassie(lassie_root, "zebra")
    assert [r.image_id for r in recs] == ["1", "2"]
    r = recs[0]
    assert r.image.shape == (100, 200, 3) and r.image.dtype == np.float32
    # x_px = x% · W / 100, y_px = y% · H / 100 (W = 200, H = 100)
    np.testing.assert_allclose(r.keypoints[LEYE], [20, 20, 1])
    np.testing.assert_allclose(r.keypoints[MUZZLE], [100, 60, 1])
    np.testing.assert_allclose(r.keypoints[TAIL], [180, 40, 1])
    assert r.keypoints[:, 2].sum() == 3 and r.set == "clean"
    # tight box (20, 20, 160, 40); s = 2: side 320, centre (100, 40) → (−60, −120)
    assert r.crop_box == (-60, -120, 320) and r.crop_scale == 2.0
    ck = crop_keypoints(r.keypoints, r.crop_box)
    np.testing.assert_allclose(ck[LEYE], [0.25, 0.4375, 1])
    assert (ck[r.keypoints[:, 2] == 0] == 0).all()  # invisible → 0
    # LASSIE / Hi-LASSIE scale 1.5: side 240 → (−20, −80)
    assert load_lassie(lassie_root, "zebra", crop_scale=1.5)[0].crop_box == (-20, -80, 240)


def test_square_box_truncates_towards_zero():
    # xc − S/2 = −2.5 → −2 and yc − S/2 = −3.5 → −3 (int(), as the reference process_bbox)
    assert square_box(0.0, 0.0, 5.0, 3.0, 2.0) == (-2, -3, 10)
    with pytest.raises(DataError, match="degenerate"):
        square_box(4.0, 4.0, 0.0, 0.0, 2.0)


def test_crop_mask_pads_outside_the_image_with_background():
    m = np.zeros((4, 4), bool)
    m[1:3, 2:4] = True
    # box (left 2, top −2, side 4) at size 4: crop rows = image rows −2..1, columns 2..5
    out = crop_mask(m, (2, -2, 4), 4)
    want = np.zeros((4, 4), bool)
    want[3, 0:2] = True  # image row 1 → crop row 3; image columns 2, 3 → crop columns 0, 1
    np.testing.assert_array_equal(out, want)
    assert out.dtype == bool


def test_crop_info_reads_each_index_entry():
    """Scale and box source per stored crop, None where the index does not record them."""
    index = [
        {"image_id": "a", "set": "clean", "crop_scale": 1, "box_source": "whole"},
        {"image_id": "b", "set": "clean", "crop_scale": 2.0, "box_source": "keypoints"},
        {"image_id": "c", "set": "clean"},
    ]
    crops = ClassCrops(np.zeros((3, 3, 4, 4), np.float32), np.zeros((3, 14, 3)), None, None, index)
    assert crops.crop_info() == [
        CropInfo(1.0, "whole"),
        CropInfo(2.0, "keypoints"),
        CropInfo(None, None),
    ]


def test_e_lassie_repr_cells_after_clean_rows(lassie_root):
    recs = load_lassie(lassie_root, "zebra", sets=("clean", "occluded"))
    assert [(r.image_id, r.set) for r in recs] == [
        ("1", "clean"),
        ("2", "clean"),
        ("7", "occluded"),
    ]
    occ = recs[2]
    np.testing.assert_allclose(occ.keypoints[KEYPOINT_NAMES.index("rbuleg")], [60, 30, 1])
    np.testing.assert_allclose(occ.keypoints[KEYPOINT_NAMES.index("rblleg")], [80, 70, 1])
    # tight (60, 30, 20, 40) → side 80, centre (70, 50) → (30, 10)
    assert occ.crop_box == (30, 10, 80)
    # switched on by configuration
    cfg = DataConfig(lassie_root=str(lassie_root))
    assert len(load_class_from_config("lassie", "zebra", cfg)) == 2
    cfg.e_lassie = True
    assert len(load_class_from_config("lassie", "zebra", cfg)) == 3
    assert len(load_class("e-lassie", lassie_root, "zebra")) == 3


def test_parse_kps_cell_variants():
    js = json.dumps([{"x": 1.5, "y": 2.0, "keypointlabels": ["Left eye"]}])
    rp = repr([{"value": {"x": 1.5, "y": 2.0, "keypointlabels": ["Left eye"]}, "hidden": True}])
    assert parse_kps_cell(js) == parse_kps_cell(rp) == [("Left eye", 1.5, 2.0)]
    for bad, msg in [
        ("", "empty"),
        ("[{'x': 1", "neither JSON"),
        ('{"x": 1}', "must be a list"),
        ('[{"x": "a", "y": 1, "keypointlabels": ["Left eye"]}]', "numeric"),
    ]:
        with pytest.raises(DataError, match=msg):
            parse_kps_cell(bad, "f.csv:2")


def test_bad_rows_skip_and_stop(lassie_root, caplog):
    csv_path = lassie_root / "annotations" / "zebra.csv"
    text = csv_path.read_text().splitlines()
    lines = [
        *text,
        '3,u,""',  # empty kps (and a missing image)
        "1,u,[]",  # duplicate id
        '2,u,"[{""x"": 150, ""y"": 10, ""keypointlabels"": [""Left eye""]}]"',  # duplicate too
    ]
    csv_path.write_text("\n".join(lines) + "\n")
    # an outside keypoint and an unknown label in a new valid row
    from PIL import Image

    Image.new("RGB", (50, 40)).save(lassie_root / "images" / "zebra" / "input_4.png")
    cell = json.dumps(
        [
            {"x": 10, "y": 10, "keypointlabels": ["Left eye"]},
            {"x": 150, "y": 50, "keypointlabels": ["Right eye"]},
            {"x": 30, "y": 40, "keypointlabels": ["Wing"]},
            {"x": 40, "y": 90, "keypointlabels": ["Muzzle"]},
        ]
    )
    with csv_path.open("a", newline="") as f:
        csv.writer(f).writerow(["4", "u", cell])
    probs = Problems("skip")
    with caplog.at_level(logging.WARNING, logger="artic3d.data"):
        recs = load_lassie(lassie_root, "zebra", problems=probs)
    assert [r.image_id for r in recs] == ["1", "2", "4"]
    r4 = recs[2]
    assert r4.keypoints[:, 2].sum() == 2  # eye + muzzle kept; outside and unknown dropped
    np.testing.assert_allclose(r4.keypoints[MUZZLE], [20, 36, 1])
    joined = "\n".join(probs.items)
    assert "input_3.png: image file not found" in joined
    assert "duplicate id" in joined and "outside the 50x40 image" in joined
    assert "unknown keypoint label 'Wing'" in joined
    assert "skipping" in caplog.text
    with pytest.raises(DataError, match=r"zebra\.csv:4 .*image file not found|input_3"):
        load_lassie(lassie_root, "zebra", policy="stop")


def test_missing_annotations_and_too_few_images(lassie_root, tmp_path):
    with pytest.raises(DataError, match=r"tiger\.csv: annotation file not found"):
        load_lassie(lassie_root, "tiger")
    (lassie_root / "images" / "zebra" / "input_2.png").write_bytes(b"\x89PNG\r\n\x1a\n trunc")
    with pytest.raises(DataError, match=r"1 usable image.*need at least 2.*input_2\.png"):
        load_class("lassie", lassie_root, "zebra")


def test_no_kps_column_uses_whole_image(lassie_root):
    p = lassie_root / "annotations" / "zebra.csv"
    p.write_text("id,img_url\n1,u\n")
    (r,) = load_lassie(lassie_root, "zebra")
    # the whole image (200×100) squared around its centre
    assert r.crop_box == (0, -50, 200) and r.keypoints.sum() == 0


def test_crop_record_pads_with_zeros(lassie_root):
    r = load_lassie(lassie_root, "zebra")[0]
    r.mask = np.ones(r.image.shape[:2], bool)
    c = crop_record(r, 64)
    assert tuple(c.image.shape) == (3, 64, 64)
    # box (−60, −120, 320): the image occupies x ∈ [60, 260) → crop cols [12, 52), y rows [24, 44)
    assert float(c.image[:, :20, :].abs().max()) == 0.0  # above the image: black
    assert c.mask[30, 30] and not c.mask[10, 30] and not c.mask[30, 5]
    assert float(c.image[:, 34, 32].sum()) > 0
