"""Pascal-Part loader (docs/method.md §1.5): VOC2010 images + part masks → 16-slot labels, automatic
keypoints, square crop around all labelled part pixels (s = 1.5 in the reference).

Layout: ``<root>/JPEGImages/<stem>.jpg``, ``<root>/Annotations_Part/<stem>.mat``,
``<root>/image_sets/<cls>.txt`` (``image-sets/`` is accepted too; the reference README and code
disagree). A list line may be a stem, a file name or a path; its stem is used, and must be a
plain file name (no ``..``, no control characters: :mod:`artic3d_core.data.safe_paths`), else the
load fails naming the list file and line. Only the FIRST object of each annotation is used
(reference rule): curate the list so the animal is object 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io

from artic3d_core.data.crop import square_box
from artic3d_core.data.image_io import read_image
from artic3d_core.data.policy import Policy, Problems
from artic3d_core.data.records import KEYPOINT_NAMES, DataError, ImageRecord
from artic3d_core.data.safe_paths import check_name, path_inside

__all__ = [
    "PART_SLOTS",
    "image_set_path",
    "keypoints_from_parts",
    "load_pascal_part",
    "part_label_mask",
    "read_first_object",
]

PART_SLOTS: dict[str, int] = {
    "neck": 1,
    **dict.fromkeys(
        ["head", "leye", "reye", "lear", "rear", "muzzle", "lhorn", "rhorn", "nose"], 2
    ),
    "torso": 3,
    "tail": 4,
    **dict.fromkeys(["rfuleg", "rfleg"], 9),
    **dict.fromkeys(["lfuleg", "lfleg"], 10),
    **dict.fromkeys(["rbuleg", "rbleg"], 11),
    **dict.fromkeys(["lbuleg", "lbleg"], 12),
    **dict.fromkeys(["rflleg", "rfho", "rfpa"], 13),
    **dict.fromkeys(["lflleg", "lfho", "lfpa"], 14),
    **dict.fromkeys(["rblleg", "rbho", "rbpa"], 15),
    **dict.fromkeys(["lblleg", "lbho", "lbpa"], 16),
}

# keypoint → (Pascal part name, rule)
_KP_RULES: dict[str, tuple[str, str]] = {
    "leye": ("leye", "centroid"),
    "reye": ("reye", "centroid"),
    "lear": ("lear", "centroid"),
    "rear": ("rear", "centroid"),
    "muzzle": ("muzzle", "centroid_bottom_mid"),
    "tail": ("tail", "top"),
    **{k: (k, "bottom") for k in ("rfuleg", "rbuleg", "lfuleg", "lbuleg")},
    **{k: (k, "bottom") for k in ("rflleg", "rblleg", "lflleg", "lblleg")},
}


def image_set_path(root: Path, cls: str) -> Path:
    """``image_sets/<cls>.txt`` or ``image-sets/<cls>.txt`` (first that exists)."""
    check_name(cls, "class")
    for sub in ("image_sets", "image-sets"):
        p = path_inside(root, sub, f"{cls}.txt")
        if p.is_file():
            return p
    raise DataError(f"{Path(root)}: no image list image_sets/{cls}.txt (nor image-sets/{cls}.txt)")


def _flat(x: object) -> list:
    """A MATLAB struct array / cell from loadmat → a flat Python list."""
    if isinstance(x, np.ndarray):
        return list(x.ravel())
    return [x]


def _field(s: object, name: str) -> object:
    try:
        return s[name]  # type: ignore[index]
    except (KeyError, ValueError, IndexError, TypeError):
        return None


def _string(x: object) -> str:
    while isinstance(x, np.ndarray) and x.size == 1 and x.dtype == object:
        x = x.ravel()[0]
    if isinstance(x, np.ndarray):
        return "".join(str(c) for c in x.ravel())
    return str(x)


def read_first_object(mat_path: Path) -> tuple[np.ndarray | None, list[tuple[str, np.ndarray]]]:
    """(object mask (H, W) bool or None, [(part name, part mask (H, W) bool)]) of object 0."""
    try:
        m = scipy.io.loadmat(str(mat_path))
    except FileNotFoundError:
        raise DataError(f"{mat_path}: part annotation not found") from None
    except Exception as exc:  # scipy raises MatReadError, ValueError, OSError, ...
        raise DataError(f"{mat_path}: not a readable .mat file ({exc})") from None
    try:
        anno = _flat(m["anno"])[0]
        objects = _flat(anno["objects"])
    except (KeyError, IndexError, ValueError, TypeError):
        raise DataError(f"{mat_path}: no anno.objects struct") from None
    if not objects:
        raise DataError(f"{mat_path}: annotation has no objects")
    obj = objects[0]
    obj_mask = _field(obj, "mask")
    obj_mask = None if obj_mask is None or np.size(obj_mask) == 0 else np.asarray(obj_mask) > 0
    parts = []
    parts_field = _field(obj, "parts")
    for part in _flat(parts_field) if parts_field is not None else []:
        name = _string(_field(part, "part_name"))
        pm = _field(part, "mask")
        if pm is None or np.size(pm) == 0:
            continue
        parts.append((name, np.asarray(pm) > 0))
    return obj_mask, parts


def part_label_mask(parts: list[tuple[str, np.ndarray]], shape: tuple[int, int]) -> np.ndarray:
    """(H, W) uint8 16-slot labels; a pixel takes the slot of the last part painted on it."""
    out = np.zeros(shape, dtype=np.uint8)
    for name, pm in parts:
        slot = PART_SLOTS.get(name)
        if slot is not None and pm.shape == shape:
            out[pm] = slot
    return out


def keypoints_from_parts(
    parts: list[tuple[str, np.ndarray]], zero_tail: bool = False
) -> np.ndarray:
    """(14, 3) pixel keypoints from part masks (docs/method.md §1.5 rules; pixel index coordinates).

    centroid = mean pixel; top/bottom = first pixel (row-major) of the min/max row; muzzle =
    midpoint of its centroid and bottom pixel. ``zero_tail`` reproduces LASSIE's tail vis = 0.
    """
    masks: dict[str, np.ndarray] = {}
    for name, pm in parts:
        masks[name] = masks[name] | pm if name in masks else pm.copy()
    kps = np.zeros((14, 3), dtype=np.float32)
    for k, kname in enumerate(KEYPOINT_NAMES):
        pname, rule = _KP_RULES[kname]
        pm = masks.get(pname)
        if pm is None or not pm.any():
            continue
        ys, xs = np.nonzero(pm)
        if rule == "centroid":
            x, y = xs.mean(), ys.mean()
        elif rule == "top":
            i = int(ys.argmin())
            x, y = xs[i], ys[i]
        elif rule == "bottom":
            i = int(ys.argmax())
            x, y = xs[i], ys[i]
        else:  # centroid_bottom_mid
            i = int(ys.argmax())
            x, y = (xs.mean() + xs[i]) / 2.0, (ys.mean() + ys[i]) / 2.0
        kps[k] = (x, y, 1.0)
    if zero_tail:
        kps[KEYPOINT_NAMES.index("tail")] = 0.0
    return kps


def load_pascal_part(
    root: str | Path,
    cls: str,
    crop_scale: float = 1.5,
    policy: Policy = "skip",
    zero_tail: bool = False,
    problems: Problems | None = None,
) -> list[ImageRecord]:
    """Load one Pascal-Part class (horse, cow, sheep): image, object mask, 16-slot part mask,
    automatic keypoints, crop box s·max(w, h) around all labelled part pixels."""
    root = Path(root)
    problems = problems or Problems(policy)
    list_path = image_set_path(root, cls)
    records: list[ImageRecord] = []
    seen: set[str] = set()
    for line_no, line in enumerate(list_path.read_text().splitlines(), start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        stem = Path(entry.split()[0]).stem
        where = f"{list_path}:{line_no} ({stem})"
        check_name(stem, "image", f"{list_path}:{line_no}")
        if stem in seen:
            problems.report(f"{where}: duplicate image in the list")
            continue
        seen.add(stem)
        img_path = path_inside(root, "JPEGImages", f"{stem}.jpg", where=where)
        mat_path = path_inside(root, "Annotations_Part", f"{stem}.mat", where=where)
        try:
            image = read_image(img_path)
            obj_mask, parts = read_first_object(mat_path)
            shape = image.shape[:2]
            bad = [n for n, pm in parts if pm.shape != shape]
            if bad or (obj_mask is not None and obj_mask.shape != shape):
                raise DataError(f"{mat_path}: mask size differs from the image {shape}")
            part_mask = part_label_mask(parts, shape)
            if not part_mask.any():
                raise DataError(f"{mat_path}: object 0 has no labelled parts")
            ys, xs = np.nonzero(part_mask)
            left, top = float(xs.min()), float(ys.min())
            box = square_box(left, top, float(xs.max()) - left, float(ys.max()) - top, crop_scale)
            kps = keypoints_from_parts(parts, zero_tail=zero_tail)
        except DataError as exc:
            problems.report(f"{where}: {exc}")
            continue
        records.append(
            ImageRecord(
                image_id=stem,
                cls=cls,
                dataset="pascal_part",
                set="clean",
                path=img_path,
                image=image,
                keypoints=kps,
                crop_box=box,
                crop_scale=float(crop_scale),
                mask=obj_mask if obj_mask is not None else part_mask > 0,
                part_mask=part_mask,
                meta={"annotation": str(mat_path)},
            )
        )
    return records
