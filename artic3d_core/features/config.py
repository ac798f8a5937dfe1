"""Typed ``features``-section of params.yaml: DINO features, clustering and masks (docs/method.md §2)."""

from typing import Literal

from pydantic import Field

from artic3d_core.strict import StrictModel

Backend = Literal["dino", "offline", "oracle"]


class CRFConfig(StrictModel):
    """Dense-CRF refinement (docs/method.md §2.3 step 5). Mean-field with the approximation of
    :mod:`artic3d_core.features.crf` (no compiler-free pydensecrf wheel exists for py3.11)."""

    enabled: bool = True
    iterations: int = Field(5, ge=0)
    gauss_sxy: float = Field(3.0, gt=0)  # px at the output resolution
    gauss_compat: float = 50.0
    bilateral_sxy: float = Field(20.0, gt=0)  # px at the output resolution
    bilateral_srgb: float = Field(15.0, gt=0)  # colour std on the 0..255 scale (Hi-LASSIE: 10)
    bilateral_compat: float = 15.0
    # "fixed": the [0,1] image ×255 (paper intent); "reference": the code's defect of
    # "un-normalising" an already-[0,1] image with the ImageNet mean/std before ×255.
    color_mode: Literal["fixed", "reference"] = "fixed"
    grid: int = Field(128, ge=16)  # the mean field runs on a grid×grid downsampled lattice
    window: int = Field(7, ge=1)  # bilateral window half-width in grid cells (dilated)


class OfflineConfig(StrictModel):
    """The offline, weight-free feature backend (:mod:`artic3d_core.features.offline`):
    positive–unlabelled co-segmentation of crops, per-image background models, GrabCut."""

    work_size: int = Field(256, ge=64)  # part descriptors and part clusters at this resolution
    # foreground segmentation (descriptors, classifiers, first estimate) at this resolution: thin
    # parts (a tail, a leg) survive at 384² that a 256² grid blurs into the background
    segment_size: int = Field(384, ge=64)  # (capped at the crops' size)
    refine_size: int = Field(512, ge=64)  # per-image GrabCut resolution (≤ the input size)
    crop_scale: float = Field(2.0, gt=1)  # crop side / animal extent (docs/method.md §1.4)
    box_margin: float = Field(0.2, ge=0)  # central box half-width = (1 + margin) / (2·crop_scale)
    border: float = Field(0.08, gt=0, lt=0.5)  # outer ring (fraction of side) seeded as background
    # True: segmentation descriptors of a padded crop are computed with the padding mirrored
    # from the photo, so the padding's edge does not look like a boundary. False: the zero
    # padding enters the filters
    fill_padding: bool = True
    pu_rounds: int = Field(2, ge=1)  # class-wide positive–unlabelled classifier rounds
    pu_samples: int = Field(40000, ge=100)  # training pixels per class (each of pos / neg)
    pu_trees: int = Field(60, ge=1)  # boosting iterations of the classifier
    core_threshold: float = Field(0.8, gt=0.5, lt=1)  # confident foreground / background score
    n_fg_clusters: int = Field(12, ge=1)  # class-wide foreground appearance model
    n_bg_clusters: int = Field(12, ge=1)  # per-image background appearance model
    margin_gain: float = Field(2.0, gt=0)  # logistic gain of the appearance-margin probability
    fg_threshold: float = Field(0.5, gt=0, lt=1)  # on class score × appearance probability
    sample_per_image: int = Field(4000, ge=100)  # pixels per image for fitting k-means
    grabcut_iters: int = Field(4, ge=0)  # per-image colour graph-cut refinement (0 = off)
    grabcut_band: float = Field(6.0, ge=1)  # px at 256²: uncertain band around the estimate
    # GrabCut's colour models work on (L, g·a, g·b) in CIE-Lab with this chroma gain g: a grey
    # rock and a grey elephant differ in tint, not in brightness. 0 = RGB
    grabcut_chroma_gain: float = Field(3.0, ge=0)
    # holes smaller than this × the mask area are filled (segmentation errors); larger ones are
    # background the animal encloses (between crossing legs). 1 fills every hole
    hole_fraction: float = Field(0.02, ge=0, le=1)
    opening: float = Field(0.006, ge=0)  # morphological opening diameter (fraction of side)
    # re-score from the typical masks, GrabCut again; from the second round on the classifier
    # also sees each pixel's chroma relative to its own image's mask (``self_train_relative``)
    self_train_rounds: int = Field(3, ge=0)
    # rounds ≥ 2 add (a, b) minus the median (a, b) of the image's previous mask as features: one
    # animal's tint is uniform, while the class's tints overlap its background (grey rocks,
    # cream ground). False: every round sees the same features
    self_train_relative: bool = True
    self_train_fraction: float = Field(0.5, gt=0, le=1)  # …the most typical fraction of them
    # self-trained scores above this are definite foreground in that round's GrabCut (1 = off)
    self_train_confident: float = Field(0.99, gt=0.5, le=1)
    # last round: an image whose classifier is nowhere confident (pixels > 0.9 fewer than this
    # × the pixels above its own Otsu split) is the class model failing on one instance; its
    # scores are rescaled so that its own split lies at fg_threshold (0 = off)
    self_train_rescue: float = Field(0.1, ge=0, le=1)
    # n independent co-segmentations (seeds seed … seed + n − 1), majority-voted per pixel: a
    # class's mean IoU varies by up to 0.08 between seeds (docs/method.md §2.1)
    ensemble: int = Field(1, ge=1)
    # …and thin parts (narrower than this × side) that only some runs found and that touch the
    # voted body are added back: a tail one run kept is otherwise voted away (0 = plain vote)
    ensemble_keep_thin: float = Field(0.0, ge=0, lt=0.5)
    # per-image boundary-connectivity saliency (features/background_connectivity.py) for the
    # image folder's photos ("auto"; not the annotated datasets' crops), every crop ("on") or
    # none ("off"): salient pixels of the box (≥ saliency_seed) / non-salient pixels anywhere
    # (< 1 − saliency_seed) seed the class classifier, an image the class model misses starts
    # from its salient object (saliency_fallback), and its foreground probability becomes
    # prob^(1 − w) · saliency^w (w = saliency_weight; 0 = not combined)
    saliency: Literal["auto", "on", "off"] = "auto"
    saliency_weight: float = Field(0.5, ge=0, lt=1)
    saliency_seed: float = Field(0.6, gt=0.5, lt=1)
    saliency_segments: int = Field(250, ge=16)  # SLIC superpixels per photo
    # an image whose class-model estimate covers less than this fraction of its salient object
    # starts from that object instead (an instance unlike its class); 0 = never
    saliency_fallback: float = Field(0.25, ge=0, le=1)
    position_weight: float = Field(4.0, ge=0)  # weight of mask-relative position in part features
    # part positions in each animal's own left/right facing frame (features/facing.py); False:
    # image frame (clusters then mean "left end", and half the azimuths start mirrored)
    facing_sync: bool = True
    facing_colour_weight: float = Field(0.5, ge=0)  # Lab channels vs the mask in the facing match
    kmeans_niter: int = Field(40, ge=1)  # the offline models refit often: cheaper k-means
    kmeans_nredo: int = Field(2, ge=1)


class FeaturesConfig(StrictModel):
    """The ``features`` section of params.yaml."""

    backend: Backend = "offline"
    hr_pass: bool = True  # 1024² crop as four 512² quadrants → 128² keys (docs/method.md §2.2)
    hr_size: int = Field(1024, ge=16)
    lr_size: int = Field(512, ge=16)  # DINO LR input; 512/8 = 64 feature grid
    mask_size: int = Field(512, ge=16)  # output masks (render size S)
    feat_hw: int = Field(64, ge=4)
    patch: int = Field(8, ge=1)
    saliency_heads: list[int] = Field(default_factory=lambda: [0, 2, 4, 5])
    batch_size: int = Field(8, ge=1)
    amp: Literal["fp16", "bf16", "fp32"] = "fp16"  # GPU autocast only; CPU is always fp32
    rough_fg_threshold: float = 0.03  # rough-foreground saliency threshold (docs/method.md §2.2)
    salient_threshold: float = 0.1  # mean salient key: saliency threshold (docs/method.md §2.3)
    fg_dist_threshold: float = 0.75  # normalised distance splitting FG/BG pools (Hi-LASSIE 0.8)
    n_clusters: int = Field(8, ge=1)
    kmeans_niter: int = Field(300, ge=1)
    kmeans_nredo: int = Field(10, ge=1)
    kmeans_max_points: int = Field(200_000, ge=1000)  # subsample bigger pools (seeded)
    pca_dim: int = Field(20, ge=1)
    pca_niter: int = Field(3, ge=0)
    seed: int = 0
    crf: CRFConfig = Field(default_factory=CRFConfig)
    offline: OfflineConfig = Field(default_factory=OfflineConfig)
