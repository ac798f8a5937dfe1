"""Typed ``skeleton``-section of params.yaml: skeleton discovery (docs/method.md §3)."""

from typing import Literal

from pydantic import Field

from artic3d_core.strict import StrictModel


class SkeletonConfig(StrictModel):
    """The ``skeleton`` section of params.yaml."""

    reference: int | None = None  # reference image index; None = choose automatically
    mask_size: int = Field(512, ge=32)  # masks are resized to this before discovery (JSON unit)
    thinning: Literal["thin", "skeletonize"] = "thin"  # skimage thinning (reference: thin)
    endpoint_prune: float = Field(1.0, ge=0)  # drop endpoints closer than this × r(junction)
    junction_merge: float = Field(0.8, ge=0)  # merge junctions closer than this × r(j1)
    min_branch_px: float = Field(0.0, ge=0)  # extra: drop end branches shorter than this (px)
    sym_offset: float = Field(0.05, gt=0)  # ±x of a left/right pair (JSON units)
    sym_len_ratio: tuple[float, float] = (0.5, 2.0)  # squared bone-length ratio of a pair
    side_view_rank: int = Field(5, ge=0)  # rank below this: swap x, z (docs/method.md §3.3)
    auto_min_presence: float = Field(0.5, ge=0, le=1)  # auto reference: weight of cluster count
    # extras (not in the reference code), 0 disables each:
    smooth: float = Field(0.008, ge=0)  # Gaussian σ (fraction of side) on the mask before thinning
    # drop leaf branches shorter than this × r(junction)…
    min_branch_radius: float = Field(1.6, ge=0)
    # …unless they are at least this × r(junction) long and thin: the distance-transform radius
    # 3/4 of the way out ≤ thin_branch_profile × r(junction) (0 = off). A tail that leaves the
    # body measures about 0.2 (elephant's: L = 1.2–1.4 r); a spur into a convex corner of a
    # thick region 0.33–0.63, and keeping such spurs as bones costs PCK
    thin_branch_radius: float = Field(1.0, ge=0)
    thin_branch_profile: float = Field(0.28, ge=0, le=1)
    auto_candidates: int = Field(15, ge=1)  # auto reference: skeletonise this many top views
    # (side views only: spread rank ≥ min(side_view_rank, B − 1)) and keep the one with most
    # limbs / mid chains (tie → the side-on score). 15 = every typical view of a 30-image
    # class. Only side views are candidates because a reference below the side-view rank has its
    # skeleton lifted with x and z swapped, which costs most of the PCK
    # auto reference: only this most typical fraction of the silhouettes are candidates
    # (typicality = mean correlation of the facing-aligned, centroid/scale-normalised mask with
    # the others'); a mask that leaks into the background or is truncated is atypical (1 = all)
    auto_typical_fraction: float = Field(0.5, gt=0, le=1)
    # an unpaired leaf bone on the mid-plane that points down (within this angle of vertical,
    # degrees) and ends below the root is two overlapping legs seen from the side: split it
    # into a left/right pair (0 = off, the reference code's behaviour)
    leg_max_angle: float = Field(35.0, ge=0, le=90)
    leg_min_drop: float = Field(0.5, ge=0)  # …and its leaf lies this × bone length below the root
    # …or, when the skeleton has no limb at all, the lowest mid-plane leaf below the root ends
    # within this fraction of the silhouette's height above its lowest pixel: the feet on the
    # ground (a biped's side view: penguin's short legs and forward feet thin into one
    # horizontal branch). 0 = off
    leg_ground_tol: float = Field(0.1, ge=0, le=1)
