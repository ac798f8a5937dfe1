"""Build a :class:`~artic3d_core.export.gltf_rig.Rig` and bone animations from a fitted
:class:`~artic3d_core.model.articulated.ArticulatedModel` instance.

A part vertex in the canonical frame is G_b·v_b + mid_b with mid_b = J'_p + G_b (J_c − J_p)/2,
so in the bone's node frame (origin at the head J'_p) it is v_b + (J_c − J_p)/2 (rest joints).
"""

from __future__ import annotations

import numpy as np
import torch

from artic3d_core.animate.sequences import bone_animation
from artic3d_core.export.bake import bake_size, part_layout
from artic3d_core.export.gltf_rig import BoneAnimation, Rig
from artic3d_core.model.articulated import ArticulatedModel
from artic3d_core.model.template import sphere_template
from artic3d_core.model.texture import uv_colors
from artic3d_core.skeleton.skeleton import euler_to_matrix


@torch.no_grad()
def rig_from_model(model: ArticulatedModel, instance: int, level: int = 5) -> Rig:
    """The instance's part meshes (full part networks), UV textures and camera as a Rig.

    Textures are the renderer's vertex colours (UV texture sampled at the template, mirror-averaged,
    docs/method.md §4.7) baked per part (:mod:`artic3d_core.export.bake`); part vertices are split
    where the UV layout needs it, the template's own V vertices first and in order.
    """
    X, faces = sphere_template(level, model.part_codes.device)
    sym = model.sym_map(level)
    v = model._shape_parts(X, True, 10, sym)  # (nb, V, 3) rest-frame parts centred at 0
    J = model.rest_joints
    par = model.skeleton.parents
    local = v + ((J[1:] - J[par[1:]]) / 2)[:, None]
    lay = part_layout(X.cpu().numpy(), faces.cpu().numpy(), bake_size(level))
    col = uv_colors(model.text_img, X, sym).reshape(model.nb, -1, 3).cpu().numpy()
    R = euler_to_matrix(model.global_rot[instance], "ZXY")
    s = model.cfg.global_scale_factor * model.global_scale[instance] + 1
    t = torch.cat([model.global_trans[instance], torch.zeros(1, device=R.device)])
    names = model.skeleton.names[1:] if model.skeleton.names else None
    return Rig(
        parents=list(par),
        part_verts=local.double().cpu().numpy()[:, lay.src],
        faces=lay.faces,
        uv=np.stack([lay.uv[:, 0], 1.0 - lay.uv[:, 1]], -1),  # glTF: v down
        textures=lay.bake(col),
        bone_names=names,
        root_scale=float(s),
        root_rotation=R.double().cpu().numpy(),
        root_translation=t.double().cpu().numpy(),
    )


@torch.no_grad()
def model_animation(
    model: ArticulatedModel, poses: torch.Tensor, fps: float, name: str = "animation"
) -> BoneAnimation:
    """Bone offsets (N, nb, 3) → global rotations and heads (rest pose and joints of the model)."""
    return bone_animation(
        model.skeleton,
        poses.detach().cpu(),
        rest_pose=model.bone_rot_rest.detach().cpu(),
        joints=model.rest_joints.detach().cpu(),
        fps=fps,
        name=name,
    )


def posed_world_vertices(model: ArticulatedModel, instance: int, level: int = 5) -> np.ndarray:
    """(nb, V, 3) camera-frame vertices of the instance in its own pose (for checks)."""
    with torch.no_grad():
        mesh = model(level=level, stop_at=10, deform=True, instances=torch.tensor([instance]))
    return mesh.verts[0].double().cpu().numpy()
