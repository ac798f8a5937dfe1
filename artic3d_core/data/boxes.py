"""Boxes a user gives for an image folder: ``boxes.csv`` or ``boxes.json`` beside the images.

``boxes.csv``: a header ``file,x0,y0,x1,y1`` and one row per image, corners in pixels of the
upright image (EXIF rotation applied, as every viewer shows it).
``boxes.json``: either a COCO-style file (``images`` with ``id`` / ``file_name``,
``annotations`` with ``image_id`` / ``bbox`` = [x, y, w, h] in pixels) or a Label Studio JSON
export (a list of tasks; ``data.image`` names the file, ``annotations[].result[]`` holds
``rectanglelabels`` regions, or ``keypointlabels`` as in the LASSIE annotations, with x, y,
width, height in percent of the image). Label Studio prefixes uploaded file names with 8 hex
digits and a dash; the prefix is ignored when matching. When one image has several boxes the
largest is used (the main animal) and the others are counted in ``UserBox.others``.

Malformed files fail with a :class:`~artic3d_core.data.records.DataError` naming the file and
the row or entry.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from artic3d_core.data.records import DataError

__all__ = ["BOX_FILES", "UserBox", "read_boxes"]

BOX_FILES = ("boxes.csv", "boxes.json")
_LS_PREFIX = re.compile(r"^[0-9a-f]{8}-")


@dataclass(frozen=True)
class UserBox:
    """One user box: corners x0 < x1, y0 < y1 in pixels (``relative`` False) or in fractions
    of the image width / height (``relative`` True); ``source`` is the format it came from
    (``boxes.csv``, ``coco``, ``label-studio``); ``others``: further boxes given for the image."""

    x0: float
    y0: float
    x1: float
    y1: float
    relative: bool
    source: str
    others: int = 0

    def pixels(self, w: int, h: int, scale: float = 1.0) -> tuple[float, float, float, float]:
        """Corners in pixels of a (w, h) image; ``scale`` maps pixels of the stored file to
        pixels of a downscaled read (:func:`artic3d_core.data.image_io.read_photo`)."""
        if self.relative:
            return self.x0 * w, self.y0 * h, self.x1 * w, self.y1 * h
        return self.x0 * scale, self.y0 * scale, self.x1 * scale, self.y1 * scale


def _area(b: UserBox) -> float:
    return (b.x1 - b.x0) * (b.y1 - b.y0)


def _add(out: dict[str, UserBox], name: str, box: UserBox, where: str) -> None:
    if not (box.x1 > box.x0 and box.y1 > box.y0):
        raise DataError(f"{where}: empty box ({box.x0}, {box.y0}, {box.x1}, {box.y1}) for {name!r}")
    old = out.get(name)
    if old is None:
        out[name] = box
        return
    big, small = (box, old) if _area(box) > _area(old) else (old, box)
    out[name] = UserBox(
        big.x0, big.y0, big.x1, big.y1, big.relative, big.source, old.others + small.others + 1
    )


def _number(value: Any, where: str, what: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{where}: {what} is not a number ({value!r})") from None
    if out != out or out in (float("inf"), float("-inf")):
        raise DataError(f"{where}: {what} is not finite ({value!r})")
    return out


def _read_csv(path: Path) -> dict[str, UserBox]:
    out: dict[str, UserBox] = {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: unreadable boxes file ({exc})") from None
    if not rows or [c.strip().lower() for c in rows[0]] != ["file", "x0", "y0", "x1", "y1"]:
        raise DataError(f"{path}: the first line must be the header file,x0,y0,x1,y1")
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        where = f"{path} line {n}"
        if len(row) != 5:
            raise DataError(f"{where}: expected 5 cells (file,x0,y0,x1,y1), got {len(row)}")
        x0, y0, x1, y1 = (_number(v, where, k) for v, k in zip(row[1:], ("x0", "y0", "x1", "y1")))
        _add(out, Path(row[0].strip()).name, UserBox(x0, y0, x1, y1, False, "boxes.csv"), where)
    return out


def _read_coco(path: Path, doc: dict) -> dict[str, UserBox]:
    names: dict[Any, str] = {}
    for i, im in enumerate(doc.get("images") or []):
        if not isinstance(im, dict) or "id" not in im or "file_name" not in im:
            raise DataError(f"{path}: images[{i}] needs 'id' and 'file_name'")
        names[im["id"]] = Path(str(im["file_name"])).name
    out: dict[str, UserBox] = {}
    for i, ann in enumerate(doc.get("annotations") or []):
        where = f"{path} annotations[{i}]"
        if not isinstance(ann, dict) or ann.get("image_id") not in names:
            raise DataError(f"{where}: 'image_id' names no entry of 'images'")
        bbox = ann.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise DataError(f"{where}: 'bbox' must be [x, y, width, height]")
        x, y, w, h = (_number(v, where, "bbox") for v in bbox)
        _add(out, names[ann["image_id"]], UserBox(x, y, x + w, y + h, False, "coco"), where)
    return out


def _ls_region_box(value: dict, kind: str, where: str) -> tuple[float, float, float, float]:
    x, y = _number(value.get("x"), where, "x"), _number(value.get("y"), where, "y")
    if kind == "rectanglelabels":
        w, h = (
            _number(value.get("width"), where, "width"),
            _number(value.get("height"), where, "height"),
        )
        return x, y, x + w, y + h
    return x, y, x, y


def _read_label_studio(path: Path, tasks: list) -> dict[str, UserBox]:
    out: dict[str, UserBox] = {}
    for i, task in enumerate(tasks):
        where = f"{path} task {i}"
        image = (task.get("data") or {}).get("image") if isinstance(task, dict) else None
        if not isinstance(image, str):
            raise DataError(f"{where}: no 'data.image' file name")
        name = _LS_PREFIX.sub("", Path(image.split("?")[0]).name)
        rects: list[tuple[float, float, float, float]] = []
        points: list[tuple[float, float, float, float]] = []
        for ann in task.get("annotations") or []:
            for reg in (ann or {}).get("result") or []:
                kind = (reg or {}).get("type")
                if kind in ("rectanglelabels", "keypointlabels"):
                    b = _ls_region_box(reg.get("value") or {}, kind, where)
                    (rects if kind == "rectanglelabels" else points).append(b)
        if rects:
            for b in rects:
                _add(out, name, UserBox(*(v / 100 for v in b), True, "label-studio"), where)
        elif len(points) >= 2:
            xs = [p[0] for p in points]
            ys = [p[1] for p in points]
            b = (min(xs), min(ys), max(xs), max(ys))
            _add(out, name, UserBox(*(v / 100 for v in b), True, "label-studio"), where)
    return out


def read_boxes(folder: str | Path) -> dict[str, UserBox] | None:
    """The user boxes of an image folder by file name, or None when it has no box file.

    Raises DataError when both files exist or one is malformed (file and entry named)."""
    folder = Path(folder)
    found = [folder / n for n in BOX_FILES if (folder / n).is_file()]
    if not found:
        return None
    if len(found) > 1:
        raise DataError(f"{folder}: both boxes.csv and boxes.json exist; keep one")
    path = found[0]
    if path.suffix == ".csv":
        return _read_csv(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path}: unreadable JSON ({exc})") from None
    if isinstance(doc, dict) and "annotations" in doc and "images" in doc:
        return _read_coco(path, doc)
    if isinstance(doc, list):
        return _read_label_studio(path, doc)
    raise DataError(
        f"{path}: neither a COCO file (images + annotations) nor a Label Studio export (a list "
        "of tasks)"
    )
