"""The articulated model: camera, pose, part codes, part MLPs and textures → posed meshes
(docs/method.md §4).

Shapes: B instances, nb bones (= parts), nj = nb + 1 joints, V template vertices per part.
World/camera frame: orthographic camera on +z, x right, y up; image coordinates in crop units
are ((1 + x)/2, (1 − y)/2) (docs/method.md §4.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from artic3d_core.model.config import ModelConfig
from artic3d_core.model.part_mlp import PartMLPs
from artic3d_core.model.symmetry import mirror_map
from artic3d_core.model.template import jittered, sphere_template
from artic3d_core.model.texture import sampled_colors, uv_colors
from artic3d_core.skeleton.skeleton import Skeleton, euler_to_matrix

MIRROR_X = torch.tensor([-1.0, 1.0, 1.0])


@dataclass
class PosedMesh:
    """One forward pass.

    verts: (B, nb, V, 3) camera frame; verts_can: (B, nb, V, 3) posed, before the global
    transform; joints_can / joints: (B, nj, 3); template: (V, 3) (jittered) sphere points, or
    (B, V, 3) for a stacked model (one jitter stream per instance);
    faces: (nb·F, 3) faces of the combined mesh; faces_per_part: F; sym: (nb·V,) mirror map.
    """

    verts: torch.Tensor
    verts_can: torch.Tensor
    joints_can: torch.Tensor
    joints: torch.Tensor
    template: torch.Tensor
    faces: torch.Tensor
    faces_per_part: int
    sym: torch.Tensor
    level: int

    @property
    def flat_verts(self) -> torch.Tensor:
        """(B, nb·V, 3) vertices of the combined mesh."""
        B, nb, V, _ = self.verts.shape
        return self.verts.reshape(B, nb * V, 3)

    @property
    def verts_2d(self) -> torch.Tensor:
        """(B, nb·V, 2) projections in crop units (x right, y down)."""
        v = self.flat_verts
        return torch.stack([(1 + v[..., 0]) / 2, (1 - v[..., 1]) / 2], -1)

    @property
    def joints_2d(self) -> torch.Tensor:
        return torch.stack([(1 + self.joints[..., 0]) / 2, (1 - self.joints[..., 1]) / 2], -1)


class ArticulatedModel(nn.Module):
    """Hi-LASSIE/ARTIC3D articulated part model (parameters: docs/method.md §4.1)."""

    def __init__(
        self,
        skeleton: Skeleton,
        n_instances: int,
        cfg: ModelConfig | None = None,
        feat_part: torch.Tensor | None = None,
        azimuth: list[float] | None = None,
        seed: int = 0,
    ):
        super().__init__()
        cfg = cfg or ModelConfig()
        self.cfg, self.skeleton = cfg, skeleton
        nb, B = skeleton.nb, n_instances
        self.nb, self.n_instances = nb, B
        self.bones_sym = skeleton.bones_sym()
        gen = torch.Generator().manual_seed(seed)
        self.parts = PartMLPs(
            nb, cfg.mlp_layers, cfg.mlp_width, cfg.omega_scale, cfg.head_gain, cfg.f_instance, gen
        )
        self.part_codes = nn.Parameter(self.initial_part_codes())
        az = list(azimuth if azimuth is not None else skeleton.azimuth) or [0.0] * B
        if len(az) != B:
            raise ValueError(f"{len(az)} azimuths for {B} instances")
        grot = torch.zeros(B, 3)
        grot[:, 2] = torch.tensor(az, dtype=torch.float32)
        self.global_rot = nn.Parameter(grot)
        self.register_buffer("azimuth_init", grot[:, 2].clone(), persistent=False)
        self.global_trans = nn.Parameter(-skeleton.joints[:, :2].mean(0).expand(B, 2).clone())
        self.global_scale = nn.Parameter(torch.ones(B))
        self.bone_rot = nn.Parameter(torch.zeros(B, nb, 3))
        self.register_buffer("bone_rot_rest", torch.zeros(nb, 3))
        self.register_buffer("bone_scale", torch.zeros(nb))
        T = cfg.texture_size
        self.text_img = nn.Parameter(torch.zeros(nb, 3, T, T))
        fv = torch.zeros(nb, cfg.feat_dim)
        if feat_part is not None:
            fv = torch.as_tensor(feat_part, dtype=torch.float32)[skeleton.part_dino].clone()
        self.register_buffer("feat_verts", fv)
        self.register_buffer("rest_joints", skeleton.joints.clone())
        self.register_buffer("bone_rot_init", skeleton.bone_rot_init())
        self._sym_cache: dict[int, torch.Tensor] = {}
        self.rows: torch.Tensor | None = None

    # ---- K instances fitted together -------------------------------------------------------
    def stack_instances(self, instances: list[int]) -> None:
        """Hold K per-instance copies of the instance parameters (the instance MLP block and
        the texture, leading dim K), row j for instance ``instances[j]``: the per-instance
        stages then fit the K instances in one optimisation (docs/method.md §7.2). Forward
        passes take ``instances`` equal to these rows and one generator per row."""
        if self.rows is not None:
            raise ValueError("the model already holds stacked instances")
        self.parts.stack_instances(len(instances))
        t = self.text_img
        self.text_img = nn.Parameter(
            t.detach()[None].repeat(len(instances), 1, 1, 1, 1), requires_grad=t.requires_grad
        )
        self.rows = torch.as_tensor(list(instances), dtype=torch.long)

    # ---- template / symmetry ---------------------------------------------------------------
    def bone_lengths(self) -> torch.Tensor:
        return self.skeleton.bone_lengths(self.rest_joints)

    def initial_part_codes(self) -> torch.Tensor:
        """(nb, 2) part codes (xz, y scale) from the skeleton, averaged over mirror partners."""
        sk = self.skeleton
        codes = torch.tensor([sk.part_scale_xz, sk.part_scale_y], dtype=torch.float32).T
        return (codes + codes[self.bones_sym]) / 2

    def sym_map(self, level: int) -> torch.Tensor:
        """(nb·V,) mirror map of the undeformed rest parts at ``level`` (cached per level).

        The map is a function of the skeleton alone (its rest joints and initial part codes),
        never of the optimised codes: a run resumed from any checkpoint, or a model rebuilt
        from a saved state, gets the same map as an uninterrupted run."""
        if level not in self._sym_cache:
            X, _ = sphere_template(level)
            with torch.no_grad():
                codes = self.initial_part_codes().to(self.part_codes)
                rest = self.skeleton.joints.to(self.part_codes)
                v = self._shape_parts(X.to(self.part_codes), False, 10, codes=codes, rest=rest)
                v = v.cpu() + self._midpoints(rest[None]).cpu()[0, :, None]
            part_sym = self.bones_sym if self.cfg.symmetry_search == "partner" else None
            self._sym_cache[level] = mirror_map(v, part_sym)
        return self._sym_cache[level].to(self.part_codes.device)

    def _midpoints(self, joints: torch.Tensor) -> torch.Tensor:
        par = self.skeleton.parents[1:]
        return (joints[:, 1:] + joints[:, par]) / 2

    def deformation(self, X: torch.Tensor, stop_at: int = 10) -> torch.Tensor:
        """F_b(X; s): (V, 3) → (nb, V, 3)."""
        return self.parts(X, stop_at)

    def canonical_parts(self, X: torch.Tensor, stop_at: int = 10) -> torch.Tensor:
        """Deformed unit parts X + F_b(X; s) (no scaling/posing): (nb, V, 3) (docs/method.md §6.9);
        stacked: X (K, V, 3) per instance → (K, nb, V, 3)."""
        d = self.parts(X, stop_at)
        return (X.unsqueeze(-3) if self.rows is not None and X.ndim == 3 else X) + d

    def _shape_parts(
        self,
        X: torch.Tensor,
        deform: bool,
        stop_at: int,
        sym: torch.Tensor | None = None,
        codes: torch.Tensor | None = None,
        rest: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Steps 1–5 of docs/method.md §4.4: (V, 3) → rest-frame part vertices centred at 0 (nb, V,
        3).

        ``codes`` (nb, 2) / ``rest`` (nj, 3) replace the part codes / rest joints."""
        nb = self.nb
        if deform:
            v = self.canonical_parts(X, stop_at)
        else:
            v = X.unsqueeze(-3).expand(*X.shape[:-2], nb, *X.shape[-2:])
        lo, hi = self.cfg.part_xz_clamp
        ylo, yhi = self.cfg.part_y_clamp
        c = self.part_codes if codes is None else codes
        sxz = 2 * c[:, 0].clamp(lo, hi)
        sy = c[:, 1].clamp(ylo, yhi)
        lengths = self.bone_lengths() if rest is None else self.skeleton.bone_lengths(rest)
        scale = torch.stack([sxz, sy, sxz], -1)[:, None] * (lengths / 2)[:, None, None]
        v = v * scale
        v = torch.einsum("bij,...bvj->...bvi", self.bone_rot_init, v)
        if deform and sym is not None and self.cfg.symmetric_shape:
            shape = v.shape
            flat = v.reshape(*shape[:-3], -1, 3)
            flat = 0.5 * (flat + flat[..., sym, :] * MIRROR_X.to(flat))
            v = flat.reshape(shape)
        return v

    # ---- transforms ------------------------------------------------------------------------
    def pose(self, instances: torch.Tensor | None = None, bone_rot: torch.Tensor | None = None):
        """FK of the posed canonical skeleton: joints (B, nj, 3), bone rotations (B, nb, 3, 3)."""
        th = self.bone_rot if bone_rot is None else bone_rot
        if instances is not None and bone_rot is None:
            th = th[instances]
        return self.skeleton.forward_kinematics(th + self.bone_rot_rest, self.rest_joints)

    def global_transform(
        self, x: torch.Tensor, instances: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, ..., 3) canonical → camera frame: s·R_ZXY(global_rot)·x, then (x, y) += trans."""
        rot, sc, tr = self.global_rot, self.global_scale, self.global_trans
        if instances is not None:
            rot, sc, tr = rot[instances], sc[instances], tr[instances]
        R = euler_to_matrix(rot, "ZXY")
        s = self.cfg.global_scale_factor * sc + 1
        shape = x.shape
        y = torch.einsum("bij,bnj->bni", R, x.reshape(shape[0], -1, 3)) * s[:, None, None]
        y = y + torch.cat([tr, torch.zeros_like(tr[:, :1])], -1)[:, None]
        return y.reshape(shape)

    def forward(
        self,
        level: int = 3,
        stop_at: int = 10,
        deform: bool = True,
        generator: torch.Generator | None = None,
        instances: torch.Tensor | None = None,
        bone_rot: torch.Tensor | None = None,
    ) -> PosedMesh:
        """Posed meshes for ``instances`` (default all). ``generator`` → template jitter;
        ``bone_rot`` (B, nb, 3) overrides the instances' Euler offsets (pose exploration).

        A stacked model (:meth:`stack_instances`) poses its rows: ``instances`` must be the
        rows (default), ``generator`` a :class:`~artic3d_core.seeding.GeneratorGroup` (one
        jitter per row, drawn as that instance's own fit draws it) or None."""
        X0, faces = sphere_template(level, self.part_codes.device)
        if self.rows is not None:
            instances = self._check_rows(instances)
            gens = generator.generators if generator is not None else [None] * len(self.rows)
            X = torch.stack([jittered(X0, level, g) for g in gens])
        else:
            X = jittered(X0, level, generator)
        sym = self.sym_map(level)
        v = self._shape_parts(X, deform, stop_at, sym)
        joints_can, G = self.pose(instances, bone_rot)
        mid = self._midpoints(joints_can)
        eq = "bpij,bpvj->bpvi" if v.ndim == 4 else "bpij,pvj->bpvi"
        verts_can = torch.einsum(eq, G, v) + mid[:, :, None]
        verts = self.global_transform(verts_can, instances)
        joints = self.global_transform(joints_can, instances)
        nb, Fn, V = self.nb, faces.shape[0], X.shape[-2]
        all_faces = (
            faces[None] + V * torch.arange(nb, device=faces.device)[:, None, None]
        ).reshape(-1, 3)
        return PosedMesh(verts, verts_can, joints_can, joints, X, all_faces, Fn, sym, level)

    def _check_rows(self, instances: torch.Tensor | None) -> torch.Tensor:
        rows = self.rows.to(self.part_codes.device)
        if instances is not None and not torch.equal(instances.to(rows), rows):
            raise ValueError(
                f"a stacked model poses its rows {rows.tolist()}, not {instances.tolist()}"
            )
        return rows

    # ---- colours ---------------------------------------------------------------------------
    def uv_vertex_colors(self, mesh: PosedMesh) -> torch.Tensor:
        """(nb·V, 3) UV-texture colours at the mesh's template points (docs/method.md §4.7);
        (K, nb·V, 3) for a stacked model."""
        return uv_colors(self.text_img, mesh.template, mesh.sym)

    def sampled_vertex_colors(self, mesh: PosedMesh, images: torch.Tensor) -> torch.Tensor:
        """(B, nb·V, 3) colours sampled from ``images`` (B, 3, H, W) at the projections."""
        return sampled_colors(images, mesh.verts_2d, mesh.flat_verts[..., 2], mesh.sym)

    # ---- parameter groups ------------------------------------------------------------------
    def param_groups(self, names: list[str]) -> list[nn.Parameter]:
        """Parameters by group name: global, bone_rot, part_codes, mlp, mlp_instance, texture."""
        table = {
            "global": [self.global_rot, self.global_trans, self.global_scale],
            "bone_rot": [self.bone_rot],
            "part_codes": [self.part_codes],
            "mlp": list(self.parts.parameters()),
            "mlp_instance": self.parts.instance_parameters(),
            "texture": [self.text_img],
        }
        out: list[nn.Parameter] = []
        for n in names:
            if n not in table:
                raise ValueError(f"unknown parameter group {n!r}; known: {sorted(table)}")
            out += table[n]
        return out

    def recentre_rest_pose(self) -> None:
        """Move mean_i bone_rot into bone_rot_rest (realises the shared rest pose R̄, docs/method.md §6.5)."""
        with torch.no_grad():
            m = self.bone_rot.mean(0)
            self.bone_rot_rest += m
            self.bone_rot -= m
