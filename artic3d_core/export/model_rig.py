"""Build a :class:`~artic3d_core.export.gltf_rig.Rig` and bone animations from a fitted
:class:`~artic3d_core.model.articulated.ArticulatedModel` instance.

A part vertex in the canonical frame is G_b·v_b + mid_b with mid_b = J'_p + G_b (J_c − J_p)/2,
so in the bone's node frame (origin at the head J'_p) it is v_b + (J_c − J_p)/2 (rest joints).
"""

from __future__ import annotations

import numpy as np
import torch

from artic3d_core.animate.sequences import bone_animation
from artic3d_core.export.gltf_rig import BoneAnimation, Rig
from artic3d_core.model.articulated import ArticulatedModel
from artic3d_core.model.template import sphere_template
from artic3d_core.model.texture import mirror_average_texture, sphere_uv
from artic3d_core.skeleton.skeleton import euler_to_matrix


@torch.no_grad()
def rig_from_model(model: ArticulatedModel, instance: int, level: int = 5) -> Rig:
    """The instance's part meshes (full part networks), UV textures and camera as a Rig.

    Textures are the model's logits through a sigmoid, mirror-averaged with the partner part
    (the model averages vertex colours across the mirror map; this is the texture-space twin).
    """
    X, faces = sphere_template(level, model.part_codes.device)
    sym = model.sym_map(level)
    v = model._shape_parts(X, True, 10, sym)  # (nb, V, 3) rest-frame parts centred at 0
    J = model.rest_joints
    par = model.skeleton.parents
    local = v + ((J[1:] - J[par[1:]]) / 2)[:, None]
    T = model.text_img.shape[-1]
    tex = torch.sigmoid(mirror_average_texture(model.text_img, model.bones_sym))
    tex = (tex.permute(0, 2, 3, 1).clamp(0, 1) * 255 + 0.5).to(torch.uint8)
    # grid_sample(align_corners=True): u = −1/+1 are the centres of the first/last texel
    uv = (sphere_uv(X) + 1) / 2 * (T - 1) / T + 0.5 / T
    R = euler_to_matrix(model.global_rot[instance], "ZXY")
    s = model.cfg.global_scale_factor * model.global_scale[instance] + 1
    t = torch.cat([model.global_trans[instance], torch.zeros(1, device=R.device)])
    names = model.skeleton.names[1:] if model.skeleton.names else None
    return Rig(
        parents=list(par),
        part_verts=local.double().cpu().numpy(),
        faces=faces.cpu().numpy(),
        uv=uv.double().cpu().numpy(),
        textures=tex.cpu().numpy(),
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
