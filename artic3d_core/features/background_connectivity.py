"""Per-image foreground saliency from boundary connectivity (Zhu, Liang, Wei and Sun, "Saliency
Optimization from Robust Background Detection", CVPR 2014; docs/method.md §2.1).

A background region touches the photo's border along much of its extent, while an animal, even
one whose legs reach the bottom edge, touches it along a small part of its perimeter. On SLIC
superpixels of the photo (the crop's zero padding excluded):

1. geodesic appearance distance d_geo(p, q): the cheapest path over adjacent superpixels, an
   edge costing the CIE-Lab distance of their means; superpixels on the photo's border are
   joined to each other at no cost (the border is one background);
2. spanning area A(p) = Σ_q exp(−d_geo²/2σ_c²) and border length B(p) = the same sum over border
   superpixels; boundary connectivity BndCon = B / √A, background probability
   w_bg = 1 − exp(−BndCon²/2σ_b²);
3. background-weighted contrast w_fg(p) = Σ_q d_app(p, q) · exp(−d_pos²/2σ_p²) · w_bg(q);
4. saliency s minimising Σ w_bg s² + Σ w_fg (1 − s)² + Σ_(p~q) w_pq (s_p − s_q)², with
   w_pq = exp(−d_app²/2σ_c²) + μ — a sparse linear system.

The only prior is "the background reaches the border": no crop geometry, no class model, so it
holds for a whole photo whose animal fills most of the frame as for a padded crop.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from scipy.sparse.linalg import spsolve

__all__ = ["BoundarySaliency", "boundary_saliency"]


@dataclass
class BoundarySaliency:
    """saliency, background: (s, s) float32 in [0, 1] (0 saliency / 1 background outside the
    photo); labels: (s, s) int64 superpixel ids (−1 outside the photo)."""

    saliency: np.ndarray
    background: np.ndarray
    labels: np.ndarray


def _superpixels(lab: np.ndarray, n_segments: int, compactness: float) -> np.ndarray:
    from skimage.segmentation import slic

    return slic(
        lab,
        n_segments=n_segments,
        compactness=compactness,
        start_label=0,
        convert2lab=False,
        channel_axis=-1,
    ).astype(np.int64)


def boundary_saliency(
    rgb: np.ndarray,
    photo: np.ndarray | None = None,
    n_segments: int = 250,
    compactness: float = 10.0,
    sigma_colour: float = 10.0,
    sigma_boundary: float = 1.0,
    sigma_position: float = 0.25,
    smoothness: float = 0.1,
) -> BoundarySaliency:
    """Saliency of one (s, s, 3) float RGB [0, 1] image. ``photo``: (s, s) bool, the photo inside
    a padded crop (an axis-aligned rectangle; None = all). ``n_segments`` superpixels over the
    photo; σ_c in CIE-Lab units, σ_p in units of the photo's longer side (the paper's values)."""
    s0, s1 = rgb.shape[:2]
    if photo is None:
        photo = np.ones((s0, s1), bool)
    rows, cols = np.flatnonzero(photo.any(1)), np.flatnonzero(photo.any(0))
    sal = np.zeros((s0, s1), np.float32)
    bgp = np.ones((s0, s1), np.float32)
    labels = np.full((s0, s1), -1, np.int64)
    if rows.size < 4 or cols.size < 4:
        return BoundarySaliency(sal, bgp, labels)
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    lab = cv2.cvtColor(np.ascontiguousarray(rgb[r0:r1, c0:c1], dtype=np.float32), cv2.COLOR_RGB2LAB)
    seg = _superpixels(lab, n_segments, compactness)
    _, seg = np.unique(seg, return_inverse=True)
    seg = seg.reshape(lab.shape[:2])
    n = int(seg.max()) + 1
    h, w = seg.shape
    flat = seg.ravel()
    cnt = np.bincount(flat, minlength=n).astype(np.float64)
    mean = np.stack([np.bincount(flat, lab[..., c].ravel(), n) for c in range(3)], 1) / cnt[:, None]
    yy, xx = np.mgrid[0:h, 0:w]
    side = float(max(h, w))
    pos = np.stack([np.bincount(flat, yy.ravel(), n), np.bincount(flat, xx.ravel(), n)], 1)
    pos = pos / cnt[:, None] / side
    pairs = np.concatenate(
        [
            np.stack([seg[:, :-1].ravel(), seg[:, 1:].ravel()], 1),
            np.stack([seg[:-1].ravel(), seg[1:].ravel()], 1),
        ]
    )
    pairs = np.unique(np.sort(pairs[pairs[:, 0] != pairs[:, 1]], 1), axis=0)
    d_adj = np.linalg.norm(mean[pairs[:, 0]] - mean[pairs[:, 1]], axis=1)
    border = np.unique(np.concatenate([seg[0], seg[-1], seg[:, 0], seg[:, -1]]))
    # the border superpixels form one background: linked to each other at (almost) no cost
    bi, bj = np.triu_indices(border.size, 1)
    e_i = np.r_[pairs[:, 0], border[bi]]
    e_j = np.r_[pairs[:, 1], border[bj]]
    e_w = np.r_[d_adj + 1e-9, np.full(bi.size, 1e-9)]
    graph = sparse.csr_matrix((e_w, (e_i, e_j)), shape=(n, n))
    geo = dijkstra(graph, directed=False)
    span = np.exp(-(geo**2) / (2 * sigma_colour**2))
    bnd_con = span[:, border].sum(1) / np.sqrt(span.sum(1))
    w_bg = 1.0 - np.exp(-(bnd_con**2) / (2 * sigma_boundary**2))
    d_app = np.linalg.norm(mean[:, None] - mean[None], axis=2)
    d_pos = np.linalg.norm(pos[:, None] - pos[None], axis=2)
    ctr = (d_app * np.exp(-(d_pos**2) / (2 * sigma_position**2)) * w_bg[None]).sum(1)
    w_fg = ctr / max(float(ctr.max()), 1e-9)
    w_pq = np.exp(-(d_adj**2) / (2 * sigma_colour**2)) + smoothness
    adj = sparse.csr_matrix(
        (np.r_[w_pq, w_pq], (np.r_[pairs[:, 0], pairs[:, 1]], np.r_[pairs[:, 1], pairs[:, 0]])),
        shape=(n, n),
    )
    lap = sparse.diags(np.asarray(adj.sum(1)).ravel()) - adj
    system = (sparse.diags(w_bg + w_fg) + lap).tocsc()
    s = spsolve(system, w_fg)
    s = np.clip(s, 0.0, 1.0)
    sal[r0:r1, c0:c1] = s[seg]
    bgp[r0:r1, c0:c1] = w_bg[seg]
    labels[r0:r1, c0:c1] = seg
    return BoundarySaliency(sal, bgp, labels)
