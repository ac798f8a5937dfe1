"""The ``Skeleton`` type: joints, parents, symmetry, forward kinematics, JSON
(docs/method.md §3.4–3.5).

Units: runtime joints are in render NDC units (1 unit = 256 px of a 512² render), i.e. twice the
JSON joints (JSON: 512-px image = 1). Joint 0 is the root; bone ``b`` (0..nb−1) goes from joint
``parents[b + 1]`` to joint ``b + 1``; parents must have smaller indices than their children.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

SCHEMA_VERSION = 1
JSON_TO_RUNTIME = 2.0


def axis_rotation(axis: str, angle: torch.Tensor) -> torch.Tensor:
    """Right-handed rotation matrices about ``axis`` ('X', 'Y' or 'Z'): (...,) → (..., 3, 3)."""
    c, s = torch.cos(angle), torch.sin(angle)
    o, z = torch.ones_like(angle), torch.zeros_like(angle)
    if axis == "X":
        rows = (o, z, z, z, c, -s, z, s, c)
    elif axis == "Y":
        rows = (c, z, s, z, o, z, -s, z, c)
    elif axis == "Z":
        rows = (c, -s, z, s, c, z, z, z, o)
    else:
        raise ValueError(f"axis must be X, Y or Z, got {axis!r}")
    return torch.stack(rows, -1).reshape(*angle.shape, 3, 3)


def euler_to_matrix(angles: torch.Tensor, convention: str) -> torch.Tensor:
    """Euler angles (..., 3) → (..., 3, 3) with R = R_{c0}(a0) R_{c1}(a1) R_{c2}(a2).

    Bones use 'YZX', the global camera rotation 'ZXY' (docs/method.md §3.5, §4.5).
    """
    if len(convention) != 3:
        raise ValueError(f"convention must have 3 axes, got {convention!r}")
    mats = [axis_rotation(ax, angles[..., i]) for i, ax in enumerate(convention)]
    return mats[0] @ mats[1] @ mats[2]


def align_rotation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Rotation taking unit vector ``a`` onto unit vector ``b`` (both (..., 3)), valid for
    a·b > −1: R = I + [v]ₓ + [v]ₓ² / (1 + c), v = a × b, c = a·b."""
    v = torch.cross(a, b, dim=-1)
    c = (a * b).sum(-1)
    zero = torch.zeros_like(c)
    vx = torch.stack(
        (zero, -v[..., 2], v[..., 1], v[..., 2], zero, -v[..., 0], -v[..., 1], v[..., 0], zero), -1
    ).reshape(*v.shape[:-1], 3, 3)
    eye = torch.eye(3, dtype=a.dtype, device=a.device).expand_as(vx)
    return eye + vx + vx @ vx / (1 + c)[..., None, None]


@dataclass
class Skeleton:
    """A rest skeleton with per-bone attributes.

    joints: (nj, 3) rest positions (runtime units); parents: nj ints (root → 0).
    part_dino, part_scale_xz, part_scale_y: per bone (nb); azimuth: per image initial azimuth.
    """

    joints: torch.Tensor
    parents: list[int]
    part_dino: list[int] = field(default_factory=list)
    part_scale_xz: list[float] = field(default_factory=list)
    part_scale_y: list[float] = field(default_factory=list)
    azimuth: list[float] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.joints = torch.as_tensor(self.joints, dtype=torch.float32)
        nj = self.joints.shape[0]
        if self.joints.ndim != 2 or self.joints.shape[1] != 3:
            raise ValueError(f"joints must be (nj, 3), got {tuple(self.joints.shape)}")
        if len(self.parents) != nj or nj < 2:
            raise ValueError(f"parents has {len(self.parents)} entries for {nj} joints (need ≥ 2)")
        if self.parents[0] != 0 or any(not 0 <= p < i for i, p in enumerate(self.parents) if i):
            raise ValueError("parents must satisfy parents[0] == 0 and 0 <= parents[i] < i")
        nb = nj - 1
        for name in ("part_dino", "part_scale_xz", "part_scale_y"):
            val = getattr(self, name)
            if val and len(val) != nb:
                raise ValueError(f"{name} has {len(val)} entries, expected nb = {nb}")
        if not self.part_dino:
            self.part_dino = [0] * nb
        if not self.part_scale_xz:
            self.part_scale_xz = [0.5] * nb
        if not self.part_scale_y:
            self.part_scale_y = [1.0] * nb

    # ---- structure -------------------------------------------------------------------------
    @property
    def nj(self) -> int:
        return self.joints.shape[0]

    @property
    def nb(self) -> int:
        return self.nj - 1

    def children(self, i: int) -> list[int]:
        return [j for j in range(1, self.nj) if self.parents[j] == i]

    def joint_tree(self, i: int) -> list[int]:
        """Joint ``i`` and all its descendants."""
        out = [i]
        for j in range(i + 1, self.nj):
            if self.parents[j] in out:
                out.append(j)
        return out

    def bone_depth(self) -> list[int]:
        """Per bone: 1 if attached to the root, 2 if its parent bone is, and so on."""
        depth = [0] * self.nj
        for j in range(1, self.nj):
            depth[j] = depth[self.parents[j]] + 1
        return depth[1:]

    def joints_sym(self, tol: float = 1e-6) -> list[int]:
        """Per joint: the joint nearest to its x-mirror (itself for joints on the x = 0 plane)."""
        mirror = self.joints * torch.tensor([-1.0, 1.0, 1.0])
        d = torch.cdist(mirror, self.joints)
        sym = d.argmin(1).tolist()
        for i in range(self.nj):
            if abs(float(self.joints[i, 0])) <= tol:
                sym[i] = i
        return sym

    def bones_sym(self) -> list[int]:
        """Per bone: its left/right partner (itself on the mid-plane)."""
        js = self.joints_sym()
        return [js[b + 1] - 1 for b in range(self.nb)]

    def bone_vectors(self, joints: torch.Tensor | None = None) -> torch.Tensor:
        """(…, nb, 3) child − parent joint vectors."""
        J = self.joints if joints is None else joints
        return J[..., 1:, :] - J[..., self.parents[1:], :]

    def bone_lengths(self, joints: torch.Tensor | None = None) -> torch.Tensor:
        return self.bone_vectors(joints).norm(dim=-1)

    def bone_rot_init(self) -> torch.Tensor:
        """(nb, 3, 3): rotation taking the sphere axis (0, −1, 0) to each bone's direction,
        the direction sign-flipped to point to negative y (docs/method.md §3.5)."""
        d = self.bone_vectors()
        d = d / d.norm(dim=-1, keepdim=True).clamp_min(1e-8)
        d = torch.where(d[:, 1:2] > 0, -d, d)
        a = torch.tensor([0.0, -1.0, 0.0]).expand_as(d)
        return align_rotation(a, d)

    # ---- kinematics ------------------------------------------------------------------------
    def forward_kinematics(
        self, bone_euler: torch.Tensor, joints: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Pose the skeleton.

        bone_euler: (B, nb, 3) per-bone 'YZX' Euler angles (rest pose + instance offset).
        Returns posed joints (B, nj, 3) (root fixed) and global bone rotations (B, nb, 3, 3):
        G_i = G_parent(i) · R(θ_i), J'_i = G_i (J_i − J_parent) + J'_parent.
        """
        J = (self.joints if joints is None else joints).to(bone_euler)
        B = bone_euler.shape[0]
        if bone_euler.shape[1:] != (self.nb, 3):
            raise ValueError(f"bone_euler must be (B, {self.nb}, 3), got {tuple(bone_euler.shape)}")
        R = euler_to_matrix(bone_euler, "YZX")
        eye = torch.eye(3, dtype=R.dtype, device=R.device).expand(B, 3, 3)
        G: list[torch.Tensor] = [eye]
        P: list[torch.Tensor] = [J[0].expand(B, 3)]
        for i in range(1, self.nj):
            p = self.parents[i]
            G.append(G[p] @ R[:, i - 1])
            P.append((G[i] @ (J[i] - J[p])[:, None]).squeeze(-1) + P[p])
        return torch.stack(P, 1), torch.stack(G[1:], 1)

    def scaled_joints(self, bone_scale: torch.Tensor) -> torch.Tensor:
        """Rest joints with bone lengths ×(1 + s), s symmetrised and clipped to [−0.5, 1.5].

        bone_scale: (nb,). Returns (nj, 3).
        """
        sym = self.bones_sym()
        s = ((bone_scale + bone_scale[sym]) / 2).clamp(-0.5, 1.5)
        J = self.joints.to(bone_scale).clone()
        for i in range(1, self.nj):
            off = (self.joints[i] - self.joints[self.parents[i]]).to(J) * s[i - 1]
            J[self.joint_tree(i)] = J[self.joint_tree(i)] + off
        return J

    # ---- JSON ------------------------------------------------------------------------------
    def to_json_dict(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "azimuth": [float(a) for a in self.azimuth],
            "nb": self.nb,
            "joints": (self.joints / JSON_TO_RUNTIME).tolist(),
            "joints_parent": list(self.parents),
            "part_dino": [int(x) for x in self.part_dino],
            "part_scale_xz": [float(x) for x in self.part_scale_xz],
            "part_scale_y": [float(x) for x in self.part_scale_y],
            "names": list(self.names),
            "meta": self.meta,
        }

    @classmethod
    def from_json_dict(cls, d: dict, source: str = "<dict>") -> Skeleton:
        need = ("nb", "joints", "joints_parent")
        missing = [k for k in need if k not in d]
        if missing:
            raise ValueError(f"{source}: skeleton JSON lacks {', '.join(missing)}")
        version = d.get("schema_version", 0)
        if version > SCHEMA_VERSION:
            raise ValueError(f"{source}: schema_version {version} is newer than {SCHEMA_VERSION}")
        try:
            sk = cls(
                joints=torch.tensor(d["joints"], dtype=torch.float32) * JSON_TO_RUNTIME,
                parents=[int(p) for p in d["joints_parent"]],
                part_dino=[int(x) for x in d.get("part_dino", [])],
                part_scale_xz=[float(x) for x in d.get("part_scale_xz", [])],
                part_scale_y=[float(x) for x in d.get("part_scale_y", [])],
                azimuth=[float(a) for a in d.get("azimuth", [])],
                names=list(d.get("names", [])),
                meta=dict(d.get("meta", {})),
            )
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{source}: invalid skeleton: {exc}") from None
        if sk.nb != int(d["nb"]):
            raise ValueError(f"{source}: nb = {d['nb']} but {sk.nj} joints given")
        return sk

    def save(self, path: str | Path) -> None:
        """Write the JSON atomically (temp file, then rename)."""
        from artic3d_core.atomic import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_json_dict(), indent=1), fsync=False)

    @classmethod
    def load(cls, path: str | Path) -> Skeleton:
        path = Path(path)
        try:
            d = json.loads(path.read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: skeleton file not found") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from None
        return cls.from_json_dict(d, source=str(path))
