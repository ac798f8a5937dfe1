"""Automatic skeleton discovery from cluster masks (Hi-LASSIE; docs/method.md §3.1–3.3).

Pipeline: largest component per mask → facing and azimuth initialisation from cluster offsets →
reference image (given, or chosen automatically: most side-on view with most clusters visible)
→ distance transform + thinning of the reference mask → junctions/endpoints → BFS tree from the
largest-radius junction → pruning → flat 3D lift (y–z plane) → left/right symmetric splitting.

Deviations from the reference code, each noted where it happens: joints are ordered by their
BFS depth (so parents always precede children), a split pair moves its whole subtree (the code
moves only direct children), and the "not a side view → swap x and z" rule only fires when the
reference's rank is below ``min(side_view_rank, B − 1)`` (the code's fixed 5 swaps every
skeleton of a class with ≤ 5 images).
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
from scipy import ndimage
from skimage.morphology import skeletonize, thin

from artic3d_core.features.facing import silhouette_typicality
from artic3d_core.skeleton.config import SkeletonConfig
from artic3d_core.skeleton.skeleton import JSON_TO_RUNTIME, Skeleton

log = logging.getLogger(__name__)


@dataclass
class ViewInit:
    """Per-image view initialisation (docs/method.md §3.1).

    flipped: (B,) bool mirrored images; azimuth: (B,) rad; spread: (B,) mean |dx| of cluster
    centroids (px); rank: (B,) ascending spread rank; n_clusters: (B,) clusters visible;
    anchor: anchor cluster label (1..k); anchor_is_head."""

    flipped: np.ndarray
    azimuth: np.ndarray
    spread: np.ndarray
    rank: np.ndarray
    n_clusters: np.ndarray
    anchor: int
    anchor_is_head: bool


@dataclass
class Skeleton2D:
    """The pruned 2D tree of the reference mask (pixel coordinates of the flipped mask).

    points: (nj, 2) (row, col); parents: nj ints (root → 0); radius: (nj,) distance-transform
    radius; kind: 'root' | 'junction' | 'endpoint' per joint."""

    points: np.ndarray
    parents: list[int]
    radius: np.ndarray
    kind: list[str]


@dataclass
class DiscoveryReport:
    """What discovery did and why (written beside skeleton.json)."""

    reference: int
    reference_auto: bool
    reference_reason: str
    flipped: list[bool]
    azimuth: list[float]
    spread_rank: list[int]
    anchor_cluster: int
    anchor_is_head: bool
    n_junctions_raw: int
    n_endpoints_raw: int
    n_joints: int
    n_bones: int
    n_symmetric_pairs: int
    swapped_xz: bool
    seconds: float
    mask_size: int = 512
    skeleton_2d: Skeleton2D | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "skeleton_2d"}
        if self.skeleton_2d is not None:
            d["skeleton_2d"] = {
                "points": self.skeleton_2d.points.tolist(),
                "parents": self.skeleton_2d.parents,
                "radius": self.skeleton_2d.radius.tolist(),
                "kind": self.skeleton_2d.kind,
            }
        return d


# ---------------------------------------------------------------------------------------------
# inputs and views


def _as_label_masks(masks: np.ndarray | torch.Tensor, size: int) -> np.ndarray:
    m = masks.detach().cpu().numpy() if isinstance(masks, torch.Tensor) else np.asarray(masks)
    if m.ndim == 4 and m.shape[1] == 1:
        m = m[:, 0]
    if m.ndim != 3:
        raise ValueError(f"skeleton discovery: masks must be (B, H, W) labels, got {m.shape}")
    if m.shape[0] == 0:
        raise ValueError("skeleton discovery: no masks given")
    m = m.astype(np.int64)
    if m.min() < 0:
        raise ValueError("skeleton discovery: mask labels must be ≥ 0")
    if m.shape[1:] != (size, size):
        m = np.stack(
            [
                cv2.resize(x.astype(np.int32), (size, size), interpolation=cv2.INTER_NEAREST)
                for x in m
            ]
        ).astype(np.int64)
    return m


def largest_component(mask: np.ndarray) -> np.ndarray:
    """Labels kept only on the largest 4-connected non-zero component (docs/method.md §3.1)."""
    lab, n = ndimage.label(mask > 0)
    if n <= 1:
        return mask
    sizes = ndimage.sum(np.ones_like(lab), lab, index=np.arange(1, n + 1))
    return np.where(lab == 1 + int(np.argmax(sizes)), mask, 0)


def discovery_masks(masks: np.ndarray | torch.Tensor, size: int) -> np.ndarray:
    """(B, H, W) (or (B, 1, H, W)) int labels 0..k → (B, size, size) int64 labels as skeleton
    discovery reads them: nearest-resized, each kept only on its largest component."""
    return np.stack([largest_component(x) for x in _as_label_masks(masks, size)])


def view_init(masks: np.ndarray, k: int) -> ViewInit:
    """Facing, azimuth and spread from cluster centroids (docs/method.md §3.1). masks: (B, S, S)."""
    B = masks.shape[0]
    dx = np.zeros((B, k))
    dy = np.zeros((B, k))
    pres = np.zeros((B, k), bool)
    for i, m in enumerate(masks):
        ys, xs = np.nonzero(m)
        if ys.size == 0:
            continue
        cy, cx = ys.mean(), xs.mean()
        lab = m[ys, xs]
        for c in range(k):
            sel = lab == c + 1
            if sel.any():
                pres[i, c] = True
                dx[i, c] = xs[sel].mean() - cx
                dy[i, c] = ys[sel].mean() - cy
    present_all = pres.all(0)
    score = np.abs(dx).mean(0) * present_all
    if not present_all.any():  # no cluster in every image: fall back to the most frequent ones
        score = np.abs(dx).mean(0) * pres.mean(0)
    anchor = int(np.argmax(score))
    is_head = bool(dy[pres[:, anchor], anchor].mean() < 0) if pres[:, anchor].any() else True
    a_dx = dx[:, anchor]
    flipped = (is_head & (a_dx < 0)) | (~is_head & (a_dx > 0))
    n_vis = pres.sum(1)
    spread = np.where(n_vis > 0, np.abs(dx).sum(1) / np.maximum(n_vis, 1), 0.0)
    rank = np.empty(B, np.int64)
    rank[np.argsort(spread, kind="stable")] = np.arange(B)
    facing = np.where(flipped, -1.0, 1.0)
    azimuth = facing * rank / max(B - 1, 1) * (math.pi / 2)
    return ViewInit(flipped, azimuth, spread, rank, n_vis, anchor + 1, is_head)


def choose_reference(views: ViewInit, k: int, cfg: SkeletonConfig) -> tuple[int, str]:
    """Most side-on view (spread rank) with most clusters visible; returns (index, reason)."""
    B = views.rank.shape[0]
    side = views.rank / max(B - 1, 1)
    vis = views.n_clusters / max(k, 1)
    score = side + cfg.auto_min_presence * vis
    ref = int(np.argmax(score))
    reason = (
        f"automatic: highest score side-on rank/(B-1) + {cfg.auto_min_presence}·clusters/k = "
        f"{side[ref]:.2f} + {cfg.auto_min_presence}·{views.n_clusters[ref]}/{k} = {score[ref]:.2f} "
        f"(spread rank {int(views.rank[ref])} of {B}, mean |dx| {views.spread[ref]:.1f} px)"
    )
    return ref, reason


# ---------------------------------------------------------------------------------------------
# 2D skeleton


def _bfs(skel: np.ndarray, start: tuple[int, int]) -> tuple[dict, dict]:
    """8-connected BFS over skeleton pixels → (predecessor map, depth map)."""
    H, W = skel.shape
    prev = {start: start}
    depth = {start: 0}
    q = deque([start])
    while q:
        r, c = q.popleft()
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                if dr == 0 and dc == 0:
                    continue
                nr, nc = r + dr, c + dc
                if 0 <= nr < H and 0 <= nc < W and skel[nr, nc] and (nr, nc) not in prev:
                    prev[(nr, nc)] = (r, c)
                    depth[(nr, nc)] = depth[(r, c)] + 1
                    q.append((nr, nc))
    return prev, depth


def skeleton_2d(mask: np.ndarray, cfg: SkeletonConfig) -> tuple[Skeleton2D, dict]:
    """docs/method.md §3.2 steps 1–7 on a binary mask (S, S) → pruned tree + raw counts."""
    m = (mask > 0).astype(np.uint8)
    if m.sum() < 4:
        raise ValueError("skeleton discovery: the reference mask is (nearly) empty")
    if cfg.smooth > 0:  # ragged outlines thin into spurious spikes
        sm = cv2.GaussianBlur(m.astype(np.float32), (0, 0), cfg.smooth * m.shape[0]) > 0.5
        sm = largest_component(sm.astype(np.uint8))
        if sm.sum() >= 4:
            m = sm.astype(np.uint8)
    radius = cv2.distanceTransform(m, cv2.DIST_L2, 3)
    sk = (thin(m > 0) if cfg.thinning == "thin" else skeletonize(m > 0)).astype(bool)
    nbr = ndimage.uniform_filter(sk.astype(np.float32), 3, mode="constant") * 9
    nbr = np.rint(nbr).astype(np.int64) * sk
    junctions = [tuple(p) for p in np.argwhere(nbr > 3)]
    endpoints = [tuple(p) for p in np.argwhere(nbr == 2)]
    raw = {"junctions": len(junctions), "endpoints": len(endpoints)}
    r_of = lambda p: float(radius[p])  # noqa: E731
    if junctions:
        junctions.sort(key=r_of, reverse=True)
        root = junctions[0]
    else:  # a simple curve: root at the widest skeleton pixel
        pts = [tuple(p) for p in np.argwhere(sk)]
        root = max(pts, key=r_of)
    prev, depth = _bfs(sk, root)
    # the root is a kept joint even when it is no junction (a simple curve), so the skeleton
    # does not hang from its first endpoint
    junctions = [root] + [j for j in junctions if j in prev and j != root]
    endpoints = [e for e in endpoints if e in prev and e != root]
    jset = set(junctions)

    def ancestor(p: tuple[int, int]) -> tuple[int, int]:
        q = prev[p]
        while q != root and q not in jset:
            q = prev[q]
        return q

    anc = {p: ancestor(p) for p in [*junctions[1:], *endpoints]}
    # pruning: junctions merged into earlier (larger-radius) ones, spurs dropped
    merged: dict[tuple[int, int], tuple[int, int]] = {}
    kept_j: list[tuple[int, int]] = []
    for j in junctions:
        target = next(
            (j1 for j1 in kept_j if math.dist(j, j1) < cfg.junction_merge * r_of(j1)), None
        )
        if target is None:
            kept_j.append(j)
        else:
            merged[j] = target

    def resolve(p: tuple[int, int]) -> tuple[int, int]:
        while p in merged:
            p = merged[p]
        return p

    def long_enough(e: tuple[int, int]) -> bool:
        j = resolve(anc[e])
        length, rj = depth[e] - depth[j], r_of(j)
        if length < cfg.min_branch_px:
            return False
        if length >= cfg.min_branch_radius * rj:
            return True
        if cfg.thin_branch_profile <= 0 or length < cfg.thin_branch_radius * rj:
            return False
        # a shorter branch stays if it is thin: its radius 3/4 of the way out (along the
        # skeleton path) is ≤ thin_branch_profile × r(j). An appendage (a tail) narrows to its
        # own width once it leaves the body; a spur into a convex corner narrows linearly
        path = [e]
        while path[-1] != j and path[-1] != root and len(path) <= length:
            path.append(prev[path[-1]])
        return r_of(path[len(path) // 4]) <= cfg.thin_branch_profile * rj

    kept_e = [
        e
        for e in endpoints
        if not any(math.dist(e, j) < cfg.endpoint_prune * r_of(j) for j in kept_j)
        and long_enough(e)
    ]
    kept_j.sort(key=lambda p: (depth[p], -r_of(p)))
    kept_e.sort(key=lambda p: depth[p])
    order = kept_j + kept_e
    index = {p: i for i, p in enumerate(order)}
    parents = [0]
    for p in order[1:]:
        a = anc[p]
        # climb past ancestors merged into p itself, or pruned away
        while a != root and (resolve(a) == p or resolve(a) not in index):
            a = ancestor(a)
        a = resolve(a)
        ia = index.get(a, 0)  # the root itself may have been merged away: attach to joint 0
        if ia >= index[p]:
            raise AssertionError(f"skeleton 2D: ancestor {a} does not precede joint {p}")
        parents.append(ia)
    kinds = ["root"] + ["junction"] * (len(kept_j) - 1) + ["endpoint"] * len(kept_e)
    pts = np.array(order, dtype=np.float64)
    return Skeleton2D(pts, parents, np.array([r_of(p) for p in order]), kinds), raw


# ---------------------------------------------------------------------------------------------
# 3D lift and symmetric splitting


@dataclass
class _Flat:
    joints: np.ndarray  # (nj, 3) JSON units
    parents: list[int]
    dino: list[int]
    sxz: list[float]
    sy: list[float]
    ground: float = -math.inf  # y of the silhouette's lowest pixel (JSON units)
    height: float = 0.0  # the silhouette's height (JSON units)


def lift(sk2: Skeleton2D, labels: np.ndarray, size: int) -> _Flat:
    """docs/method.md §3.2 steps 8–9: flat joints in the y–z plane and per-bone attributes."""
    p = sk2.points
    if len(p) == 0:
        raise ValueError("the reference mask has no skeleton (empty or too small foreground)")
    root = p[0]
    joints = np.stack(
        [np.zeros(len(p)), -(p[:, 0] - root[0]) / size, (p[:, 1] - root[1]) / size], 1
    )
    dino, sxz, sy = [], [], []
    fg = np.argwhere(labels > 0)
    for c in range(1, len(p)):
        par = sk2.parents[c]
        r, col = int(p[c, 0]), int(p[c, 1])
        lab = int(labels[r, col])
        if lab == 0 and fg.size:  # off the label mask (thin tips): nearest labelled pixel
            d = ((fg - p[c]) ** 2).sum(1)
            lab = int(labels[tuple(fg[int(np.argmin(d))])])
        dino.append(max(lab - 1, 0))
        ell = max(float(np.linalg.norm(p[c] - p[par])), 1e-6)
        rmin = min(float(sk2.radius[c]), float(sk2.radius[par]))
        sxz.append(rmin / ell)
        sy.append(1 + 2 * rmin / ell)
    ground, height = -math.inf, 0.0
    if fg.size:
        ground = -(float(fg[:, 0].max()) - root[0]) / size
        height = float(fg[:, 0].max() - fg[:, 0].min() + 1) / size
    return _Flat(joints, list(sk2.parents), dino, sxz, sy, ground, height)


def _subtree(parents: list[int], i: int) -> list[int]:
    out = [i]
    for j in range(i + 1, len(parents)):
        if parents[j] in out:
            out.append(j)
    return out


def split_symmetric(f: _Flat, cfg: SkeletonConfig) -> tuple[_Flat, int]:
    """docs/method.md §3.3: pair sibling bones of one cluster and similar length into left/right."""
    J = f.joints.copy()
    par, dino, sxz, sy = list(f.parents), list(f.dino), list(f.sxz), list(f.sy)
    lo, hi = cfg.sym_len_ratio
    off = cfg.sym_offset
    pairs = 0
    while True:
        found = None
        nj = len(par)
        for i1 in range(1, nj):
            for i2 in range(i1 + 1, nj):
                if J[i1, 0] != 0 or J[i2, 0] != 0 or par[i1] != par[i2]:
                    continue
                if dino[i1 - 1] != dino[i2 - 1]:
                    continue
                l1 = float(((J[i1, 1:] - J[par[i1], 1:]) ** 2).sum())
                l2 = float(((J[i2, 1:] - J[par[i2], 1:]) ** 2).sum())
                if l2 > 0 and lo < l1 / l2 < hi:
                    found = (i1, i2)
                    break
            if found:
                break
        if found is None:
            return _Flat(J, par, dino, sxz, sy, f.ground, f.height), pairs
        i1, i2 = found
        pairs += 1
        mean_yz = (J[i1, 1:] + J[i2, 1:]) / 2
        for i, x in ((i1, -off), (i2, off)):
            delta = mean_yz - J[i, 1:]
            for j in _subtree(par, i):
                J[j, 1:] += delta
                J[j, 0] = x
        for arr in (sxz, sy):
            m = (arr[i1 - 1] + arr[i2 - 1]) / 2
            arr[i1 - 1] = arr[i2 - 1] = m
        p = par[i1]
        kids = [j for j in range(1, len(par)) if par[j] == p]
        if p != 0 and sorted(kids) == [i1, i2]:
            # duplicate the parent joint into a left/right pair, inserted right after it
            J = np.insert(J, p + 1, J[p], axis=0)
            J[p, 0], J[p + 1, 0] = -off, off
            par = [q + 1 if q > p else q for q in par]
            par.insert(p + 1, par[p])
            i2s = i2 + 1
            par[i2s] = p + 1
            b = p - 1
            sxz[b] = sxz[b] / 2
            sxz.insert(b + 1, sxz[b])
            sy.insert(b + 1, sy[b])
            dino.insert(b + 1, dino[b])
            # keep parents before children: the copy (p+1) precedes every former index > p
        # loop again


def split_overlapping_legs(f: _Flat, cfg: SkeletonConfig) -> tuple[_Flat, int]:
    """Extra (not in the reference code): a leaf bone left on the mid-plane that is a pair of
    legs overlapping in the reference view (a side view shows the far leg behind the near
    one) is split: its leaf is moved to −x and a copy at +x is appended with the same parent
    and attributes. Such a leaf bone either

    - points down (within ``leg_max_angle`` of vertical) and ends ``leg_min_drop`` × its
      length below the root (quadruped legs), or
    - when the skeleton has no limb at all, is the lowest mid-plane leaf below the root and
      ends within ``leg_ground_tol`` × the silhouette's height of its lowest pixel: the feet
      on the ground (a biped's side view, where both short legs and forward-pointing feet
      thin into one horizontal branch: penguin).

    Returns the new skeleton and the number of pairs made."""
    J = f.joints.copy()
    par, dino, sxz, sy = list(f.parents), list(f.dino), list(f.sxz), list(f.sy)
    kids = set(par[1:])
    mid_leaves = [c for c in range(1, len(par)) if c not in kids and J[c, 0] == 0]
    split: list[int] = []
    if cfg.leg_max_angle > 0:
        cos_max = math.cos(math.radians(cfg.leg_max_angle))
        for c in mid_leaves:
            d = J[c, 1:] - J[par[c], 1:]  # (y up, z along the image)
            ell = float(np.linalg.norm(d))
            if ell <= 0 or -d[0] / ell < cos_max or J[c, 1] > J[0, 1] - cfg.leg_min_drop * ell:
                continue
            split.append(c)
    limbs = sum(1 for c in range(1, len(par)) if c not in kids and J[c, 0] != 0)
    if cfg.leg_ground_tol > 0 and not split and limbs == 0 and f.height > 0:
        below = [c for c in mid_leaves if J[c, 1] < J[0, 1]]
        if below:
            c = min(below, key=lambda j: J[j, 1])
            if J[c, 1] - f.ground <= cfg.leg_ground_tol * f.height:
                split.append(c)
    for c in split:
        J[c, 0] = -cfg.sym_offset
        J = np.vstack([J, J[c] * np.array([-1.0, 1.0, 1.0])])
        par.append(par[c])
        for arr in (dino, sxz, sy):
            arr.append(arr[c - 1])
    return _Flat(J, par, dino, sxz, sy, f.ground, f.height), len(split)


# ---------------------------------------------------------------------------------------------
# the entry point


def _skeletonise(
    mask: np.ndarray, flipped: bool, cfg: SkeletonConfig
) -> tuple[Skeleton2D, dict, _Flat, int]:
    """(Skeleton2D, raw counts, split flat skeleton, pairs) of one mask (mirrored if
    ``flipped``, so every reference faces the same way)."""
    ref_mask = np.ascontiguousarray(mask[:, ::-1] if flipped else mask)
    sk2, raw = skeleton_2d(ref_mask, cfg)
    flat, pairs = split_symmetric(lift(sk2, ref_mask, cfg.mask_size), cfg)
    flat, legs = split_overlapping_legs(flat, cfg)
    return sk2, raw, flat, pairs + legs


def _flat_leaves(f: _Flat) -> tuple[int, int]:
    """(limbs, mid chains): leaves off the mid-plane below the root / leaves on it."""
    kids = set(f.parents[1:])
    leaves = [j for j in range(1, len(f.parents)) if j not in kids]
    limbs = sum(1 for j in leaves if f.joints[j, 0] != 0 and f.joints[j, 1] < f.joints[0, 1])
    return limbs, sum(1 for j in leaves if f.joints[j, 0] == 0)


def _side_view_floor(cfg: SkeletonConfig, B: int) -> int:
    """The spread rank from which a view is a side view; a reference ranked below it is lifted
    with x and z swapped (docs/method.md §3.3)."""
    return min(cfg.side_view_rank, B - 1)


def _best_candidate(m: np.ndarray, views: ViewInit, k: int, cfg: SkeletonConfig) -> tuple[int, str]:
    """Automatic reference among the ``auto_candidates`` best side-on views of the most
    typical ``auto_typical_fraction`` of the silhouettes (side views only, i.e. spread rank
    ≥ ``min(side_view_rank, B − 1)``, unless there are none): the one whose skeleton has most limb
    pairs (≤ 4 limbs), then fewest extra limbs (a splayed leg pair split twice gives 6), then
    a head and a tail (≤ 2 mid chains) and fewest extra mid chains; ties → the side-on score."""
    B = m.shape[0]
    side = views.rank / max(B - 1, 1) + cfg.auto_min_presence * views.n_clusters / max(k, 1)
    typ = silhouette_typicality(m, views.flipped)
    n_typ = max(1, math.ceil(cfg.auto_typical_fraction * B))
    typical = set(int(i) for i in np.argsort(-typ, kind="stable")[:n_typ])
    order = [int(i) for i in np.argsort(-side, kind="stable") if m[i].any() and i in typical]
    if not order:
        raise ValueError("every mask is empty: the foreground estimate failed for all images")
    # views that docs/method.md §3.3 treats as "not a side view" (x and z swapped) are
    # candidates only if no side view is: a swapped skeleton costs most of the PCK
    side_ok = [i for i in order if views.rank[i] >= _side_view_floor(cfg, B)]
    order = side_ok or order
    best, best_key, rows = order[0], None, []
    for i in order[: cfg.auto_candidates]:
        try:
            _, _, flat, _ = _skeletonise(m[i], bool(views.flipped[i]), cfg)
        except (ValueError, AssertionError):
            continue
        limbs, mid = _flat_leaves(flat)
        key = (min(limbs, 4), -max(limbs - 4, 0), min(mid, 2), -max(mid - 2, 0), float(side[i]))
        rows.append(f"{i}: limbs {limbs}, mid {mid}, side {side[i]:.2f}")
        if best_key is None or key > best_key:
            best, best_key = i, key
    reason = (
        f"automatic: among the {len(rows)} most side-on views (rank/(B-1) + "
        f"{cfg.auto_min_presence}·clusters/k) of the {n_typ} most typical silhouettes, "
        f"the skeleton with most limbs (≤4), fewest extra limbs, then head/tail "
        f"(≤2 mid chains), fewest extra chains: {best} [{'; '.join(rows)}]"
    )
    return best, reason


def discover_skeleton(
    masks: np.ndarray | torch.Tensor,
    cfg: SkeletonConfig | None = None,
    reference: int | None = None,
    n_clusters: int = 8,
) -> tuple[Skeleton, DiscoveryReport]:
    """Discover a rest skeleton from cluster label masks.

    masks: (B, H, W) int labels 0..k (0 = background), resized (nearest) to
    ``cfg.mask_size``². ``reference`` overrides ``cfg.reference``; None = automatic choice.
    Returns the :class:`Skeleton` (runtime units, azimuth per image) and a report."""
    cfg = cfg or SkeletonConfig()
    t0 = time.perf_counter()
    S = cfg.mask_size
    m = discovery_masks(masks, S)
    B = m.shape[0]
    empty = [i for i in range(B) if not m[i].any()]
    views = view_init(m, n_clusters)
    ref = cfg.reference if reference is None else reference
    auto = ref is None
    if auto and cfg.auto_candidates > 1 and len(empty) < B:
        ref, reason = _best_candidate(m, views, n_clusters, cfg)
    elif auto:
        ref, reason = choose_reference(views, n_clusters, cfg)
    else:
        if not 0 <= ref < B:
            raise ValueError(f"skeleton discovery: reference image {ref} out of range 0..{B - 1}")
        reason = "given by the user"
    if not m[ref].any():
        raise ValueError(f"skeleton discovery: reference image {ref} has an empty mask")
    sk2, raw, flat, pairs = _skeletonise(m[ref], bool(views.flipped[ref]), cfg)
    notes = [f"images with empty masks: {empty}"] if empty else []
    swap = bool(views.rank[ref] < _side_view_floor(cfg, B))
    J = flat.joints.copy()
    if swap:
        J[:, [0, 2]] = J[:, [2, 0]]
        notes.append("reference is not a side view: x and z swapped (docs/method.md §3.3)")
    if len(flat.parents) < 2:
        raise ValueError("skeleton discovery: the reference mask gave a single joint")
    skel = Skeleton(
        joints=torch.from_numpy(J).float() * JSON_TO_RUNTIME,
        parents=flat.parents,
        part_dino=flat.dino,
        part_scale_xz=flat.sxz,
        part_scale_y=flat.sy,
        azimuth=[float(a) for a in views.azimuth],
        meta={"reference": ref, "reference_reason": reason},
    )
    report = DiscoveryReport(
        reference=ref,
        reference_auto=auto,
        reference_reason=reason,
        flipped=[bool(f) for f in views.flipped],
        azimuth=[float(a) for a in views.azimuth],
        spread_rank=[int(r) for r in views.rank],
        anchor_cluster=views.anchor,
        anchor_is_head=views.anchor_is_head,
        n_junctions_raw=raw["junctions"],
        n_endpoints_raw=raw["endpoints"],
        n_joints=skel.nj,
        n_bones=skel.nb,
        n_symmetric_pairs=pairs,
        swapped_xz=swap,
        seconds=round(time.perf_counter() - t0, 4),
        mask_size=S,
        skeleton_2d=sk2,
        notes=notes,
    )
    return skel, report
