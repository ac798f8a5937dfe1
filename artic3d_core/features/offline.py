"""The offline feature backend: weight-free co-segmentation from the RGB images only.

No ground truth is read. It stands in for DINO where no weights exist (docs/method.md §2). The
inputs are *crops* made by the crop protocol (docs/method.md §1.4): a square of side s·max(w, h)
centred on the animal (s = ``crop_scale``, 2.0 by default), zero-padded where it leaves the photo.
That geometry is the only prior used; it follows each crop's own scale when the caller gives
it (``crops``, :class:`~artic3d_core.data.crop.CropInfo`; a whole-photo crop, scale 1, also
seeds background on the photo's own border band, :func:`crop_geometry`):

1. Per-pixel descriptors at ``segment_size``² (the part clusters of step 6 use their own at
   ``work_size``²): CIE-Lab colour at two blur scales, gradient energy, orientation energy and
   local contrast of L, standardised over the class. The zero padding (the part of the crop
   outside the photo) is found from the image and is background; before filtering it is
   filled with the photo mirrored at its edges (``fill_padding``), so that the ground next to
   the photo's edge is described like the same ground in the box.
2. Class-wide positive–unlabelled learning: pixels of the central box (half-width
   ``(1 + box_margin) / (2 s)``) are "unlabelled" (animal + clutter), pixels of the outer ring
   (``border``) of every crop are background. A gradient-boosted classifier of descriptors
   (no position) separates them; the animal, which never lies in the ring, scores high, while
   clutter that recurs in the ring scores lower. ``pu_rounds`` times the positives are then
   re-drawn from the confident core and the negatives extended with confident background.
3. Per image: the class-wide foreground appearance (k-means of confident cores of all images;
   the coat recurs) against the image's *own* background appearance (k-means of its ring,
   the outside of the box and its low-score pixels) → a margin (nearest-centre distances).
4. Per image at ``refine_size``: GrabCut (colour GMMs + graph cut) initialised from that
   estimate (definite background beyond a dilated band and in the padding, definite foreground
   in the confident eroded core; its colour models see CIE-Lab with the chroma amplified,
   ``grabcut_chroma_gain``), then the component covering the centre (or the largest),
   its small holes filled (below ``hole_fraction`` of its area: the ground between crossing
   legs stays background), a morphological opening scaled to the image.
5. Self-training (``self_train_rounds``): the most typical half of the masks (their
   facing-aligned silhouettes agree most with the others') label positives (eroded masks) and
   negatives (outside the dilated masks, and outside the central box everywhere); a classifier
   of the descriptors + chroma trained on them re-scores every image, then GrabCut again. A
   leak in one image is corrected by what the typical images say its colour is. In that
   GrabCut, pixels the self-trained classifier scores above ``self_train_confident`` are
   definite foreground: pale thin parts (a tiger's belly) otherwise lose to the background's
   colour model. A new mask smaller than a quarter of the previous one is discarded (it
   lost the animal). From the second round on (``self_train_relative``) the classifier also
   sees each pixel's chroma minus the median chroma of its own image's previous mask: one
   animal's tint is uniform, but the class's tints overlap its backgrounds (an elephant as
   grey as the rocks of other images, a giraffe's legs as cream as some ground), while within
   one image the animal and the background differ in tint. In the last round, an image the
   classifier is nowhere confident on (an instance unlike the typical ones) has its scores
   rescaled to its own two-class split (``self_train_rescue``, :func:`rescale_unrecognised`).
6. Parts: k-means (k = n_clusters) of foreground descriptors plus mask-relative position,
   in each animal's own facing frame (:mod:`.facing`).
7. Patch "keys" (64²) are the descriptors pooled per patch; "saliency" is the pooled
   foreground probability. Both go through the same PCA as DINO keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from artic3d_core.data.crop import CropInfo
from artic3d_core.features.config import FeaturesConfig, OfflineConfig
from artic3d_core.features.kmeans import kmeans, sq_dists

N_DESC = 9


@dataclass
class OfflineFeatures:
    """desc: (B, 9, s, s) standardised per-pixel descriptors at work size s;
    fg: (B, s, s) bool foreground; fg_prob: (B, s, s) float in [0,1];
    fg_full: (B, r, r) bool foreground at the refinement size r."""

    desc: np.ndarray
    fg: np.ndarray
    fg_prob: np.ndarray
    fg_full: np.ndarray


def pixel_descriptors(images: np.ndarray) -> np.ndarray:
    """(B, s, s, 3) float32 RGB [0,1] → (B, 9, s, s) raw descriptors (not standardised)."""
    out = []
    for img in images:
        lab = cv2.cvtColor(np.ascontiguousarray(img, dtype=np.float32), cv2.COLOR_RGB2LAB)
        c1 = cv2.GaussianBlur(lab, (0, 0), 1.0)
        c2 = cv2.GaussianBlur(lab, (0, 0), 4.0)
        L = lab[..., 0]
        gx = cv2.Sobel(L, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(L, cv2.CV_32F, 0, 1, ksize=3)
        g = np.sqrt(gx**2 + gy**2)
        t1 = cv2.GaussianBlur(g, (0, 0), 2.0)
        t2 = cv2.GaussianBlur(g, (0, 0), 6.0)
        m = cv2.GaussianBlur(L, (0, 0), 3.0)
        sd = np.sqrt(np.maximum(cv2.GaussianBlur(L * L, (0, 0), 3.0) - m * m, 0))
        d = np.concatenate([c1, c2, t1[..., None], t2[..., None], sd[..., None]], -1)
        out.append(d.transpose(2, 0, 1))
    return np.stack(out).astype(np.float32)


def segmentation_descriptors(img: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """(s, s, 3) float32 RGB [0,1] → (s, s, 13) fine/mid-scale descriptors for foreground
    segmentation: Lab at σ 0.7 and 2, gradient energy at σ 1.5 and 3, orientation energy
    (2 channels) at σ 2, local std of L at σ 2 and 4 (σ in px at 256², × ``scale``)."""
    lab = cv2.cvtColor(np.ascontiguousarray(img, dtype=np.float32), cv2.COLOR_RGB2LAB)
    out = [cv2.GaussianBlur(lab, (0, 0), sg * scale) for sg in (0.7, 2.0)]
    L = cv2.GaussianBlur(lab[..., 0], (0, 0), 1.0 * scale)
    gx = cv2.Sobel(L, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(L, cv2.CV_32F, 0, 1)
    g = np.sqrt(gx**2 + gy**2)
    out += [cv2.GaussianBlur(g, (0, 0), sg * scale)[..., None] for sg in (1.5, 3.0)]
    out += [
        cv2.GaussianBlur(gx * gx - gy * gy, (0, 0), 2.0 * scale)[..., None],
        cv2.GaussianBlur(2 * gx * gy, (0, 0), 2.0 * scale)[..., None],
    ]
    for sg in (2.0, 4.0):
        m = cv2.GaussianBlur(lab[..., 0], (0, 0), sg * scale)
        v = cv2.GaussianBlur(lab[..., 0] ** 2, (0, 0), sg * scale) - m * m
        out.append(np.sqrt(np.maximum(v, 0))[..., None])
    return np.concatenate(out, -1).astype(np.float32)


def _standardise(desc: np.ndarray) -> np.ndarray:
    mu = desc.mean((0, 2, 3), keepdims=True)
    sd = desc.std((0, 2, 3), keepdims=True) + 1e-6
    return (desc - mu) / sd


def _main_object(fg: np.ndarray, box: np.ndarray, hole_fraction: float = 1.0) -> np.ndarray:
    """The connected component with most pixels inside ``box`` (a (s, s) bool region; ties
    and no overlap → the largest), its holes smaller than ``hole_fraction`` × its area filled.

    Small holes are segmentation errors (a dark spot scored as background); large ones are
    background the animal really encloses (the ground between crossing legs), and filling
    those costs mask IoU."""
    lab, n = ndimage.label(fg)
    if n == 0:
        return fg
    score = ndimage.sum(box & fg, lab, index=np.arange(1, n + 1)) * fg.size + ndimage.sum(
        fg, lab, index=np.arange(1, n + 1)
    )
    obj = lab == 1 + int(np.argmax(score))
    holes = ndimage.binary_fill_holes(obj) & ~obj
    hl, hn = ndimage.label(holes)
    if hn == 0:
        return obj
    areas = ndimage.sum(holes, hl, index=np.arange(1, hn + 1))
    small = np.r_[False, areas < hole_fraction * obj.sum()]
    return obj | small[hl]


def _content_box(rgb: np.ndarray) -> tuple[int, int, int, int] | None:
    """(s, s, 3) → (row0, row1, col0, col1), end-exclusive: the photo's rectangle inside a crop
    (rows/columns that are all black from the crop's edge inwards are padding); None if all
    black."""
    lit = rgb.max(-1) > 1.5 / 255
    rows = np.flatnonzero(lit.any(1))
    cols = np.flatnonzero(lit.any(0))
    if not (rows.size and cols.size):
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def content_mask(rgb: np.ndarray) -> np.ndarray:
    """(s, s, 3) → (s, s) bool: the photo inside a crop, i.e. not the rectangular zero padding
    the crop protocol adds where the box leaves the image (:func:`_content_box`)."""
    out = np.zeros(rgb.shape[:2], bool)
    box = _content_box(rgb)
    if box is not None:
        r0, r1, c0, c1 = box
        out[r0:r1, c0:c1] = True
    return out


def reflect_fill(rgb: np.ndarray) -> np.ndarray:
    """(s, s, 3) crop → the same crop with its zero padding (:func:`content_mask`) replaced by
    the photo mirrored at the photo's edges (reflect-101, repeated where the padding is wider
    than the photo). Local filters (blurs, gradients, local contrast) near the photo's edge
    then see the photo's texture instead of a black step."""
    box = _content_box(rgb)
    s0, s1 = rgb.shape[:2]
    if box is None or box == (0, s0, 0, s1):
        return rgb
    r0, r1, c0, c1 = box
    photo = np.ascontiguousarray(rgb[r0:r1, c0:c1])
    return cv2.copyMakeBorder(photo, r0, s0 - r1, c0, s1 - c1, cv2.BORDER_REFLECT_101)


def _geometry(
    s: int, cfg: OfflineConfig, widen: float = 1.0, scale: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(box, ring) bool (s, s): the central box expected to hold the animal (its margin
    × ``widen``) and the outer ring expected to be background (crop protocol geometry) of a
    crop made with ``scale`` (default ``cfg.crop_scale``)."""
    yy, xx = (np.mgrid[0:s, 0:s] + 0.5) / s - 0.5
    half = min(0.5 * (1 + widen * cfg.box_margin) / (scale or cfg.crop_scale), 0.45)
    box = (np.abs(yy) < half) & (np.abs(xx) < half)
    ring = np.maximum(np.abs(yy), np.abs(xx)) > 0.5 - cfg.border
    return box, ring


def _photo_ring(rgb: np.ndarray, border: float) -> np.ndarray:
    """(s, s) bool: the outer band (``border`` × s wide) of the photo inside a crop
    (:func:`_content_box`), i.e. the photo's own border where padding surrounds it."""
    s = rgb.shape[0]
    out = np.zeros((s, s), bool)
    box = _content_box(rgb)
    if box is None:
        return out
    r0, r1, c0, c1 = box
    b = max(1, round(border * s))
    out[r0:r1, c0:c1] = True
    out[r0 + b : r1 - b, c0 + b : c1 - b] = False
    return out


def crop_geometry(
    rgb: np.ndarray, cfg: OfflineConfig, scale: float | None = None, widen: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """(box, ring) bool (s, s) of one (s, s, 3) crop made with crop ``scale`` (None: the
    configured one). A crop with scale ≤ 1 is the whole photo padded to a square (no box was
    found for the animal): its ring is then the photo's own border band as well, since the
    crop's ring lies mostly in the padding."""
    box, ring = _geometry(rgb.shape[0], cfg, widen, scale)
    if scale is not None and scale <= 1.0:
        ring = ring | _photo_ring(rgb, cfg.border)
    return box, ring


def _pu_scores(
    flat: np.ndarray, pos: np.ndarray, neg: np.ndarray, cfg: OfflineConfig, seed: int
) -> np.ndarray:
    """Gradient-boosted P(positive | descriptor) for every row of ``flat`` (N, D);
    pos/neg: (N,) bool training masks (subsampled to ``pu_samples`` each, seeded)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(seed)

    def draw(m: np.ndarray) -> np.ndarray:
        idx = np.flatnonzero(m)
        return idx if idx.size <= cfg.pu_samples else rng.choice(idx, cfg.pu_samples, False)

    ip, ineg = draw(pos), draw(neg)
    if ip.size == 0 or ineg.size == 0:
        raise ValueError("offline features: no foreground or no background samples")
    X = np.concatenate([flat[ip], flat[ineg]])
    y = np.r_[np.ones(ip.size), np.zeros(ineg.size)]
    w = np.r_[np.full(ip.size, 0.5 / ip.size), np.full(ineg.size, 0.5 / ineg.size)] * y.size
    clf = HistGradientBoostingClassifier(
        max_iter=cfg.pu_trees,
        max_leaf_nodes=31,
        learning_rate=0.2,
        early_stopping=False,
        random_state=seed % (2**31),
    )
    clf.fit(X, y, sample_weight=w)
    out = np.empty(flat.shape[0], np.float32)
    step = 1 << 18
    for i in range(0, flat.shape[0], step):
        out[i : i + step] = clf.predict_proba(flat[i : i + step])[:, 1]
    return out


def _grabcut(
    rgb: np.ndarray, prob: np.ndarray, fg: np.ndarray, cfg: OfflineConfig, confident: float = 1.0
) -> np.ndarray:
    """Per-image GrabCut at the resolution of ``rgb`` (r, r, 3), initialised from a work-size
    estimate: fg (s, s) bool, prob (s, s) in [0,1]; estimate pixels scored above ``confident``
    are definite foreground (1: only the eroded core). Returns (r, r) bool."""
    r = rgb.shape[0]
    f = r / 256  # grabcut_band is in px at 256²
    fg_r = cv2.resize(fg.astype(np.float32), (r, r), interpolation=cv2.INTER_LINEAR) > 0.5
    if cfg.grabcut_iters <= 0 or not fg_r.any():
        return fg_r
    p_r = cv2.resize(prob.astype(np.float32), (r, r), interpolation=cv2.INTER_LINEAR)
    disk = lambda d: cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (int(d) | 1,) * 2)  # noqa: E731
    band = cv2.dilate(fg_r.astype(np.uint8), disk(cfg.grabcut_band * f)) > 0
    core = cv2.erode(fg_r.astype(np.uint8), disk(2 * cfg.grabcut_band * f)) > 0
    mask = np.full((r, r), cv2.GC_BGD, np.uint8)
    mask[band] = cv2.GC_PR_BGD
    mask[fg_r] = cv2.GC_PR_FGD
    mask[core & (p_r > cfg.core_threshold)] = cv2.GC_FGD
    if confident < 1:
        mask[fg_r & (p_r > confident)] = cv2.GC_FGD
    mask[~content_mask(rgb)] = cv2.GC_BGD
    img = grabcut_image(rgb, cfg.grabcut_chroma_gain)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    # GrabCut seeds its colour models from OpenCV's (thread-local) global RNG: fix it, or two
    # calls on the same input differ (and so do sequential vs distributed runs)
    cv2.setRNGSeed(0)
    try:
        cv2.grabCut(img, mask, None, bgd, fgd, cfg.grabcut_iters, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # a degenerate model (e.g. one colour): keep the estimate
        return fg_r
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


def grabcut_image(rgb: np.ndarray, chroma_gain: float) -> np.ndarray:
    """(r, r, 3) RGB in [0,1] → (r, r, 3) uint8 that GrabCut models: CIE-Lab as
    (2.55·L, 128 + g·a, 128 + g·b) with g = ``chroma_gain`` (clipped to 0…255), or BGR for g = 0.
    With g > 1 the colour models separate tints that brightness alone does not."""
    if chroma_gain <= 0:
        return np.ascontiguousarray((rgb * 255).round().astype(np.uint8)[..., ::-1])
    lab = cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2LAB)
    out = np.stack(
        [2.55 * lab[..., 0], 128 + chroma_gain * lab[..., 1], 128 + chroma_gain * lab[..., 2]], -1
    )
    return np.ascontiguousarray(out.clip(0, 255).round().astype(np.uint8))


def relative_chroma(ab: np.ndarray, fg: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """(B, s, s, 2) Lab chroma, (B, s, s) bool masks → (B, s, s, 2): each image's chroma minus
    the median chroma of its own mask (of ``fallback``, (s, s) or per image (B, s, s) bool,
    where the mask is empty)."""
    out = np.empty_like(ab)
    for i in range(ab.shape[0]):
        ref = fg[i] if fg[i].any() else (fallback[i] if fallback.ndim == 3 else fallback)
        out[i] = ab[i] - np.median(ab[i][ref], 0)
    return out


CONFIDENT = 0.9  # a foreground probability the estimate trusts (:func:`_estimate`)


def _estimate(
    prob: np.ndarray, box: np.ndarray, threshold: float, hole_fraction: float = 1.0
) -> np.ndarray:
    """(s, s) probability → the foreground component with most confident (> ``CONFIDENT``)
    pixels in the box: clutter that is half accepted (sky, ground) is rarely as confident as the
    animal."""
    return _main_object(prob > threshold, box & (prob > CONFIDENT), hole_fraction)


def rescale_unrecognised(prob: np.ndarray, threshold: float, rescue: float) -> np.ndarray:
    """(s, s) foreground probability of one image → the same, or, when the classifier is
    nowhere confident on it (pixels > ``CONFIDENT`` fewer than ``rescue`` × the pixels above the
    image's own Otsu split t, and t < ``threshold``), ``prob · threshold / t`` clipped to [0, 1]:
    the pixels on the background side of the split stay below ``threshold``.

    A class model fitted to the typical instances scores an unusual one (a white horse among
    brown ones) low everywhere, yet still higher on the animal than on its own background: the
    image's own two-class split then says where the animal is, and the rescaling puts that
    split at the global threshold. Images the classifier recognises are returned unchanged."""
    if rescue <= 0:
        return prob
    t, _ = cv2.threshold(
        (np.clip(prob, 0, 1) * 255).astype(np.uint8), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU
    )
    t = (t + 1) / 255  # Otsu's class 0 is the 8-bit levels ≤ t, i.e. prob < (t + 1) / 255
    if t >= threshold or (prob > CONFIDENT).sum() >= rescue * (prob > t).sum():
        return prob
    return np.clip(prob * (threshold / t), 0, 1).astype(prob.dtype)


def _refine(
    rgb: np.ndarray,
    prob: np.ndarray,
    est: np.ndarray,
    cfg: OfflineConfig,
    confident: float = 1.0,
    scale: float | None = None,
) -> np.ndarray:
    """GrabCut at the resolution of ``rgb`` (r, r, 3) from a work-size estimate, then the
    opening and the main object in the central box of a crop made with ``scale``. Returns
    (r, r) bool."""
    box_r, _ = _geometry(rgb.shape[0], cfg, scale=scale)
    return _main_object(
        _opening(_grabcut(rgb, prob, est, cfg, confident), cfg.opening), box_r, cfg.hole_fraction
    )


def _opening(fg: np.ndarray, frac: float) -> np.ndarray:
    k = round(frac * fg.shape[0])
    if k < 2:
        return fg
    el = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k | 1, k | 1))
    return cv2.morphologyEx(fg.astype(np.uint8), cv2.MORPH_OPEN, el) > 0


def offline_foreground(
    images: torch.Tensor,
    cfg: OfflineConfig,
    seed: int,
    segment: bool = True,
    crops: Sequence[CropInfo] | None = None,
) -> OfflineFeatures:
    """Co-segmentation of one class's crops. images: (B, 3, H, W) in [0,1] → foreground at
    the work size and at ``min(refine_size, H)``. ``segment=False``: descriptors only (the
    masks are all-False; the ``oracle`` backend brings its own).

    ``cfg.ensemble`` = n > 1: n co-segmentations with seeds ``seed … seed + n − 1`` (the
    sampling of the classifiers' training pixels and the k-means starts differ), majority-voted
    per pixel at the refinement size (ties → background); ``fg_prob`` is their mean. With
    ``cfg.ensemble_keep_thin`` > 0, thin parts that only some runs found (a tail) are added
    back (:func:`keep_thin_parts`).

    ``crops``: how each image was cropped (:class:`CropInfo`). Its scale places the crop's
    central box and background ring (a scale not recorded: ``cfg.crop_scale``); its box source
    decides, with ``cfg.saliency`` "auto", whether the per-image saliency prior applies
    (:func:`saliency_images`). None: nothing recorded for any image."""
    n = cfg.ensemble if segment else 1
    runs = [_cosegment(images, cfg, seed + k, segment, crops) for k in range(n)]
    if n == 1:
        return runs[0]
    votes = np.sum([r.fg_full for r in runs], 0)
    fg_full = votes * 2 > n
    if cfg.ensemble_keep_thin > 0:
        fg_full = np.stack(
            [
                keep_thin_parts(v, u, cfg.ensemble_keep_thin)
                for v, u in zip(fg_full, votes > 0, strict=True)
            ]
        )
    s = runs[0].fg.shape[-1]
    return OfflineFeatures(
        desc=runs[0].desc,
        fg=_to_work(fg_full, s),
        fg_prob=np.mean([r.fg_prob for r in runs], 0).astype(np.float32),
        fg_full=fg_full,
    )


def keep_thin_parts(vote: np.ndarray, union: np.ndarray, width: float) -> np.ndarray:
    """(r, r) bool majority vote ∪ the thin parts of the (r, r) bool union of the runs that
    touch it. Thin = removed by an opening of diameter ``width`` × r (a tail, a leg that one
    run kept); a blob that one run leaked into survives the opening and stays out, and so does
    a thin piece that is not attached to the voted body."""
    k = round(width * vote.shape[0]) | 1
    el = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    opened = cv2.morphologyEx(union.astype(np.uint8), cv2.MORPH_OPEN, el) > 0
    add = union & ~opened & ~vote
    lab, n = ndimage.label(add)
    if n == 0:
        return vote
    touch = ndimage.binary_dilation(vote)
    keep = np.r_[False, ndimage.maximum(touch, lab, index=np.arange(1, n + 1)) > 0]
    return vote | keep[lab]


def _cosegment(
    images: torch.Tensor,
    cfg: OfflineConfig,
    seed: int,
    segment: bool = True,
    crops: Sequence[CropInfo] | None = None,
) -> OfflineFeatures:
    """One co-segmentation (steps 1–5 of the module docstring) with one seed. The part
    descriptors are computed at ``work_size``; the segmentation (steps 1–3 and the
    self-training classifier) runs at ``segment_size``."""
    w = cfg.work_size
    x = images.float().clamp(0, 1)
    desc = _standardise(pixel_descriptors(_resized_rgb(x, w)))
    B = x.shape[0]
    if not segment:
        r = min(cfg.refine_size, x.shape[-1])
        empty = np.zeros((B, w, w), bool)
        return OfflineFeatures(desc, empty, empty.astype(np.float32), np.zeros((B, r, r), bool))
    crops = list(crops) if crops is not None else [CropInfo()] * B
    if len(crops) != B:
        raise ValueError(f"offline features: {len(crops)} crop records for {B} images")
    scales = [c.scale for c in crops]
    sd = _segmentation_descriptors(x, cfg, scales, saliency_images(cfg, crops))
    prob = _class_scores(sd, cfg, seed)
    fg, margin_prob = _appearance_margin(sd, prob, cfg, seed)
    rgb_r = _resized_rgb(x, min(cfg.refine_size, x.shape[-1]))
    fg_full = np.stack(
        [_refine(rgb_r[i], margin_prob[i], fg[i], cfg, scale=sd.scales[i]) for i in range(B)]
    )
    if cfg.self_train_rounds:
        fg_full, margin_prob = _self_train(sd, rgb_r, fg_full, margin_prob, cfg, seed)
    if sd.s != w:
        margin_prob = np.stack(
            [cv2.resize(q, (w, w), interpolation=cv2.INTER_AREA) for q in margin_prob]
        )
    return OfflineFeatures(desc=desc, fg=_to_work(fg_full, w), fg_prob=margin_prob, fg_full=fg_full)


def _resized_rgb(x: torch.Tensor, size: int) -> np.ndarray:
    """(B, 3, H, W) in [0, 1] → (B, size, size, 3) numpy (area resize; none at the same size)."""
    xs = F.interpolate(x, size=(size, size), mode="area") if x.shape[-1] != size else x
    return xs.permute(0, 2, 3, 1).numpy()


@dataclass
class _SegmentationInputs:
    """Step 1 at the segmentation size s: ``seg`` (B, s, s, D) class-standardised descriptors
    (``flat`` the same as (B·s·s, D)); ``chroma`` (B·s·s, 1) standardised |(a, b)|; ``ab``
    (B, s, s, 2) raw Lab chroma when ``self_train_relative``; ``inner`` (B, s, s) photo pixels
    away from the padding edge; ``box``/``ring``/``box_wide`` (B, s, s) each crop's geometry
    (:func:`crop_geometry`; ``box_wide`` with twice the margin) for its crop ``scales``."""

    s: int
    seg: np.ndarray
    flat: np.ndarray
    chroma: np.ndarray
    ab: np.ndarray | None
    inner: np.ndarray
    box: np.ndarray
    ring: np.ndarray
    box_wide: np.ndarray
    scales: list[float | None]
    saliency: np.ndarray | None = None
    use_sal: np.ndarray | None = None


def saliency_images(cfg: OfflineConfig, crops: Sequence[CropInfo]) -> np.ndarray:
    """(n,) bool: the crops that take the per-image saliency prior — all ("on"), none
    ("off"), or ("auto") the image folder's photos, whatever their box came from
    (:data:`artic3d_core.data.folder.BOX_SOURCES`), not the annotated datasets' crops
    (box source ``keypoints`` / ``mask``) nor crops whose source is not recorded (see
    docs/method.md §2.1 for why)."""
    from artic3d_core.data.folder import BOX_SOURCES

    if cfg.saliency != "auto":
        return np.full(len(crops), cfg.saliency == "on")
    return np.array([c.box_source in BOX_SOURCES for c in crops], bool)


def _segmentation_descriptors(
    x: torch.Tensor, cfg: OfflineConfig, scales: list[float | None], use_sal: np.ndarray
) -> _SegmentationInputs:
    """Step 1: descriptors at ``segment_size`` (never above the input's resolution)."""
    s = min(cfg.segment_size, x.shape[-1])
    rgb = _resized_rgb(x, s)
    # the zero padding would enter every filter near the photo's edge: there the ground's
    # descriptors (the only negatives a padded crop gives) would differ from the same ground's
    # in the box, and the classifiers would learn "near the padding" instead of "ground"
    src = np.stack([reflect_fill(im) for im in rgb]) if cfg.fill_padding else rgb
    seg = np.stack([segmentation_descriptors(im, s / 256) for im in src])  # (B, s, s, D)
    D = seg.shape[-1]
    ab = seg[..., 1:3].copy() if cfg.self_train_relative else None  # Lab chroma, σ 0.7
    chroma = np.sqrt(seg[..., 1] ** 2 + seg[..., 2] ** 2).reshape(-1, 1)  # |(a, b)|, σ 0.7
    chroma = (chroma - chroma.mean()) / (chroma.std() + 1e-6)
    seg = (seg - seg.reshape(-1, D).mean(0)) / (seg.reshape(-1, D).std(0) + 1e-6)
    content = np.stack([content_mask(im) for im in rgb])
    # a few pixels of resampling blur at the padding edge are neither photo nor padding
    inner = np.stack([ndimage.binary_erosion(c, iterations=2) for c in content])
    geo = [crop_geometry(im, cfg, sc) for im, sc in zip(rgb, scales, strict=True)]
    box, ring = np.stack([g[0] for g in geo]), np.stack([g[1] for g in geo])
    wide = np.stack(
        [crop_geometry(im, cfg, sc, 2.0)[0] for im, sc in zip(rgb, scales, strict=True)]
    )
    sal = None
    if use_sal.any():
        from artic3d_core.features.background_connectivity import boundary_saliency

        sal = np.stack(
            [
                boundary_saliency(im, c, cfg.saliency_segments).saliency
                if u
                else np.zeros((s, s), np.float32)
                for im, c, u in zip(rgb, content, use_sal, strict=True)
            ]
        )
    return _SegmentationInputs(
        s, seg, seg.reshape(-1, D), chroma, ab, inner, box, ring, wide, list(scales), sal, use_sal
    )


def _with_saliency(prob: np.ndarray, sd: _SegmentationInputs, cfg: OfflineConfig) -> np.ndarray:
    """(B, s, s) foreground probability → prob^(1 − w) · saliency^w (w = ``saliency_weight``;
    unchanged when 0): the class model and the image's own boundary connectivity must agree."""
    if sd.saliency is None or cfg.saliency_weight == 0:
        return prob
    w = cfg.saliency_weight
    out = prob.astype(np.float32, copy=True)
    u = sd.use_sal
    out[u] = np.power(np.clip(prob[u], 0, 1), 1 - w) * np.power(sd.saliency[u], w)
    return out


def _class_scores(sd: _SegmentationInputs, cfg: OfflineConfig, seed: int) -> np.ndarray:
    """Step 2: class-wide positive–unlabelled scores (B, s, s), ``pu_rounds`` re-draws."""
    B, s, box, inner = sd.inner.shape[0], sd.s, sd.box, sd.inner
    pos = box & inner
    neg = sd.ring & inner
    if not neg.any():  # crops without a visible ring (tight crops): the box outside
        neg = ~box & inner
    if sd.saliency is not None:  # the image's own background, wherever it lies
        u = sd.use_sal[:, None, None]
        pos = pos & (~u | (sd.saliency >= cfg.saliency_seed))
        neg = neg | (u & inner & (sd.saliency < 1 - cfg.saliency_seed))
    prob = np.zeros((B, s, s), np.float32)
    for rnd in range(cfg.pu_rounds):
        prob = _pu_scores(sd.flat, pos.reshape(-1), neg.reshape(-1), cfg, seed + rnd)
        prob = prob.reshape(B, s, s) * inner
        pos = (prob > cfg.core_threshold) & box
        neg = (sd.ring & inner) | ((prob < 1 - cfg.core_threshold) & inner)
    return prob


def _appearance_margin(
    sd: _SegmentationInputs, prob: np.ndarray, cfg: OfflineConfig, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Step 3: the class-wide foreground appearance against each image's own background.

    Returns the (B, s, s) bool estimate and the (B, s, s) float probability (margin × class
    score) it was thresholded from."""
    B, s, box, inner = sd.inner.shape[0], sd.s, sd.box, sd.inner
    rng = np.random.default_rng(seed)
    km = dict(niter=cfg.kmeans_niter, nredo=cfg.kmeans_nredo)
    core = np.stack([ndimage.binary_erosion(p > cfg.core_threshold, iterations=2) for p in prob])
    core &= box
    if not core.any():
        core = (prob > 0.5) & box
    if not core.any():
        raise ValueError("offline features: no foreground found in any image")

    def sample(m: np.ndarray, n: int) -> np.ndarray:
        idx = np.flatnonzero(m.reshape(-1))
        return idx if idx.size <= n else rng.choice(idx, n, replace=False)

    c_f = kmeans(
        sd.flat[sample(core, cfg.sample_per_image * 4)], cfg.n_fg_clusters, seed=seed, **km
    )
    fg = np.zeros((B, s, s), bool)
    margin_prob = np.zeros((B, s, s), np.float32)
    D = sd.seg.shape[-1]
    for i in range(B):
        fi = sd.seg[i].reshape(-1, D)
        bgm = inner[i] & (~sd.box_wide[i] | (prob[i] < 1 - cfg.core_threshold))
        if not bgm.any():
            bgm = inner[i] & ~box[i]
        c_b = kmeans(fi[sample(bgm, cfg.sample_per_image)], cfg.n_bg_clusters, seed=seed + i, **km)
        margin = np.sqrt(sq_dists(fi, c_b).min(1)) - np.sqrt(sq_dists(fi, c_f).min(1))
        margin = cv2.GaussianBlur(margin.reshape(s, s).astype(np.float32), (0, 0), 0.7 * s / 256)
        # the class score and the per-image margin must agree
        pm = 1.0 / (1.0 + np.exp(-cfg.margin_gain * margin))
        margin_prob[i] = pm * prob[i] * inner[i]
    margin_prob = _with_saliency(margin_prob, sd, cfg)
    for i in range(B):
        fg[i] = _estimate(margin_prob[i], box[i], cfg.fg_threshold, cfg.hole_fraction)
        if sd.saliency is not None and sd.use_sal[i]:
            fg[i], margin_prob[i] = _salient_unless_found(
                fg[i], margin_prob[i], sd.saliency[i], box[i], cfg
            )
    return fg, margin_prob


def _salient_unless_found(
    est: np.ndarray, prob: np.ndarray, sal: np.ndarray, box: np.ndarray, cfg: OfflineConfig
) -> tuple[np.ndarray, np.ndarray]:
    """One image's (s, s) estimate and probability, or — when the class model covers less than
    ``saliency_fallback`` of the image's salient object (the main component of saliency > 0.5)
    — that object and the saliency. An instance unlike the rest of its class (a white horse
    among brown ones) scores low under the class model everywhere; its own photo still says
    where the object is."""
    obj = _main_object(sal > 0.5, box, cfg.hole_fraction)
    if not obj.any() or (est & obj).sum() >= cfg.saliency_fallback * obj.sum():
        return est, prob
    return obj, sal.astype(np.float32)


def _self_train(
    sd: _SegmentationInputs,
    rgb_r: np.ndarray,
    fg_full: np.ndarray,
    margin_prob: np.ndarray,
    cfg: OfflineConfig,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Step 5: ``self_train_rounds`` of a classifier trained on the class's most typical masks
    (at the segmentation size), each followed by GrabCut at the refinement size (``rgb_r``).

    Returns the refined (B, r, r) masks and the last round's (B, s, s) probability (the input
    ``margin_prob`` when no round ran)."""
    B, s, box, inner = sd.inner.shape[0], sd.s, sd.box, sd.inner
    feats = np.concatenate([sd.flat, sd.chroma], 1)
    for rnd in range(cfg.self_train_rounds):
        fg_seg = _to_work(fg_full, s)
        f_rnd = feats
        if sd.ab is not None and rnd > 0:  # the previous round's masks give each image's tint
            rel = relative_chroma(sd.ab, fg_seg, box).reshape(-1, 2)
            f_rnd = np.concatenate([feats, rel / (rel.std(0) + 1e-6)], 1)
        typical = _typical_images(fg_seg, cfg.self_train_fraction)
        er = np.stack([ndimage.binary_erosion(f, iterations=2) for f in fg_seg])
        di = np.stack([ndimage.binary_dilation(f, iterations=4) for f in fg_seg])
        t = typical[:, None, None]
        pos = er & t & inner
        neg = ((~di & t) | ~box) & inner
        if not pos.any() or not neg.any():
            break
        p = _pu_scores(f_rnd, pos.reshape(-1), neg.reshape(-1), cfg, seed + 101 + rnd)
        p = np.stack([cv2.GaussianBlur(q, (0, 0), s / 256) for q in p.reshape(B, s, s)]) * inner
        p = _with_saliency(p, sd, cfg)
        if rnd == cfg.self_train_rounds - 1:  # rescaled masks never train another round
            p = np.stack(
                [rescale_unrecognised(q, cfg.fg_threshold, cfg.self_train_rescue) for q in p]
            )
        for i in range(B):
            est = _estimate(p[i], box[i], cfg.fg_threshold, cfg.hole_fraction)
            new = _refine(rgb_r[i], p[i], est, cfg, cfg.self_train_confident, sd.scales[i])
            fg_full[i] = _unless_collapsed(new, fg_full[i])
        margin_prob = p.astype(np.float32)
    return fg_full, margin_prob


def _unless_collapsed(new: np.ndarray, old: np.ndarray, ratio: float = 0.25) -> np.ndarray:
    """A re-segmentation that lost most of the animal (area < ``ratio`` × the previous mask's,
    e.g. an animal whose colours the class classifier scores low everywhere) keeps the
    previous mask: an empty or shrunken mask is worse than a leaky one for everything after."""
    return new if new.sum() >= ratio * old.sum() else old


def _to_work(fg_full: np.ndarray, s: int) -> np.ndarray:
    """(B, r, r) bool → (B, s, s) bool (area resize, > 0.5)."""
    return np.stack(
        [
            cv2.resize(m.astype(np.float32), (s, s), interpolation=cv2.INTER_AREA) > 0.5
            for m in fg_full
        ]
    )


def _typical_images(fg: np.ndarray, fraction: float) -> np.ndarray:
    """(B,) bool: the ``fraction`` of the masks whose facing-aligned silhouettes agree most
    with the others' (leaks and truncations are atypical)."""
    from artic3d_core.features.facing import facing_signs, silhouette_typicality

    B = fg.shape[0]
    typ = silhouette_typicality(fg, facing_signs(fg).signs < 0)
    keep = np.zeros(B, bool)
    keep[np.argsort(-typ, kind="stable")[: max(1, int(np.ceil(fraction * B)))]] = True
    return keep


def _gyration_coords(fg: np.ndarray, facing: float = 1.0) -> np.ndarray:
    """(s, s) bool → (2, s, s) coordinates relative to the mask centroid / radius of gyration;
    x is multiplied by ``facing`` (±1) so that mirrored animals get mirrored coordinates."""
    s = fg.shape[0]
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    if not fg.any():
        return np.zeros((2, s, s), np.float32)
    cy, cx = yy[fg].mean(), xx[fg].mean()
    rg = np.sqrt(((yy[fg] - cy) ** 2 + (xx[fg] - cx) ** 2).mean()) + 1e-6
    return np.stack([facing * (xx - cx) / rg, (yy - cy) / rg])


@dataclass
class OfflineParts:
    """labels: (B, s, s) int64 0..k at work size; centroids: (k, 9) mean descriptor per part;
    facing: (B,) ±1 left/right facing relative to image 0 (all +1 without synchronisation)."""

    labels: np.ndarray
    centroids: np.ndarray
    facing: np.ndarray


def offline_parts(feat: OfflineFeatures, cfg: FeaturesConfig, seed: int) -> OfflineParts:
    """k-means part clusters of foreground pixels (descriptor ⊕ weighted mask position).

    With ``offline.facing_sync`` the position is taken in each animal's own facing frame
    (:func:`artic3d_core.features.facing.facing_signs`): without it a cluster means "the
    left end of the mask" rather than "the head", and half the azimuths start mirrored."""
    from artic3d_core.features.facing import facing_signs

    B, _, s, _ = feat.desc.shape
    o = cfg.offline
    facing = (
        facing_signs(feat.fg, feat.desc[:, :3], channel_weight=o.facing_colour_weight).signs
        if o.facing_sync
        else np.ones(B)
    )
    pos = np.stack([_gyration_coords(f, float(d)) for f, d in zip(feat.fg, facing, strict=True)])
    pos = pos * o.position_weight
    full = np.concatenate([feat.desc, pos], 1)  # (B, 11, s, s)
    flat = full.transpose(0, 2, 3, 1).reshape(-1, full.shape[1])
    m = feat.fg.reshape(-1)
    if not m.any():
        raise ValueError("offline features: empty foreground, cannot cluster parts")
    idx = np.flatnonzero(m)
    rng = np.random.default_rng(seed)
    n_max = cfg.offline.sample_per_image * B
    samp = idx if idx.size <= n_max else rng.choice(idx, n_max, replace=False)
    k = cfg.n_clusters
    cent = kmeans(flat[samp], k, cfg.offline.kmeans_niter, cfg.offline.kmeans_nredo, seed)
    lab = np.zeros(flat.shape[0], np.int64)
    lab[idx] = sq_dists(flat[idx], cent).argmin(1) + 1
    labels = lab.reshape(B, s, s)
    dcent = np.stack(
        [
            flat[idx][lab[idx] == c + 1, :N_DESC].mean(0)
            if (lab[idx] == c + 1).any()
            else np.zeros(N_DESC, np.float32)
            for c in range(k)
        ]
    )
    return OfflineParts(labels=labels, centroids=dcent.astype(np.float32), facing=facing)


def pool_to_grid(x: np.ndarray, hw: int) -> torch.Tensor:
    """(B, C, s, s) → (B, C, hw, hw) area-pooled torch float32."""
    return F.interpolate(
        torch.from_numpy(np.ascontiguousarray(x)).float(), size=(hw, hw), mode="area"
    )


def labels_on_mask(labels: np.ndarray, fg: np.ndarray) -> np.ndarray:
    """Part labels (B, s, s) (0 = background) carried onto a foreground (B, S, S) bool of
    another resolution: nearest-resized, and every foreground pixel without a label takes the
    label of the nearest labelled pixel. Returns (B, S, S) int64."""
    B, S = fg.shape[0], fg.shape[-1]
    out = np.zeros((B, S, S), np.int64)
    for i in range(B):
        lab = cv2.resize(labels[i].astype(np.int32), (S, S), interpolation=cv2.INTER_NEAREST)
        if not (lab > 0).any():
            out[i] = fg[i].astype(np.int64)
            continue
        _, (iy, ix) = ndimage.distance_transform_edt(lab == 0, return_indices=True)
        out[i] = np.where(fg[i], lab[iy, ix], 0)
    return out
