"""What other areas consume from a fitted class: per-instance projections and visibility for
PCK, silhouettes for IoU, novel-view renders for CLIP, and the per-instance files (meshes,
renders, turntable GIF).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from artic3d_core.export.bake import bake_model_mesh
from artic3d_core.export.mesh import validate_glb, write_gif, write_glb, write_obj
from artic3d_core.model.articulated import ArticulatedModel
from artic3d_core.render import backend as rb


@dataclass
class InstanceGeometry:
    """Per instance i (same template vertex index across instances, docs/method.md §10.1):
    verts_2d (B, V, 2) crop units; vert_visible (B, V) bool; silhouettes (B, S, S) bool;
    part_masks (B, S, S) int (0 = background); verts_3d (B, V, 3) and joints_3d (B, nj, 3)
    in the camera frame (docs/method.md §4.5)."""

    verts_2d: torch.Tensor
    vert_visible: torch.Tensor
    silhouettes: torch.Tensor
    part_masks: torch.Tensor
    verts_3d: torch.Tensor
    joints_3d: torch.Tensor


@torch.no_grad()
def instance_geometry(
    models: list[ArticulatedModel], level: int = 3, image_size: int = 128
) -> InstanceGeometry:
    """Evaluate instance i with its own model ``models[i]`` (its instance-specific MLPs; the
    camera/pose of instance i) at mesh ``level`` without jitter — the per-image indexing of
    LASSIE, fixing the reference's flat-batch defect. A single joint model may be passed B times."""
    v2, vis, sil, parts, v3, j3 = [], [], [], [], [], []
    for i, m in enumerate(models):
        mesh = m(level, 10, True, None, torch.tensor([i], device=m.bone_rot.device))
        v = mesh.flat_verts
        v2.append(mesh.verts_2d[0])
        v3.append(v[0])
        j3.append(mesh.joints[0])
        vis.append(rb.vertex_visibility(v, mesh.faces, image_size)[0])
        pl = rb.part_labels(v, mesh.faces, mesh.faces_per_part, image_size)[0]
        parts.append(pl)
        sil.append(pl > 0)
    return InstanceGeometry(
        torch.stack(v2), torch.stack(vis), torch.stack(sil), torch.stack(parts),
        torch.stack(v3), torch.stack(j3),
    )  # fmt: skip


@torch.no_grad()
def render_instance_views(
    model: ArticulatedModel,
    k: int,
    azim_deg: list[float] | torch.Tensor,
    elev_deg: list[float] | torch.Tensor | float = 30.0,
    image_size: int = 128,
    level: int = 3,
    background: tuple[float, float, float] = (1.0, 1.0, 1.0),
    texture: str = "uv",
    image: torch.Tensor | None = None,
) -> torch.Tensor:
    """Render instance ``k`` (articulated, centred, no camera transform) from novel views
    (orthographic, focal 1) → (N, 3, S, S) in [0, 1]. CLIP: 36 azimuths at 30°
    (docs/method.md §10.3).
    ``texture``: 'uv' (the instance texture) or 'sample' (colours sampled from ``image``)."""
    az = torch.as_tensor(azim_deg, dtype=torch.float32).reshape(-1)
    n = az.shape[0]
    el = torch.as_tensor(elev_deg, dtype=torch.float32).reshape(-1).expand(n).clone()
    dev = model.bone_rot.device
    mesh = model(level, 10, True, None, torch.tensor([k], device=dev))
    v = mesh.verts_can.reshape(1, -1, 3)
    v = v - (v.amax(1, keepdim=True) + v.amin(1, keepdim=True)) / 2
    v = v / v.norm(dim=-1).amax().clamp_min(1e-6) * 0.9
    if texture == "sample" and image is not None:
        col = model.sampled_vertex_colors(mesh, image[None].to(dev))[0]
    else:
        col = model.uv_vertex_colors(mesh)
    views = rb.RenderViews(az.to(dev), el.to(dev), torch.ones(n, device=dev))
    rgb, _, _ = rb.hard_rgb(
        v.expand(n, -1, -1), mesh.faces, col.expand(n, -1, -1), image_size, views,
        background, ambient=0.7, diffuse=0.4,
    )  # fmt: skip
    return rgb.clamp(0, 1)


def _to_uint8(img: torch.Tensor) -> np.ndarray:
    return (img.detach().permute(1, 2, 0).clamp(0, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8)


@torch.no_grad()
def save_instance_outputs(
    model: ArticulatedModel,
    k: int,
    out_dir: str | Path,
    image: torch.Tensor | None = None,
    level: int = 3,
    image_size: int = 128,
    turntable_frames: int = 24,
) -> dict[str, Path]:
    """Write instance ``k``'s textured ``mesh.obj`` (+ .mtl, .png), ``mesh.glb`` (validated),
    ``render_input.png`` (input view), ``render_novel_{0,90,180,270}.png`` and ``turntable.gif``."""
    import imageio.v3 as iio

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dev = model.bone_rot.device
    mesh = model(level, 10, True, None, torch.tensor([k], device=dev))
    baked = bake_model_mesh(model, mesh)  # the render colours, so the files look like the renders
    tm = (baked.verts, baked.faces, baked.uvs, baked.image, baked.normals)
    files = {"obj": write_obj(out / "mesh.obj", *tm), "glb": write_glb(out / "mesh.glb", *tm)}
    validate_glb(files["glb"])
    col = model.uv_vertex_colors(mesh)
    rgb, _, _ = rb.hard_rgb(mesh.flat_verts, mesh.faces, col[None], image_size)
    p = out / "render_input.png"
    iio.imwrite(p, _to_uint8(rgb[0]))
    files["render_input"] = p
    novel = render_instance_views(model, k, [0.0, 90.0, 180.0, 270.0], 15.0, image_size, level)
    for a, img in zip((0, 90, 180, 270), novel, strict=True):
        p = out / f"render_novel_{a}.png"
        iio.imwrite(p, _to_uint8(img))
        files[f"render_novel_{a}"] = p
    az = torch.linspace(0, 360, turntable_frames + 1)[:-1]
    frames = render_instance_views(model, k, az, 15.0, image_size, level)
    files["turntable"] = write_gif(out / "turntable.gif", [_to_uint8(f) for f in frames])
    return files
