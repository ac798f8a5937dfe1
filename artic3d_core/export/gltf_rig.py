"""Rigged, animated glTF (GLB): one node per bone in the skeleton hierarchy, the part meshes
attached rigidly with their UV textures, animations as glTF rotation/translation channels.

Frames: a bone's node sits at the bone's *head* (its parent joint) with the bone's global
rotation G_b; its mesh is stored in that frame, so a part vertex in canonical space is
``head_b + G_b · v_local``. The root node (index 0) carries the instance's global transform
(scale s, rotation R, translation t: ``x ↦ s·R·x + t``), so node count = bones + 1.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from artic3d_core.atomic import atomic_write

__all__ = ["BoneAnimation", "Rig", "local_transforms", "write_rigged_glb"]


@dataclass
class Rig:
    """A rigid-part rig.

    parents: (nj,) joint parents (root 0, parents[i] < i); bone b is joint b + 1.
    part_verts: (nb, V, 3) part vertices in each bone's local frame (origin at its head).
    faces: (F, 3) int faces of one part (shared template).
    uv: (V, 2) texture coordinates in [0, 1]² (glTF: v down; u wraps horizontally) or None.
    textures: (nb, T, T, 3) uint8 per-part textures, or None (then ``colors`` or grey).
    colors: (nb, V, 3) float per-vertex colours in [0, 1], or None.
    root_scale, root_rotation (3, 3), root_translation (3,): the global transform.
    """

    parents: list[int]
    part_verts: np.ndarray
    faces: np.ndarray
    uv: np.ndarray | None = None
    textures: np.ndarray | None = None
    colors: np.ndarray | None = None
    bone_names: list[str] | None = None
    root_scale: float = 1.0
    root_rotation: np.ndarray | None = None
    root_translation: np.ndarray | None = None

    @property
    def nb(self) -> int:
        return len(self.parents) - 1


@dataclass
class BoneAnimation:
    """Global bone rotations (N, nb, 3, 3) and head positions (N, nb, 3) per frame, canonical
    frame (before the root transform), played at ``fps``."""

    rotations: np.ndarray
    heads: np.ndarray
    fps: float = 10.0
    name: str = "animation"
    loop: bool = True  # append frame 0 at t = N / fps so the clip lasts N / fps and loops

    @property
    def n_frames(self) -> int:
        return self.rotations.shape[0]


def local_transforms(
    parents: list[int], rotations: np.ndarray, heads: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Global (…, nb, 3, 3) rotations and (…, nb, 3) heads → node-local ones w.r.t. the parent
    bone's node (the root node for bones attached to joint 0)."""
    R_loc = rotations.copy()
    t_loc = heads.copy()
    for b in range(len(parents) - 1):
        pb = parents[b + 1] - 1
        if pb < 0:
            continue
        Rp = rotations[..., pb, :, :]
        R_loc[..., b, :, :] = np.swapaxes(Rp, -1, -2) @ rotations[..., b, :, :]
        t_loc[..., b, :] = np.einsum("...ji,...j->...i", Rp, heads[..., b, :] - heads[..., pb, :])
    return R_loc, t_loc


def _quat(R: np.ndarray) -> np.ndarray:
    """(N, 3, 3) → (N, 4) xyzw quaternions with sign continuity along N (for LINEAR)."""
    q = Rotation.from_matrix(R.reshape(-1, 3, 3)).as_quat().reshape(*R.shape[:-2], 4)
    for i in range(1, q.shape[0]):
        if np.dot(q[i], q[i - 1]) < 0:
            q[i] = -q[i]
    return q.astype(np.float32)


def _split_seam(verts: np.ndarray, faces: np.ndarray, uv: np.ndarray):
    """Duplicate vertices of faces that straddle the u = 0/1 seam, shifting them by u + 1."""
    uv = uv.copy()
    fu = uv[faces, 0]
    crossing = (fu.max(1) - fu.min(1)) > 0.5
    faces = faces.copy()
    extra_v, extra_uv = [], []
    remap: dict[int, int] = {}
    n = len(verts)
    for f in np.nonzero(crossing)[0]:
        for k in range(3):
            vi = faces[f, k]
            if uv[vi, 0] < 0.5:
                if vi not in remap:
                    remap[vi] = n + len(extra_v)
                    extra_v.append(verts[vi])
                    extra_uv.append(uv[vi] + np.array([1.0, 0.0]))
                faces[f, k] = remap[vi]
    if extra_v:
        verts = np.concatenate([verts, np.asarray(extra_v)])
        uv = np.concatenate([uv, np.asarray(extra_uv)])
    return verts, faces, uv, np.array(list(remap.keys()), dtype=np.int64)


class _Blob:
    """Accumulates the binary chunk and the bufferViews/accessors that point into it."""

    def __init__(self, gltf):
        self.g, self.data = gltf, bytearray()

    def view(self, raw: bytes, target: int | None = None) -> int:
        from pygltflib import BufferView

        while len(self.data) % 4:
            self.data.append(0)
        self.g.bufferViews.append(
            BufferView(buffer=0, byteOffset=len(self.data), byteLength=len(raw), target=target)
        )
        self.data.extend(raw)
        return len(self.g.bufferViews) - 1

    def accessor(self, arr: np.ndarray, kind: str, target: int | None = None, bounds=False) -> int:
        from pygltflib import Accessor

        ctype = {np.dtype(np.float32): 5126, np.dtype(np.uint32): 5125}[arr.dtype]
        acc = Accessor(
            bufferView=self.view(np.ascontiguousarray(arr).tobytes(), target),
            componentType=ctype,
            count=int(arr.shape[0]),
            type=kind,
        )
        if bounds:
            flat = arr.reshape(arr.shape[0], -1)
            acc.min, acc.max = flat.min(0).tolist(), flat.max(0).tolist()
        self.g.accessors.append(acc)
        return len(self.g.accessors) - 1


def _png(img: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(img, dtype=np.uint8)).save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def write_rigged_glb(
    path: str | Path, rig: Rig, animations: list[BoneAnimation], frame0: BoneAnimation | None = None
) -> Path:
    """Write the rig as a GLB (atomically). Node TRS are set to frame 0 of ``frame0`` (default:
    the first animation), so static viewers show that pose.

    Returns the path. Raises ValueError on inconsistent shapes.
    """
    from pygltflib import (
        GLTF2,
        Animation,
        AnimationChannel,
        AnimationChannelTarget,
        AnimationSampler,
        Asset,
        Buffer,
        Image,
        Material,
        Mesh,
        Node,
        PbrMetallicRoughness,
        Primitive,
        Sampler,
        Scene,
        Texture,
        TextureInfo,
    )

    nb = rig.nb
    if rig.part_verts.shape[0] != nb:
        raise ValueError(f"part_verts has {rig.part_verts.shape[0]} parts for {nb} bones")
    if not animations and frame0 is None:
        raise ValueError("need at least one animation (or frame0) to set the rest transforms")
    ref = frame0 or animations[0]
    for a in [*animations, ref]:
        if a.rotations.shape[1:] != (nb, 3, 3) or a.heads.shape[1:] != (nb, 3):
            raise ValueError(f"animation '{a.name}' does not match {nb} bones")
    names = rig.bone_names or [f"bone_{b:02d}" for b in range(nb)]

    g = GLTF2(asset=Asset(generator="artic3d", version="2.0"))
    blob = _Blob(g)
    g.samplers.append(Sampler(magFilter=9729, minFilter=9729, wrapS=10497, wrapT=33071))

    R0, t0 = local_transforms(rig.parents, ref.rotations[0], ref.heads[0])
    root_R = np.eye(3) if rig.root_rotation is None else np.asarray(rig.root_rotation)
    root_t = np.zeros(3) if rig.root_translation is None else np.asarray(rig.root_translation)
    g.nodes.append(
        Node(
            name="root",
            translation=[float(x) for x in root_t],
            rotation=_quat(root_R[None])[0].tolist(),
            scale=[float(rig.root_scale)] * 3,
        )
    )
    for b in range(nb):
        verts = rig.part_verts[b].astype(np.float32)
        faces = rig.faces.astype(np.int64)
        attrs: dict[str, int] = {}
        mat = Material(name=f"{names[b]}_material", doubleSided=False)
        pbr = PbrMetallicRoughness(metallicFactor=0.0, roughnessFactor=1.0)
        if rig.uv is not None and rig.textures is not None:
            verts, faces, uv, _ = _split_seam(verts, faces, rig.uv.astype(np.float64))
            attrs["TEXCOORD_0"] = blob.accessor(uv.astype(np.float32), "VEC2", 34962)
            g.images.append(
                Image(bufferView=blob.view(_png(rig.textures[b])), mimeType="image/png")
            )
            g.textures.append(Texture(sampler=0, source=len(g.images) - 1))
            pbr.baseColorTexture = TextureInfo(index=len(g.textures) - 1)
        elif rig.colors is not None:
            col = np.clip(rig.colors[b], 0, 1).astype(np.float32)
            attrs["COLOR_0"] = blob.accessor(col, "VEC3", 34962)
        else:
            pbr.baseColorFactor = [0.7, 0.7, 0.7, 1.0]
        mat.pbrMetallicRoughness = pbr
        g.materials.append(mat)
        attrs["POSITION"] = blob.accessor(verts.astype(np.float32), "VEC3", 34962, bounds=True)
        idx = blob.accessor(faces.astype(np.uint32).reshape(-1), "SCALAR", 34963)
        g.meshes.append(
            Mesh(
                name=names[b],
                primitives=[Primitive(attributes=attrs, indices=idx, material=b, mode=4)],
            )
        )
        g.nodes.append(
            Node(
                name=names[b],
                mesh=b,
                translation=t0[b].astype(float).tolist(),
                rotation=_quat(R0[b][None])[0].astype(float).tolist(),
            )
        )
    for b in range(nb):
        pb = rig.parents[b + 1] - 1
        g.nodes[pb + 1 if pb >= 0 else 0].children.append(b + 1)
    g.scenes.append(Scene(nodes=[0]))
    g.scene = 0

    for anim in animations:
        N = anim.n_frames
        R, t = local_transforms(rig.parents, anim.rotations, anim.heads)
        times = np.arange(N, dtype=np.float32) / anim.fps
        if anim.loop:
            times = np.append(times, np.float32(N / anim.fps))
            R = np.concatenate([R, R[:1]])
            t = np.concatenate([t, t[:1]])
        t_acc = blob.accessor(times[:, None], "SCALAR", bounds=True)
        a = Animation(name=anim.name)
        for b in range(nb):
            q = blob.accessor(_quat(R[:, b]), "VEC4")
            tr = blob.accessor(t[:, b].astype(np.float32), "VEC3")
            for out, path_ in ((q, "rotation"), (tr, "translation")):
                a.samplers.append(AnimationSampler(input=t_acc, output=out, interpolation="LINEAR"))
                a.channels.append(
                    AnimationChannel(
                        sampler=len(a.samplers) - 1,
                        target=AnimationChannelTarget(node=b + 1, path=path_),
                    )
                )
        g.animations.append(a)

    while len(blob.data) % 4:
        blob.data.append(0)
    g.buffers.append(Buffer(byteLength=len(blob.data)))
    g.set_binary_blob(bytes(blob.data))

    return atomic_write(path, g.save_binary)
