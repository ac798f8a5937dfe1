"""One entry point for every dataset: ``load_class(dataset, root, cls, ...)``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from artic3d_core.data.config import DATASETS, DataConfig
from artic3d_core.data.folder import SaliencyFn, load_folder
from artic3d_core.data.lassie import load_lassie
from artic3d_core.data.pascal_part import load_pascal_part
from artic3d_core.data.policy import Policy, Problems
from artic3d_core.data.records import DataError, ImageRecord, SetName
from artic3d_core.data.safe_paths import check_name

__all__ = ["DATASETS", "load_class", "load_class_from_config"]


def load_class(
    dataset: str,
    root: str | Path,
    cls: str,
    sets: Sequence[SetName] = ("clean",),
    crop_scale: float = 2.0,
    policy: Policy = "skip",
    min_images: int = 2,
    zero_tail: bool = False,
    problems: Problems | None = None,
    saliency: SaliencyFn | None = None,
) -> list[ImageRecord]:
    """Load the usable images of one class.

    dataset: ``lassie`` (``sets`` picks clean and/or occluded), ``e-lassie`` (= lassie with both
    sets), ``pascal_part``, ``folder`` or ``synthetic`` (LASSIE format + ground-truth masks).
    Raises DataError when fewer than ``min_images`` images are usable (the message lists why),
    and for a class name or an annotation id that is not a plain file name (whatever the policy:
    it would name a file outside ``root``). ``saliency``: whole-photo saliency that places the
    image folder's crops (:func:`artic3d_core.data.folder.load_folder`); other datasets ignore it.
    """
    check_name(cls, "class")
    problems = problems or Problems(policy)
    root = Path(root)
    if dataset == "lassie":
        recs = load_lassie(root, cls, sets, crop_scale, problems=problems)
    elif dataset == "e-lassie":
        recs = load_lassie(
            root, cls, ("clean", "occluded"), crop_scale, problems=problems, dataset="e-lassie"
        )
    elif dataset == "synthetic":
        from artic3d_core.data.synthetic.ground_truth import attach_ground_truth

        recs = load_lassie(root, cls, sets, crop_scale, problems=problems, dataset="synthetic")
        attach_ground_truth(root, cls, recs)
    elif dataset == "pascal_part":
        recs = load_pascal_part(root, cls, crop_scale, zero_tail=zero_tail, problems=problems)
    elif dataset == "folder":
        recs = load_folder(root, cls, crop_scale, problems=problems, saliency=saliency)
    else:
        raise DataError(f"unknown dataset {dataset!r} (expected one of {', '.join(DATASETS)})")
    if len(recs) < min_images:
        why = "; ".join(problems.items[-5:]) or "no entries"
        raise DataError(
            f"{root}: class {cls!r} of {dataset} has {len(recs)} usable image(s), need at least "
            f"{min_images} ({why})"
        )
    return recs


def load_class_from_config(dataset: str, cls: str, cfg: DataConfig) -> list[ImageRecord]:
    """``load_class`` with roots, sets, crop scales and policy from the ``data`` section."""
    roots = {
        "lassie": cfg.lassie_root,
        "e-lassie": cfg.lassie_root,
        "pascal_part": cfg.pascal_root,
        "folder": cfg.folder_root,
        "synthetic": cfg.synthetic_root,
    }
    if dataset not in roots:
        raise DataError(f"unknown dataset {dataset!r} (expected one of {', '.join(DATASETS)})")
    scale = {"pascal_part": cfg.pascal_crop_scale, "folder": cfg.folder_crop_scale}.get(
        dataset, cfg.crop_scale
    )
    sets: tuple[SetName, ...] = ("clean", "occluded") if cfg.e_lassie else ("clean",)
    return load_class(
        dataset, roots[dataset], cls, sets, scale, cfg.policy, cfg.min_images, cfg.pascal_zero_tail
    )
