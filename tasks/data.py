"""Stage ``data``: load one class of a dataset, crop every image, store the crops.

Output ``runs/<dataset>/<class>/data/``: ``crops.npz`` (images (N,S,S,3) uint8, keypoints
(N,14,3) crop units, masks (N,S,S) bool and part_masks (N,S,S) uint8 when the dataset has
them) and ``index.json`` (image id, set, source path, crop box per image). An enabled dataset
whose files are absent fails with the instructions to fetch it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task

from tasks.artifacts import UnitResult, build_unit
from tasks.context import StageContext
from tasks.errors import BadInputError
from tasks.options import TASK_OPTIONS

SECTIONS = ("data",)
MODULES = ("artic3d_core.data", "tasks.data")

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


def dataset_root(ctx: StageContext) -> Path:
    d = ctx.params.data
    roots = {
        "synthetic": d.synthetic_root,
        "lassie": d.lassie_root,
        "e-lassie": d.lassie_root,
        "pascal_part": d.pascal_root,
        "folder": d.folder_root,
    }
    if ctx.cell.dataset not in roots:
        raise BadInputError(f"unknown dataset {ctx.cell.dataset!r} (expected {sorted(roots)})")
    return ctx.resolve(roots[ctx.cell.dataset])


def check_present(ctx: StageContext) -> Path:
    """The dataset root, or BadInputError with the fetch instructions when it is absent."""
    root = dataset_root(ctx)
    if not root.is_dir() or not any(root.iterdir()):
        how = FETCH.get(ctx.cell.dataset, "").format(root=root)
        raise BadInputError(
            f"dataset '{ctx.cell.dataset}' is enabled (pipeline.cells has {ctx.cell}) but "
            f"{root} is missing or empty.\n  To get it: {how}\n  Or remove the cell from "
            "pipeline.cells in params.yaml."
        )
    return root


def run_data(ctx: StageContext) -> UnitResult:
    out = ctx.layout.data_dir(ctx.cell)
    size = ctx.params.crop_size()
    sets = list(ctx.params.pipeline.synthetic_sets)
    key = ctx.key("data", SECTIONS, MODULES, per_method=False, size=size, sets=sets)

    def body(tmp: Path) -> dict[str, Any]:
        from artic3d_core.data.crop import crop_record
        from artic3d_core.data.loaders import load_class
        from artic3d_core.data.records import DataError
        from artic3d_core.data.store import save_crops

        root = check_present(ctx)
        d = ctx.params.data
        ds = ctx.cell.dataset
        sets = tuple(ctx.params.pipeline.synthetic_sets) if ds == "synthetic" else ("clean",)
        scale = {"pascal_part": d.pascal_crop_scale, "folder": d.folder_crop_scale}.get(
            ds, d.crop_scale
        )
        try:
            recs = load_class(
                ds, root, ctx.cell.cls, sets, scale, d.policy, d.min_images, d.pascal_zero_tail
            )
        except (DataError, FileNotFoundError) as exc:
            raise BadInputError(f"{ctx.cell}: {exc}") from None
        crops = [crop_record(r, size) for r in recs]
        return save_crops(tmp, crops, recs)

    return build_unit(
        "data", out, key, ctx.provenance(SECTIONS, MODULES), body, ctx.forced, not ctx.runs("data")
    )


@task(name="data", **TASK_OPTIONS)
def data_task(ctx: StageContext) -> UnitResult:
    return run_data(ctx)
