"""Typed ``data`` and ``synth`` sections of params.yaml (docs/method.md §1)."""

from typing import Literal

from pydantic import Field

from artic3d_core.strict import StrictModel

# The dataset names every loader and command line accepts (here, in a module without torch, so
# that the command line can check a name before it imports anything heavy).
DATASETS: tuple[str, ...] = ("lassie", "e-lassie", "pascal_part", "folder", "synthetic")


class DataConfig(StrictModel):
    """The ``data`` section of params.yaml: where datasets live and how they are read."""

    lassie_root: str = "data/raw/lassie"
    pascal_root: str = "data/raw/pascal_part"
    folder_root: str = "data/raw/folder"
    synthetic_root: str = "data/synthetic/demo"
    # E-LASSIE: also read annotations/<cls>_occ.csv, rows after the clean ones (reference: False).
    e_lassie: bool = False
    # Square crop side = s·max(w, h) of the keypoint box: 2.0 ARTIC3D, 1.5 LASSIE / Hi-LASSIE.
    crop_scale: float = Field(2.0, gt=0)
    # Mask-derived boxes (Pascal-Part part pixels, image-folder foreground): 1.5 in the reference.
    pascal_crop_scale: float = Field(1.5, gt=0)
    folder_crop_scale: float = Field(1.5, gt=0)
    # LASSIE forced the Pascal-Part tail keypoint invisible; Hi-LASSIE / ARTIC3D do not.
    pascal_zero_tail: bool = False
    # Bad input: skip (log the reason, drop the image/keypoint) or stop (raise).
    policy: Literal["skip", "stop"] = "skip"
    min_images: int = Field(2, ge=1)


class SynthConfig(StrictModel):
    """The ``synth`` section of params.yaml: the synthetic benchmark generator.

    ``classes`` / ``n_clean`` / ``n_occluded`` / ``image_size`` = null take the preset's value
    (full: 6 classes × 30 + 15 at 256², side-ish views; wide: 8 classes × 30 + 15 at 256², views
    all around; demo: zebra + kangaroo × 8 + 4 at 256²). ``split`` train / dev / test draws the
    images from that split's seed stream (null: the split-free stream).
    """

    preset: Literal["demo", "full", "wide"] = "demo"
    split: Literal["train", "dev", "test"] | None = None
    out_dir: str = "data/synthetic/demo"
    seed: int = 0
    classes: list[str] | None = None
    n_clean: int | None = Field(None, ge=0)
    n_occluded: int | None = Field(None, ge=0)
    image_size: int | None = Field(None, ge=32)
    supersample: int = Field(2, ge=1, le=4)
    contact_sheet: bool = True
