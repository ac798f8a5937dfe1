"""Unannotated image folder: user boxes, the validated foreground estimate, the whole-image
fallback, the crop sheet, and a folder with a bad file."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artic3d_core.data.boxes import read_boxes
from artic3d_core.data.crop import square_box
from artic3d_core.data.folder import check_estimate, estimate_foreground, load_folder
from artic3d_core.data.records import DataError

HORSES = Path(__file__).parent / "fixtures" / "horses"


def _scene(h=120, w=160, seed=0, rx=45.0, ry=25.0, cx=90, cy=60):
    rng = np.random.default_rng(seed)
    img = np.empty((h, w, 3))
    img[:] = [0.3, 0.6, 0.3]
    img += rng.normal(0, 0.02, img.shape)
    yy, xx = np.mgrid[0:h, 0:w]
    animal = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
    img[animal] = [0.9, 0.5, 0.1]
    return np.clip(img, 0, 1), animal


def _save(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((img * 255).round().astype(np.uint8)).save(path)


def _recall(mask: np.ndarray, box: tuple[int, int, int]) -> float:
    left, top, side = box
    inside = np.zeros_like(mask)
    inside[max(top, 0) : max(top + side, 0), max(left, 0) : max(left + side, 0)] = True
    return float((mask & inside).sum() / mask.sum())


def test_estimate_foreground_iou():
    img, animal = _scene()
    fg = estimate_foreground(img.astype(np.float32))
    iou = (fg & animal).sum() / (fg | animal).sum()
    assert iou > 0.85


def test_crop_from_a_confident_estimate(tmp_path, caplog):
    d = tmp_path / "imgs" / "fox"
    for i in range(2):
        _save(d / f"p{i}.png", _scene(seed=i)[0])
    (d / "broken.jpg").write_bytes(b"nope")
    with caplog.at_level(logging.INFO, logger="artic3d.data"):
        recs = load_folder(tmp_path / "imgs", "fox")
    assert [r.image_id for r in recs] == ["p0", "p1"]
    left, top, side = recs[0].crop_box
    # tight box x 45..135, y 35..85 → side 1.5·91 ≈ 136 around (90, 60)
    assert abs(side - 136) <= 6 and abs(left + side / 2 - 90) <= 3 and abs(top + side / 2 - 60) <= 3
    assert recs[0].keypoints.sum() == 0 and recs[0].crop_scale == 1.5
    assert recs[0].meta["box_source"] == "estimate" and not recs[0].meta["fg_fallback"]
    lines = [r.getMessage() for r in caplog.records]
    assert any("p0.png: crop" in m and "from estimate" in m for m in lines)
    assert sum("broken.jpg" in m for m in lines) == 1  # one line naming the file and the reason
    with pytest.raises(DataError, match=r"broken\.jpg"):
        load_folder(tmp_path / "imgs", "fox", policy="stop")


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("small", "too small"),
        ("flat", "no foreground"),
        ("two", "fragmented"),
    ],
)
def test_unconfident_estimate_falls_back_to_the_whole_image(tmp_path, kind, reason):
    if kind == "small":
        img, _ = _scene(rx=20, ry=10)  # 4 % of the image
    elif kind == "flat":
        img = np.full((120, 160, 3), 0.4)
    else:  # two separate animals of the same size: neither is "the" animal
        a, _ = _scene(rx=30, ry=30, cx=40)
        b, m = _scene(rx=30, ry=30, cx=120)
        img = np.where(m[..., None], b, a)
    _save(tmp_path / "x.png", img)
    (rec,) = load_folder(tmp_path, "x")
    assert rec.meta["box_source"] == "whole" and reason in rec.meta["box_note"]
    assert rec.crop_box == (0, -20, 160) and rec.crop_scale == 1.0  # padded to a square


def test_check_estimate_rules():
    fg = np.zeros((100, 100), bool)
    fg[30:70, 20:80] = True
    assert check_estimate(fg).confident
    strip = np.zeros((100, 100), bool)
    strip[80:, 10:90] = True  # 16 %, along the bottom edge only
    c = check_estimate(strip)
    assert not c.confident and "one image edge" in c.reason
    wide = np.zeros((100, 100), bool)
    wide[40:, :] = True  # the bottom part, touching three edges: ground, but not one-edge rule
    assert check_estimate(wide).confident
    assert "covers" in check_estimate(np.ones((100, 100), bool)).reason
    detected = fg.copy()
    detected[:20, :] = True
    assert "fragmented" in check_estimate(fg, detected).reason


def test_horse_photos_crop_holds_the_horse(tmp_path):
    """Real photographs (grass, trees, fences, a printed frame): the crop keeps ≥ 95 % of the
    horse, whichever source placed it."""
    recs = load_folder(HORSES, "horse")
    assert len(recs) == 4
    for r in recs:
        mask = np.asarray(Image.open(HORSES / "masks" / f"{r.image_id}.png")) > 127
        assert _recall(mask, r.crop_box) >= 0.95, (r.image_id, r.meta["box_source"])
    assert {r.meta["box_source"] for r in recs} <= {"estimate", "whole"}


def _mask_boxes() -> dict[str, tuple[int, int, int, int]]:
    out = {}
    for p in sorted((HORSES / "masks").glob("*.png")):
        ys, xs = np.nonzero(np.asarray(Image.open(p)) > 127)
        out[p.stem + ".jpg"] = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    return out


def _copy_horses(tmp_path: Path) -> Path:
    d = tmp_path / "horse"
    shutil.copytree(HORSES / "horse", d)
    return d


def _expected(b: tuple[float, float, float, float], scale: float = 1.5) -> tuple[int, int, int]:
    return square_box(b[0], b[1], b[2] - b[0], b[3] - b[1], scale)


def test_boxes_csv_places_the_crop(tmp_path):
    d = _copy_horses(tmp_path)
    boxes = _mask_boxes()
    lines = ["file,x0,y0,x1,y1"] + [
        f"{n},{x0},{y0},{x1},{y1}" for n, (x0, y0, x1, y1) in boxes.items()
    ]
    (d / "boxes.csv").write_text("\n".join(lines) + "\n")
    recs = load_folder(tmp_path, "horse")
    for r in recs:
        assert r.meta["box_source"] == "user"
        assert r.crop_box == _expected(boxes[r.path.name]), r.image_id
        assert r.crop_scale == 1.5


def test_coco_json_places_the_crop(tmp_path):
    d = _copy_horses(tmp_path)
    boxes = _mask_boxes()
    doc = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "horse"}]}
    for i, (n, (x0, y0, x1, y1)) in enumerate(boxes.items()):
        doc["images"].append({"id": 10 + i, "file_name": f"photos/{n}", "width": 1, "height": 1})
        doc["annotations"].append({"id": i, "image_id": 10 + i, "bbox": [x0, y0, x1 - x0, y1 - y0]})
        # a second, smaller animal in the background: the largest box is the one used
        doc["annotations"].append({"id": 100 + i, "image_id": 10 + i, "bbox": [0, 0, 5, 5]})
    (d / "boxes.json").write_text(json.dumps(doc))
    got = read_boxes(d)
    assert got is not None and all(b.source == "coco" and b.others == 1 for b in got.values())
    for r in load_folder(tmp_path, "horse"):
        assert r.meta["box_source"] == "user"
        assert r.crop_box == _expected(boxes[r.path.name])


def test_label_studio_export_places_the_crop(tmp_path):
    d = _copy_horses(tmp_path)
    boxes = _mask_boxes()
    tasks = []
    for n, (x0, y0, x1, y1) in boxes.items():
        w, h = Image.open(d / n).size
        value = {
            "x": 100 * x0 / w, "y": 100 * y0 / h,
            "width": 100 * (x1 - x0) / w, "height": 100 * (y1 - y0) / h,
            "rectanglelabels": ["horse"],
        }  # fmt: skip
        result = [{"type": "rectanglelabels", "value": value, "original_width": w}]
        tasks.append(
            {"data": {"image": f"/data/upload/1/0a1b2c3d-{n}"}, "annotations": [{"result": result}]}
        )
    (d / "boxes.json").write_text(json.dumps(tasks))
    for r in load_folder(tmp_path, "horse"):
        assert r.meta["box_source"] == "user"
        left, top, side = r.crop_box
        ex = _expected(boxes[r.path.name])
        assert abs(left - ex[0]) <= 1 and abs(top - ex[1]) <= 1 and abs(side - ex[2]) <= 1


def test_label_studio_keypoints_give_their_extent(tmp_path):
    _save(tmp_path / "a b.png", _scene()[0])
    kp = [
        {"type": "keypointlabels", "value": {"x": 25.0, "y": 20.0, "keypointlabels": ["Nose"]}},
        {"type": "keypointlabels", "value": {"x": 75.0, "y": 80.0, "keypointlabels": ["Tail"]}},
    ]
    doc = [{"data": {"image": "a b.png"}, "annotations": [{"result": kp}]}]
    (tmp_path / "boxes.json").write_text(json.dumps(doc))
    (rec,) = load_folder(tmp_path, "any")
    assert rec.meta["box_source"] == "user" and rec.crop_box == _expected((40, 24, 120, 96))


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("boxes.csv", "name,a,b,c,d\n", "header"),
        ("boxes.csv", "file,x0,y0,x1,y1\np.png,1,2,x,4\n", r"line 2: x1 is not a number"),
        ("boxes.csv", "file,x0,y0,x1,y1\np.png,5,5,5,9\n", r"line 2: empty box"),
        ("boxes.csv", "file,x0,y0,x1,y1\np.png,1,2,3\n", r"line 2: expected 5 cells"),
        ("boxes.json", "{not json", "unreadable JSON"),
        ("boxes.json", '{"images": [], "annotations": [{"image_id": 3}]}', r"annotations\[0\]"),
        ("boxes.json", '{"a": 1}', "neither a COCO file"),
        ("boxes.json", '[{"data": {}}]', r"task 0: no 'data.image'"),
    ],
)
def test_malformed_box_files_name_file_and_entry(tmp_path, name, text, match):
    (tmp_path / name).write_text(text)
    with pytest.raises(DataError, match=match) as err:
        read_boxes(tmp_path)
    assert name in str(err.value)


def test_bad_user_boxes_are_reported_and_the_image_still_cropped(tmp_path, caplog):
    img, _ = _scene()
    _save(tmp_path / "p.png", img)
    (tmp_path / "boxes.csv").write_text("file,x0,y0,x1,y1\np.png,500,500,600,600\nq.png,1,1,9,9\n")
    with caplog.at_level(logging.WARNING, logger="artic3d.data"):
        (rec,) = load_folder(tmp_path, "x")
    assert rec.meta["box_source"] == "estimate"
    text = caplog.text
    assert "p.png: the boxes.csv box" in text and "outside the 160x120 image" in text
    assert "boxes given for files that are not images here: q.png" in text
    with pytest.raises(DataError, match="not images here: q.png"):
        load_folder(tmp_path, "x", policy="stop")
    (tmp_path / "boxes.csv").write_text("file,x0,y0,x1,y1\np.png,500,500,600,600\n")
    with pytest.raises(DataError, match="outside"):
        load_folder(tmp_path, "x", policy="stop")


def test_alpha_and_saliency_sources(tmp_path):
    rgba = np.zeros((120, 160, 4), np.uint8)
    rgba[30:90, 40:120] = [200, 100, 50, 255]  # opaque animal, transparent elsewhere
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cut.png")
    (rec,) = load_folder(tmp_path, "x")
    assert rec.meta["box_source"] == "alpha" and rec.crop_box == square_box(40, 30, 80, 60, 1.5)
    np.testing.assert_allclose(rec.image[0, 0], [0.5, 0.5, 0.5])  # composited on grey
    (tmp_path / "cut.png").unlink()
    _save(tmp_path / "s.png", _scene(rx=20, ry=10)[0])  # the estimate alone is too small

    def saliency(image: np.ndarray) -> np.ndarray:  # a 15×20 map, hot at rows 3..8, cols 5..14
        s = np.zeros((15, 20), np.float32)
        s[3:9, 5:15] = 1.0
        return s

    (rec,) = load_folder(tmp_path, "x", saliency=saliency)
    assert rec.meta["box_source"] == "saliency"
    assert rec.crop_box == square_box(40.0, 24.0, 80.0, 48.0, 1.5)


def test_huge_image_is_downscaled_with_its_box(tmp_path):
    img, _ = _scene(h=300, w=400, rx=110, ry=60, cx=200, cy=150)
    _save(tmp_path / "big.png", img)
    (tmp_path / "boxes.csv").write_text("file,x0,y0,x1,y1\nbig.png,100,100,300,200\n")
    (rec,) = load_folder(tmp_path, "x", max_side=200)
    assert rec.image.shape == (150, 200, 3) and rec.meta["read_scale"] == 0.5
    assert rec.crop_box == square_box(50, 50, 100, 50, 1.5)


def test_folder_with_an_unreadable_file_runs_on_the_rest(tmp_path):
    from artic3d_core.config import Params
    from artic3d_core.pipeline import stage_files as sf
    from artic3d_core.pipeline.stages import run_data

    d = _copy_horses(tmp_path / "root")
    (d / "zz broken ünïcode.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    out = tmp_path / "data"
    out.mkdir()
    p = Params.model_validate(
        {"features": {"mask_size": 64, "hr_pass": False}, "pipeline": {"crop_size": 64}}
    )
    info = run_data(p, tmp_path / "root", "folder", "horse", out)
    assert info["n_images"] == 4
    stored = sf.read_crops(out)
    assert stored.image_ids == ["horse_023", "horse_030", "horse_161", "horse_298"]
    assert {e["box_source"] for e in stored.index} <= {"estimate", "whole"}
    sheet = np.asarray(Image.open(out / sf.CROPS_SHEET))
    assert sheet.ndim == 3 and sheet.shape[0] > 64 and sheet.shape[1] >= 4 * 64
