"""Seeded k-means (faiss, niter/nredo as the reference; scikit-learn when faiss is missing)."""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)


def kmeans(x: np.ndarray, k: int, niter: int, nredo: int, seed: int) -> np.ndarray:
    """Cluster the rows of ``x`` (N, D) → centroids (k, D) float32.

    With fewer distinct rows than ``k`` the missing centroids repeat existing ones (so a
    nearest-centroid query never sees an empty model). ``N == 0`` is an error."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"k-means needs a non-empty (N, D) array, got shape {x.shape}")
    n = x.shape[0]
    kk = min(k, n)
    if kk == n:
        cent = x.copy()
    else:
        try:
            import faiss

            km = faiss.Kmeans(
                x.shape[1], kk, niter=niter, nredo=nredo, seed=int(seed) % (2**31), verbose=False
            )
            km.train(x)
            cent = np.asarray(km.centroids, dtype=np.float32)
        except ImportError:  # pragma: no cover - faiss is in the lock file
            from sklearn.cluster import KMeans

            log.info("faiss not importable; using scikit-learn KMeans")
            km = KMeans(n_clusters=kk, n_init=nredo, max_iter=niter, random_state=seed)
            cent = km.fit(x).cluster_centers_.astype(np.float32)
    if kk < k:
        cent = cent[np.arange(k) % kk]
    return cent


def sq_dists(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (N, D) × (K, D) → (N, K), float32, clipped at 0."""
    x = np.asarray(x, dtype=np.float32)
    c = np.asarray(c, dtype=np.float32)
    d = (x * x).sum(1)[:, None] - 2.0 * x @ c.T + (c * c).sum(1)[None]
    return np.maximum(d, 0.0)
