"""LASSIE and E-LASSIE loaders (docs/method.md §1.2–1.4).

Layout: ``<root>/images/<cls>/input_<id>.png``, ``<root>/annotations/<cls>.csv`` (clean) and
``<root>/annotations/<cls>_occ.csv`` (E-LASSIE, occluded). Columns ``id``, ``img_url``, ``kps``.
``kps`` is a Label-Studio keypoint list with x, y in percent of width/height: a JSON list of
``{x, y, keypointlabels}`` (clean) or a Python-repr string of ``{'value': {...}}`` entries
(occluded). Occluded rows come after the clean rows. If the ``kps`` column is absent the whole
image is the box (reference behaviour).

The CSVs are read strictly, and a bad file fails with the file and line named: a quote left
open (which would otherwise swallow the following rows into one cell), a cell holding a line
break (every annotation row is one line), a cell over :data:`MAX_CELL_CHARS` characters, or a
``kps`` cell nested deeper than :data:`MAX_KPS_DEPTH` brackets. Ids and class names become file
names under the root, so they must be plain names (:mod:`artic3d_core.data.safe_paths`); an id
that is not is an error of the annotation file and fails the load whatever the policy.
"""

from __future__ import annotations

import ast
import csv
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from artic3d_core.data.crop import square_box, tight_box_from_keypoints
from artic3d_core.data.image_io import read_image
from artic3d_core.data.policy import Policy, Problems
from artic3d_core.data.records import DataError, ImageRecord, SetName, keypoint_index
from artic3d_core.data.safe_paths import check_name, path_inside

__all__ = [
    "MAX_CELL_CHARS",
    "MAX_KPS_DEPTH",
    "annotation_path",
    "image_path",
    "load_lassie",
    "parse_kps_cell",
    "read_annotation_rows",
]

_CSV_NAME: dict[str, str] = {"clean": "{cls}.csv", "occluded": "{cls}_occ.csv"}
# A 14-keypoint Label-Studio cell is a few kB; anything near this is not an annotation.
MAX_CELL_CHARS = 65536
# list → result → value → keypointlabels is 4 levels; a little slack for extra fields.
MAX_KPS_DEPTH = 8


def annotation_path(root: Path, cls: str, set_name: SetName) -> Path:
    """``<root>/annotations/<cls>[_occ].csv``; DataError for a class that is not a plain name."""
    name = _CSV_NAME[set_name].format(cls=check_name(cls, "class"))
    return path_inside(root, "annotations", name)


def image_path(root: Path, cls: str, image_id: str, where: str = "") -> Path:
    """``<root>/images/<cls>/input_<id>.png``; DataError (naming ``where``) for a class or id
    that is not a plain name or a path outside ``root``."""
    check_name(cls, "class", where)
    check_name(image_id, "id", where)
    return path_inside(root, "images", cls, f"input_{image_id}.png", where=where)


def _nesting_depth(text: str, limit: int) -> int:
    """Deepest bracket nesting of ``text`` outside quoted strings, counted up to ``limit + 1``
    (a linear scan, so a hostile cell cannot exhaust the parsers' recursion)."""
    depth = deepest = 0
    quote = ""
    escaped = False
    for c in text:
        if quote:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c in "[{(":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif c in "]})":
            depth -= 1
    return deepest


def parse_kps_cell(cell: str, where: str = "") -> list[tuple[str, float, float]]:
    """Parse a ``kps`` cell → [(label, x_percent, y_percent)].

    Accepts JSON and Python-repr (single quotes, True/False/None) lists; each element is either
    the bare ``{x, y, keypointlabels}`` object or a Label-Studio result wrapping it in ``value``.
    Raises DataError naming ``where`` for an empty or malformed cell.
    """
    text = (cell or "").strip()
    if not text:
        raise DataError(f"{where}: empty 'kps' cell")
    if len(text) > MAX_CELL_CHARS:
        raise DataError(
            f"{where}: 'kps' cell has {len(text)} characters (at most {MAX_CELL_CHARS})"
        )
    if _nesting_depth(text, MAX_KPS_DEPTH) > MAX_KPS_DEPTH:
        raise DataError(f"{where}: 'kps' cell is nested deeper than {MAX_KPS_DEPTH} levels")
    try:
        items = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        try:
            items = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise DataError(f"{where}: 'kps' cell is neither JSON nor a Python literal") from None
    if not isinstance(items, list):
        raise DataError(f"{where}: 'kps' must be a list, got {type(items).__name__}")
    out: list[tuple[str, float, float]] = []
    for n, item in enumerate(items):
        val = item.get("value", item) if isinstance(item, dict) else None
        if not isinstance(val, dict):
            raise DataError(f"{where}: 'kps' entry {n} is not an object")
        labels = val.get("keypointlabels")
        try:
            x, y = float(val["x"]), float(val["y"])
            label = str(labels[0])
        except (KeyError, TypeError, ValueError, IndexError):
            raise DataError(f"{where}: 'kps' entry {n} lacks numeric x, y or a label") from None
        if not (np.isfinite(x) and np.isfinite(y)):
            raise DataError(f"{where}: 'kps' entry {n} ({label}) has a non-finite coordinate")
        out.append((label, x, y))
    return out


def read_annotation_rows(path: Path) -> tuple[list[tuple[int, dict[str, str]]], bool]:
    """Rows of an annotation CSV as (line number, row), and whether it has a ``kps`` column.

    Raises DataError naming the file and line for a missing file, no ``id`` column, a quote
    left open, a cell holding a line break or over :data:`MAX_CELL_CHARS` characters, or an id
    that is not a plain file name (it would name a file outside the dataset root).
    """
    if not path.is_file():
        raise DataError(f"{path}: annotation file not found")
    rows: list[tuple[int, dict[str, str]]] = []
    line = 1
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, strict=True)
            fields = next(reader, [])
            line = reader.line_num + 1
            for cells in reader:
                start, line = line, reader.line_num + 1
                if not cells:
                    continue
                for cell in cells:
                    if len(cell) > MAX_CELL_CHARS:
                        raise DataError(
                            f"{path}:{start}: a cell has {len(cell)} characters "
                            f"(at most {MAX_CELL_CHARS})"
                        )
                    if "\n" in cell or "\r" in cell:
                        raise DataError(
                            f"{path}:{start}: a cell spans lines {start}-{reader.line_num} "
                            "(a quote left open?); every annotation row must be one line"
                        )
                rows.append((start, dict(zip(fields, cells, strict=False))))
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a readable CSV ({exc})") from None
    except csv.Error as exc:
        hint = "" if "field limit" in str(exc) else "; a quote left open?"
        raise DataError(f"{path}:{line}: not a readable CSV ({exc}{hint})") from None
    if "id" not in fields:
        raise DataError(f"{path}: no 'id' column (columns: {', '.join(fields) or 'none'})")
    for start, row in rows:
        image_id = (row.get("id") or "").strip()
        if image_id:
            check_name(image_id, "id", f"{path}:{start}")
    return rows, "kps" in fields


def _keypoints_from_cell(cell: str, w: int, h: int, where: str, problems: Problems) -> np.ndarray:
    kps = np.zeros((14, 3), dtype=np.float32)
    for label, xp, yp in parse_kps_cell(cell, where):
        k = keypoint_index(label)
        if k is None:
            problems.report(f"{where}: unknown keypoint label {label!r}", "keypoint")
            continue
        x, y = xp * w / 100.0, yp * h / 100.0
        if not (-0.5 <= x <= w + 0.5 and -0.5 <= y <= h + 0.5):
            problems.report(
                f"{where}: keypoint {label!r} at ({x:.1f}, {y:.1f}) px is outside the "
                f"{w}x{h} image",
                "keypoint",
            )
            continue
        kps[k] = (x, y, 1.0)
    return kps


def load_lassie(
    root: str | Path,
    cls: str,
    sets: Sequence[SetName] = ("clean",),
    crop_scale: float = 2.0,
    policy: Policy = "skip",
    dataset: str = "lassie",
    problems: Problems | None = None,
) -> list[ImageRecord]:
    """Load one class of LASSIE (``sets=("clean",)``) or E-LASSIE (``("clean", "occluded")``).

    Records keep CSV order, clean rows first. Raises DataError (naming the file) for a missing
    annotation file or under policy ``stop``; under ``skip`` bad images are logged and dropped.
    """
    root = Path(root)
    problems = problems or Problems(policy)
    records: list[ImageRecord] = []
    seen: dict[str, str] = {}
    for set_name in sets:
        if set_name not in _CSV_NAME:
            raise DataError(f"unknown set {set_name!r} (expected 'clean' or 'occluded')")
        csv_path = annotation_path(root, cls, set_name)
        rows, has_kps = read_annotation_rows(csv_path)
        for line, row in rows:
            image_id = (row.get("id") or "").strip()
            where = f"{csv_path}:{line} (id {image_id or '?'})"
            if not image_id:
                problems.report(f"{where}: empty 'id'")
                continue
            if image_id in seen:
                problems.report(f"{where}: duplicate id, already used at {seen[image_id]}")
                continue
            seen[image_id] = where
            img_path = image_path(root, cls, image_id, where)
            try:
                image = read_image(img_path)
                h, w = image.shape[:2]
                if has_kps:
                    kps = _keypoints_from_cell(row.get("kps") or "", w, h, where, problems)
                    box = square_box(*tight_box_from_keypoints(kps), crop_scale)
                else:  # reference: no kps column → the whole image is the box
                    kps = np.zeros((14, 3), dtype=np.float32)
                    box = square_box(0.0, 0.0, float(w), float(h), 1.0)
            except DataError as exc:
                msg = str(exc)
                problems.report(
                    msg
                    if msg.startswith(str(img_path)) or msg.startswith(where)
                    else f"{where}: {msg}"
                )
                continue
            records.append(
                ImageRecord(
                    image_id=image_id,
                    cls=cls,
                    dataset=dataset,
                    set=set_name,
                    path=img_path,
                    image=image,
                    keypoints=kps,
                    crop_box=box,
                    crop_scale=float(crop_scale) if has_kps else 1.0,
                    meta={"img_url": row.get("img_url", ""), "csv": str(csv_path)},
                )
            )
    return records
