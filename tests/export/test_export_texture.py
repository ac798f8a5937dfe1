"""Exported meshes look like the project's renders: the OBJ/GLB texture, sampled at the UVs a
viewer interpolates, reproduces the renderer's per-vertex colours (docs/method.md §4.7)."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
import torch
import trimesh

from artic3d_core.export.bake import bake_size, part_layout
from artic3d_core.export.gltf_rig import write_rigged_glb
from artic3d_core.export.model_rig import model_animation, rig_from_model
from artic3d_core.model.articulated import ArticulatedModel
from artic3d_core.model.template import sphere_template
from artic3d_core.model.texture import uv_colors
from artic3d_core.optim.outputs import save_instance_outputs
from artic3d_core.render import backend as rb
from artic3d_core.skeleton.toy import quadruped_skeleton

SIZE = 96
# Mean |texture-mapped render − render_input.png| over covered pixels, in 0–255 levels. The
# baked texture gives ~0.5 on this model (uint8 rounding, bilinear filtering at face edges);
# shipping the raw texture image with per-vertex sphere UVs instead gives ~49.
MAX_MEAN_ABS = 2.0


def _model() -> ArticulatedModel:
    m = ArticulatedModel(quadruped_skeleton(), n_instances=2, seed=0)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        m.text_img.copy_(torch.randn(m.text_img.shape, generator=g) * 2)
        m.global_rot.copy_(torch.randn(m.global_rot.shape, generator=g) * 0.5)
    return m


def _sample(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear texture lookup (clamped) at uv (…, 2), OBJ convention (v up) → (…, 3) in 0–255."""
    H, W = image.shape[:2]
    x = np.clip(uv[..., 0] * W - 0.5, 0, W - 1)
    y = np.clip((1.0 - uv[..., 1]) * H - 0.5, 0, H - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, W - 1), np.minimum(y0 + 1, H - 1)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    im = image[..., :3].astype(np.float64)
    top = im[y0, x0] * (1 - fx) + im[y0, x1] * fx
    bot = im[y1, x0] * (1 - fx) + im[y1, x1] * fx
    return top * (1 - fy) + bot * fy


def _texture(material) -> np.ndarray:
    """The colour image of a trimesh material (OBJ: SimpleMaterial.image, glTF: PBR base colour)."""
    img = getattr(material, "baseColorTexture", None) or getattr(material, "image", None)
    assert img is not None, "exported mesh has no texture image"
    return np.asarray(img.convert("RGB"))


def textured_render_error(path, render: np.ndarray) -> float:
    """Rasterise the exported mesh at ``path`` from the input view (the renderer's camera),
    colour each pixel from its texture at the barycentrically interpolated UV, and return the
    mean absolute difference from ``render`` (H, W, 3) uint8 over pixels the mesh covers."""
    tm = trimesh.load(path, force="mesh", process=False)
    image = _texture(tm.visual.material)
    verts = torch.as_tensor(np.asarray(tm.vertices), dtype=torch.float32)[None]
    faces = torch.as_tensor(np.asarray(tm.faces), dtype=torch.int64)
    frag = rb.rasterize(verts, faces, render.shape[0])
    p2f = frag.pix_to_face[0, ..., 0].numpy()
    covered = p2f >= 0
    bary = frag.bary[0, ..., 0, :].numpy()[covered]
    uv = np.asarray(tm.visual.uv)[np.asarray(tm.faces)[p2f[covered]]]  # (n, 3, 2)
    col = _sample(image, (uv * bary[..., None]).sum(1))
    return float(np.abs(col - render[covered].astype(np.float64)).mean())


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("inst")
    return save_instance_outputs(_model(), 1, out, level=3, image_size=SIZE, turntable_frames=2)


@pytest.mark.parametrize("kind", ["obj", "glb"])
def test_textured_mesh_reproduces_the_render(outputs, kind):
    render = iio.imread(outputs["render_input"])
    err = textured_render_error(outputs[kind], render)
    assert err < MAX_MEAN_ABS, f"{kind}: mean |texture render − render| = {err:.2f} levels"


def test_obj_texture_is_baked_everywhere(outputs):
    """No texel of the atlas is left at the unbaked fill value in the part tiles, and the UVs of
    every face lie inside one tile (no face interpolates across two parts)."""
    tm = trimesh.load(outputs["obj"], force="mesh", process=False)
    uv = np.asarray(tm.visual.uv)[np.asarray(tm.faces)]  # (F, 3, 2)
    assert uv.min() >= 0 and uv.max() <= 1
    nb = ArticulatedModel(quadruped_skeleton(), 1, seed=0).nb
    cols = int(np.ceil(np.sqrt(nb)))
    tile_col = np.floor(uv[..., 0] * cols)
    assert (tile_col == tile_col[:, :1]).all()


def test_rigged_glb_texture_matches_vertex_colours(tmp_path):
    """Per bone: the texture at each face centroid's UV ≈ the mean of its corners' render
    colours (the renderer interpolates vertex colours linearly across the face)."""
    m, inst, level = _model(), 0, 2
    rig = rig_from_model(m, inst, level=level)
    anim = model_animation(m, m.bone_rot[inst : inst + 1].detach().repeat(2, 1, 1), fps=4.0)
    path = write_rigged_glb(tmp_path / "rig.glb", rig, [anim])
    X, F = sphere_template(level)
    lay = part_layout(X.numpy(), F.numpy(), bake_size(level))
    col = uv_colors(m.text_img.detach(), X, m.sym_map(level)).reshape(m.nb, -1, 3).numpy() * 255
    scene = trimesh.load(path, force="scene")
    errs = []
    for b in range(m.nb):
        _, geom = scene.graph[f"bone_{b:02d}"]
        g = scene.geometry[geom]
        assert len(g.vertices) == len(lay.src)
        faces = np.asarray(g.faces)
        tex = _sample(_texture(g.visual.material), g.visual.uv[faces].mean(1))
        want = col[b][lay.src[faces]].mean(1)
        errs.append(np.abs(tex - want).mean())
    assert max(errs) < MAX_MEAN_ABS, errs  # ~0.2 levels
