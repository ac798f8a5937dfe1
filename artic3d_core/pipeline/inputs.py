"""Where a class's inputs live and whether they are there, checked without loading anything.

The command line calls :func:`check_run_inputs` before it imports torch or reads an image, so a
misspelt dataset, method or class, a missing dataset folder or a class with too few images is
reported in a second, as one or two lines that say what would fix it. The data stage
(:func:`artic3d_core.pipeline.stages.run_data`) repeats the checks that need the images
themselves (unreadable files, annotations).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from artic3d_core.data.config import DATASETS
from artic3d_core.errors import BadInputError

if TYPE_CHECKING:  # pragma: no cover
    from artic3d_core.config import Params

__all__ = [
    "FETCH",
    "check_choice",
    "check_class_inputs",
    "check_run_inputs",
    "data_sets",
    "dataset_root",
]

FETCH: dict[str, str] = {
    "synthetic": "generate it: `python -m flows.synth` (or `dvc repro synth`, `make demo`).",
    "lassie": (
        "download the LASSIE images and annotations (Dropbox links in the LASSIE README, "
        "https://github.com/google/lassie: images.zip, annotations.zip) and unpack them to "
        "{root}/images/<class>/ and {root}/annotations/<class>.csv."
    ),
    "e-lassie": (
        "download LASSIE (images.zip, annotations.zip) and E-LASSIE (images_occ.zip, "
        "annotations_occ.zip; links in the ARTIC3D README, https://github.com/chhankyao/artic3d) "
        "and unpack both to {root} (annotations/<class>_occ.csv next to <class>.csv)."
    ),
    "pascal_part": (
        "download VOC2010 JPEGImages (host.robots.ox.ac.uk/pascal/VOC/voc2010), the Pascal-Part "
        "annotations (Annotations_Part, roozbehm.info/pascal-parts) and LASSIE's image_sets "
        "(pascal-part.zip) to {root}/JPEGImages, {root}/Annotations_Part, {root}/image_sets."
    ),
    "folder": "put the images of each class in {root}/<class>/.",
}

_ROOT_KEY = {
    "synthetic": "synthetic_root",
    "lassie": "lassie_root",
    "e-lassie": "lassie_root",
    "pascal_part": "pascal_root",
    "folder": "folder_root",
}


def _did_you_mean(name: str, valid: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.5)
    return f"did you mean '{close[0]}'? " if close else ""


def check_choice(kind: str, name: str, valid: Iterable[str], option: str) -> None:
    """Raise :class:`BadInputError` unless ``name`` is one of ``valid``; the message suggests
    the closest valid name (difflib) and lists them all."""
    valid = sorted(valid)
    if name not in valid:
        raise BadInputError(
            f"unknown {kind} '{name}' ({option}); {_did_you_mean(name, valid)}"
            f"valid {kind}s: {', '.join(valid)}"
        )


def dataset_root(params: Params, dataset: str, project_root: str | Path = ".") -> Path:
    """The dataset's folder from ``data.*_root`` (relative paths: under ``project_root``)."""
    if dataset not in _ROOT_KEY:
        raise BadInputError(f"unknown dataset {dataset!r} (expected {sorted(_ROOT_KEY)})")
    root = Path(getattr(params.data, _ROOT_KEY[dataset]))
    return root if root.is_absolute() else Path(project_root) / root


def data_sets(params: Params, dataset: str) -> tuple[str, ...]:
    """The image sets read: ``pipeline.synthetic_sets`` on the synthetic benchmark; clean and
    occluded for ``e-lassie`` (and for ``lassie`` with ``data.e_lassie``); else clean."""
    if dataset == "synthetic":
        return tuple(params.pipeline.synthetic_sets)
    if dataset == "e-lassie" or (dataset == "lassie" and params.data.e_lassie):
        return ("clean", "occluded")
    return ("clean",)


def _image_files(folder: Path) -> list[Path]:
    from artic3d_core.data.image_io import IMAGE_SUFFIXES

    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _missing_class(cls: str, where: Path, existing: list[str], root: Path) -> BadInputError:
    if existing:
        have = f"{_did_you_mean(cls, existing)}classes under {root}: {', '.join(existing)}"
    else:
        have = f"{root} holds no class yet"
    return BadInputError(f"class '{cls}' not found: there is no {where}\n  {have}")


def check_class_inputs(params: Params, dataset: str, cls: str, root: Path) -> None:
    """Check, from file names only, that ``root`` holds class ``cls`` of ``dataset`` with at
    least ``data.min_images`` images (image folders; annotated datasets: the class's image
    folder and annotation file). Raises :class:`BadInputError` naming what is missing."""
    from artic3d_core.data.records import DataError
    from artic3d_core.data.safe_paths import check_name

    try:
        check_name(cls, "class")
    except DataError as exc:
        raise BadInputError(f"--cls {cls!r}: {exc}") from None
    if not root.is_dir():
        key = f"data.{_ROOT_KEY[dataset]}"
        raise BadInputError(
            f"dataset '{dataset}': {root} does not exist (set by {key}; change it with "
            f"--set {key}=PATH)\n  To get it: {FETCH[dataset].format(root=root)}"
        )
    need = params.data.min_images
    if dataset == "folder":
        sub = root / cls
        if sub.is_dir():
            folder = sub
        elif _image_files(root):  # the loader accepts a root that holds the images itself
            folder = root
        else:
            classes = sorted(p.name for p in root.iterdir() if p.is_dir())
            raise _missing_class(cls, f"{sub}/ folder", classes, root)
        n = len(_image_files(folder))
        if n < need:
            from artic3d_core.data.image_io import IMAGE_SUFFIXES

            what = "no images" if n == 0 else f"{n} image{'s' if n > 1 else ''}"
            raise BadInputError(
                f"{folder}/ has {what}; a class needs at least {need} (data.min_images)\n"
                f"  Add {need - n} or more images ({', '.join(IMAGE_SUFFIXES)}) to {folder}/"
            )
    elif dataset == "pascal_part":
        lists = [root / d / f"{cls}.txt" for d in ("image_sets", "image-sets")]
        if not any(p.is_file() for p in lists):
            classes = sorted(
                {p.stem for d in ("image_sets", "image-sets") if (root / d).is_dir()
                 for p in (root / d).glob("*.txt")}
            )  # fmt: skip
            raise _missing_class(cls, f"image list {lists[0]}", classes, root)
    else:  # lassie, e-lassie, synthetic: images/<cls>/ + annotations/<cls>.csv
        ann = root / "annotations"
        classes = (
            sorted(p.stem for p in ann.glob("*.csv") if not p.stem.endswith("_occ"))
            if ann.is_dir()
            else []
        )
        for where in (root / "images" / cls, ann / f"{cls}.csv"):
            if not where.exists():
                raise _missing_class(cls, str(where), classes, root)


def check_run_inputs(
    params: Params, dataset: str, cls: str, method: str, project_root: str | Path = "."
) -> Path:
    """Check the dataset and method names and the class's inputs (see
    :func:`check_class_inputs`); return the dataset's root. A synthetic benchmark that does not
    exist yet is not an error: ``artic3d run`` generates it."""
    from artic3d_core.pipeline.methods import METHODS

    check_choice("dataset", dataset, DATASETS, "--dataset")
    check_choice("method", method, METHODS, "--method")
    root = dataset_root(params, dataset, project_root)
    if not (dataset == "synthetic" and not root.exists()):
        check_class_inputs(params, dataset, cls, root)
    return root
