import math

import numpy as np
import pytest
import torch
import trimesh

from artic3d_core.animate.sequences import bone_animation, self_interpolation
from artic3d_core.export.gltf_rig import Rig, write_rigged_glb
from artic3d_core.export.validate import khronos_available, validate_gltf
from artic3d_core.skeleton.skeleton import Skeleton, euler_to_matrix

# root, neck, head, tail, two legs (2 segments each)
JOINTS = [
    [0.0, 0.0, 0.0],
    [0.0, 0.3, 0.5],
    [0.0, 0.5, 0.8],
    [0.0, 0.1, -0.7],
    [0.2, -0.4, 0.3],
    [0.2, -0.8, 0.3],
    [-0.2, -0.4, 0.3],
    [-0.2, -0.8, 0.3],
]
PARENTS = [0, 0, 1, 0, 0, 4, 0, 6]


def _rig(textured: bool):
    sk = Skeleton(joints=torch.tensor(JOINTS), parents=PARENTS)
    sphere = trimesh.creation.icosphere(subdivisions=2)
    X = np.asarray(sphere.vertices)
    u = (np.arctan2(X[:, 0], X[:, 2]) / math.pi + 1) / 2
    v = (np.arctan2(X[:, 1], np.hypot(X[:, 0], X[:, 2])) * 2 / math.pi + 1) / 2
    J = sk.joints.double().numpy()
    Rinit = sk.bone_rot_init().double().numpy()
    parts = []
    for b in range(sk.nb):
        p, c = J[PARENTS[b + 1]], J[b + 1]
        L = np.linalg.norm(c - p)
        ell = X * np.array([0.1, L / 2, 0.1])
        # bone-local frame at rest = world axes, origin at the head (parent joint)
        parts.append(ell @ Rinit[b].T + (c - p) / 2)
    rng = np.random.default_rng(0)
    rig = Rig(
        parents=PARENTS,
        part_verts=np.stack(parts),
        faces=np.asarray(sphere.faces),
        uv=np.stack([u, v], 1) if textured else None,
        textures=rng.integers(0, 255, (sk.nb, 16, 16, 3), dtype=np.uint8) if textured else None,
        colors=None if textured else rng.random((sk.nb, len(X), 3)),
        root_scale=1.1,
        root_rotation=euler_to_matrix(torch.tensor([0.1, 0.2, 0.7]), "ZXY").double().numpy(),
        root_translation=np.array([0.05, -0.1, 0.0]),
    )
    theta = torch.randn(sk.nb, 3, generator=torch.Generator().manual_seed(1)) * 0.4
    anim = bone_animation(sk, self_interpolation(theta, 16), fps=8.0, name="self")
    return sk, rig, anim


def _expected_world(rig, anim, frame=0):
    G, H = anim.rotations[frame], anim.heads[frame]
    can = np.einsum("bij,bvj->bvi", G, rig.part_verts) + H[:, None]
    return rig.root_scale * can @ rig.root_rotation.T + rig.root_translation


@pytest.mark.parametrize("textured", [True, False])
def test_rigged_glb_structure_validates_and_reimports(tmp_path, textured):
    sk, rig, anim = _rig(textured)
    path = write_rigged_glb(tmp_path / "rig.glb", rig, [anim])
    rep = validate_gltf(path)
    assert rep.errors == 0, rep.messages
    if khronos_available():
        assert rep.validator == "khronos" and rep.info["animationCount"] == 1

    from pygltflib import GLTF2

    g = GLTF2().load(str(path))
    assert len(g.nodes) == sk.nb + 1
    # hierarchy mirrors the skeleton: bone b's node is a child of its parent bone's node
    for b in range(sk.nb):
        pb = PARENTS[b + 1] - 1
        assert (b + 1) in g.nodes[pb + 1 if pb >= 0 else 0].children
    sampler_in = g.accessors[g.animations[0].samplers[0].input]
    assert sampler_in.max[0] == pytest.approx(anim.n_frames / anim.fps)

    # re-import: node transforms at frame 0 reproduce the posed vertices
    scene = trimesh.load(path, force="scene")
    want = _expected_world(rig, anim, 0)
    for b in range(sk.nb):
        name = f"bone_{b:02d}"
        T, geom_name = scene.graph[name]
        geom = scene.geometry[geom_name]
        got = trimesh.transform_points(np.asarray(geom.vertices)[: rig.part_verts.shape[1]], T)
        np.testing.assert_allclose(got, want[b], atol=1e-5)


def test_rig_frame_k_matches_forward_kinematics(tmp_path):
    """Posing the exported hierarchy with the animation's frame-k local transforms gives FK."""
    from artic3d_core.export.gltf_rig import local_transforms

    sk, _rig_unused, anim = _rig(False)
    R, t = local_transforms(PARENTS, anim.rotations, anim.heads)
    k = 5
    world_R, world_t = {}, {}
    for b in range(sk.nb):
        pb = PARENTS[b + 1] - 1
        if pb < 0:
            world_R[b], world_t[b] = R[k, b], t[k, b]
        else:
            world_R[b] = world_R[pb] @ R[k, b]
            world_t[b] = world_R[pb] @ t[k, b] + world_t[pb]
        np.testing.assert_allclose(world_R[b], anim.rotations[k, b], atol=1e-6)
        np.testing.assert_allclose(world_t[b], anim.heads[k, b], atol=1e-6)
