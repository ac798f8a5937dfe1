"""Compare a discovered skeleton with a template (synthetic ground truth): topology and joints.

Topology: a *limb* is a leaf joint off the mid-plane (|x| > tol) whose height is below the
root's; a *mid chain* is a leaf on the mid-plane (head, tail, trunk tips). Quadrupeds need
4 limbs and ≥ 2 mid chains (head/neck + tail), bipeds ≥ 2 limbs and ≥ 1 mid chain.

Joint error: there is no joint correspondence (discovery finds fewer joints than a template
has), so both joint sets are aligned by a similarity transform (centroid, RMS scale, rotation
about the vertical axis incl. the 180° facing ambiguity, then ICP over nearest neighbours)
and the error is the mean distance of each discovered joint to its nearest template joint
(and the symmetric chamfer), in units of the template's body length (z extent).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from artic3d_core.skeleton.skeleton import Skeleton


@dataclass
class TopologyReport:
    n_bones: int
    n_bones_template: int
    limbs: int
    limbs_template: int
    mid_chains: int
    mid_chains_template: int
    topology_ok: bool
    joint_error: float  # discovered → nearest template joint, / template body length
    chamfer: float  # symmetric, same unit

    def as_dict(self) -> dict:
        return asdict(self)


def leaf_counts(sk: Skeleton, tol: float = 1e-4) -> tuple[int, int]:
    """(limbs, mid chains) of a skeleton (see module docstring)."""
    J = sk.joints.numpy()
    leaves = [j for j in range(1, sk.nj) if not sk.children(j)]
    limbs = sum(1 for j in leaves if abs(J[j, 0]) > tol and J[j, 1] < J[0, 1])
    mid = sum(1 for j in leaves if abs(J[j, 0]) <= tol)
    return limbs, mid


def _nn(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.linalg.norm(a[:, None] - b[None], axis=-1)
    return d.min(1), d.argmin(1)


def _rot_y(t: float) -> np.ndarray:
    c, s = np.cos(t), np.sin(t)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def align_joints(found: np.ndarray, template: np.ndarray, iters: int = 30) -> np.ndarray:
    """Similarity-align ``found`` (n, 3) onto ``template`` (m, 3) without correspondences."""

    def norm(x: np.ndarray) -> tuple[np.ndarray, float]:
        c = x - x.mean(0)
        return c, float(np.sqrt((c**2).sum(1).mean())) + 1e-9

    f0, sf = norm(found)
    _t0, st = norm(template)
    best, best_err = None, np.inf
    for ang in np.linspace(0, 2 * np.pi, 8, endpoint=False):
        x = f0 / sf * st @ _rot_y(ang).T + template.mean(0)
        for _ in range(iters):
            _, idx = _nn(x, template)
            y = template[idx]
            mx, my = x.mean(0), y.mean(0)
            U, S, Vt = np.linalg.svd((x - mx).T @ (y - my))
            D = np.diag([1, 1, np.sign(np.linalg.det(U @ Vt))])
            R = (U @ D @ Vt).T
            s = (S * np.diag(D)).sum() / max(((x - mx) ** 2).sum(), 1e-12)
            x = s * (x - mx) @ R.T + my
        err = _nn(x, template)[0].mean() + _nn(template, x)[0].mean()
        if err < best_err:
            best, best_err = x, err
    return best


def compare_to_template(found: Skeleton, template: Skeleton, biped: bool) -> TopologyReport:
    """Topology counts and aligned joint error of ``found`` against ``template``."""
    limbs, mid = leaf_counts(found)
    t_limbs, t_mid = leaf_counts(template)
    T = template.joints.numpy().astype(np.float64)
    F = align_joints(found.joints.numpy().astype(np.float64), T)
    body = float(np.ptp(T[:, 2])) or 1.0
    d_ft = _nn(F, T)[0].mean() / body
    d_tf = _nn(T, F)[0].mean() / body
    ok = (limbs >= 2 and mid >= 1) if biped else (limbs == 4 and mid >= 2)
    return TopologyReport(
        n_bones=found.nb,
        n_bones_template=template.nb,
        limbs=limbs,
        limbs_template=t_limbs,
        mid_chains=mid,
        mid_chains_template=t_mid,
        topology_ok=bool(ok),
        joint_error=float(d_ft),
        chamfer=float((d_ft + d_tf) / 2),
    )
