"""Animation sequences from rigid bone transforms: self-interpolation (the reference's),
interpolation between two instances (the paper's), retargeting between skeletons.

Poses are per-bone Euler offsets θ (…, nb, 3) from the shared rest pose ('YZX',
docs/method.md §3.5).
"""

from __future__ import annotations

import numpy as np
import torch

from artic3d_core.export.gltf_rig import BoneAnimation
from artic3d_core.skeleton.skeleton import Skeleton


def self_interpolation(theta: torch.Tensor, n_frames: int = 16) -> torch.Tensor:
    """Instance pose → rest → mirrored offset (docs/method.md §9.2): θ_v = (1 − w_v)·θ, w_v = 2v/(N
    − 1).

    theta: (nb, 3). Returns (N, nb, 3); frame 0 = θ, the middle ≈ rest, the last = −θ.
    """
    w = torch.linspace(0, 2, n_frames, dtype=theta.dtype, device=theta.device)
    return (1 - w)[:, None, None] * theta[None]


def instance_interpolation(theta_a: torch.Tensor, theta_b: torch.Tensor, n_frames: int = 16):
    """Linear interpolation from instance a's pose to instance b's: (N, nb, 3)."""
    if theta_a.shape != theta_b.shape:
        raise ValueError(f"pose shapes differ: {tuple(theta_a.shape)} vs {tuple(theta_b.shape)}")
    a = torch.linspace(0, 1, n_frames, dtype=theta_a.dtype, device=theta_a.device)[:, None, None]
    return (1 - a) * theta_a[None] + a * theta_b[None]


def ping_pong(frames):
    """Frames 0..N−1 then N−2..1 (a seamless loop of 2N − 2 frames). Tensor or list."""
    if isinstance(frames, torch.Tensor):
        return torch.cat([frames, frames[1:-1].flip(0)]) if len(frames) > 2 else frames
    return list(frames) + list(frames[1:-1])[::-1]


def bone_map(src: Skeleton, dst: Skeleton) -> list[int]:
    """For each destination bone, the source bone that drives it (−1: none, stays at rest).

    Bones are matched by name when both skeletons name them, else by identical topology
    (same parent list). Otherwise bones are matched by (depth along the chain, side, branch
    order) — a structural match that is exact for skeletons of the same template.
    """
    if src.names and dst.names:
        idx = {n: i for i, n in enumerate(src.names[1:])}
        return [idx.get(n, -1) for n in dst.names[1:]]
    if src.parents == dst.parents:
        return list(range(dst.nb))

    def signature(sk: Skeleton) -> list[tuple]:
        depth = sk.bone_depth()
        sig = []
        for b in range(sk.nb):
            v = sk.joints[b + 1] - sk.joints[0]
            side = int(np.sign(round(float(v[0]), 3)))
            # the chain this bone belongs to: its root-attached ancestor
            j = b + 1
            while sk.parents[j] != 0:
                j = sk.parents[j]
            d = sk.joints[j] - sk.joints[0]
            branch = (int(np.sign(round(float(d[1]), 2))), int(np.sign(round(float(d[2]), 2))))
            sig.append((depth[b], side, branch))
        return sig

    s_sig, d_sig = signature(src), signature(dst)
    used: set[int] = set()
    out = []
    for s in d_sig:
        cand = [i for i, t in enumerate(s_sig) if t == s and i not in used]
        out.append(cand[0] if cand else -1)
        if cand:
            used.add(cand[0])
    return out


def retarget(seq: torch.Tensor, src: Skeleton, dst: Skeleton) -> torch.Tensor:
    """Copy a pose sequence (N, nb_src, 3) onto another skeleton: (N, nb_dst, 3); unmatched
    destination bones stay at their rest pose (zero offset)."""
    if seq.shape[1] != src.nb:
        raise ValueError(f"sequence has {seq.shape[1]} bones, source skeleton {src.nb}")
    m = bone_map(src, dst)
    out = seq.new_zeros(seq.shape[0], dst.nb, 3)
    for b, s in enumerate(m):
        if s >= 0:
            out[:, b] = seq[:, s]
    return out


def bone_animation(
    skeleton: Skeleton,
    poses: torch.Tensor,
    rest_pose: torch.Tensor | None = None,
    joints: torch.Tensor | None = None,
    fps: float = 10.0,
    name: str = "animation",
    loop: bool = True,
) -> BoneAnimation:
    """FK of a pose sequence (N, nb, 3) (+ rest pose (nb, 3)) → global bone rotations and bone
    head positions per frame, for the rigged glTF."""
    th = poses if rest_pose is None else poses + rest_pose[None]
    with torch.no_grad():
        P, G = skeleton.forward_kinematics(th.float(), joints)
    heads = P[:, skeleton.parents[1:]]
    return BoneAnimation(
        G.double().cpu().numpy(), heads.double().cpu().numpy(), fps=fps, name=name, loop=loop
    )
