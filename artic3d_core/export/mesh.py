"""Textured mesh export: OBJ + MTL + PNG (UV texture atlas), GLB via trimesh, turntable GIF.

Every file is written to a temp file in the same folder, then renamed (no half-written files).
"""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch

from artic3d_core.atomic import atomic_write
from artic3d_core.model.texture import sphere_uv


def texture_atlas(text_img: torch.Tensor) -> np.ndarray:
    """Per-part textures (nb, 3, T, T) (sigmoid applied) → one atlas (T, nb·T, 3) uint8."""
    t = torch.sigmoid(text_img.detach().float()).clamp(0, 1).cpu()
    atlas = torch.cat(list(t), dim=-1).permute(1, 2, 0).numpy()
    return (atlas * 255 + 0.5).astype(np.uint8)


def atlas_uvs(template: torch.Tensor, nb: int) -> np.ndarray:
    """UVs (nb·V, 2) into the atlas for each part's template vertices (OBJ convention: v up)."""
    uv = sphere_uv(template.detach().cpu()).numpy()  # [-1,1]: u → column, v → row (down)
    u = (uv[:, 0] + 1) / 2
    v = (uv[:, 1] + 1) / 2
    out = []
    for b in range(nb):
        out.append(np.stack([(b + u) / nb, 1.0 - v], -1))
    return np.concatenate(out).astype(np.float32)


def write_obj(
    path: str | Path, verts: np.ndarray, faces: np.ndarray, uvs: np.ndarray, atlas: np.ndarray
) -> Path:
    """Write ``path`` (.obj) with ``<stem>.mtl`` and ``<stem>.png``; vertices (V, 3), faces (F, 3)
    0-based, per-vertex uvs (V, 2). Texture seams at u = ±1 are left as is (shared vertices)."""
    path = Path(path)
    stem = path.stem
    png, mtl = path.with_suffix(".png"), path.with_suffix(".mtl")
    atomic_write(png, lambda t: iio.imwrite(t, atlas, extension=".png"))
    atomic_write(
        mtl,
        lambda t: Path(t).write_text(
            f"newmtl {stem}\nKa 1 1 1\nKd 1 1 1\nKs 0 0 0\nd 1\nillum 1\nmap_Kd {png.name}\n"
        ),
    )
    lines = [f"mtllib {mtl.name}", f"usemtl {stem}"]
    lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in verts]
    lines += [f"vt {u:.6f} {v:.6f}" for u, v in uvs]
    lines += [f"f {a}/{a} {b}/{b} {c}/{c}" for a, b, c in faces + 1]
    atomic_write(path, lambda t: Path(t).write_text("\n".join(lines) + "\n"))
    return path


def write_glb(
    path: str | Path, verts: np.ndarray, faces: np.ndarray, uvs: np.ndarray, atlas: np.ndarray
) -> Path:
    """Write a textured binary glTF via trimesh."""
    import trimesh
    from PIL import Image

    path = Path(path)
    visual = trimesh.visual.TextureVisuals(uv=uvs, image=Image.fromarray(atlas))
    mesh = trimesh.Trimesh(vertices=verts, faces=faces, visual=visual, process=False)
    atomic_write(path, lambda t: Path(t).write_bytes(mesh.export(file_type="glb")))
    return path


def validate_glb(path: str | Path) -> dict:
    """Round-trip through pygltflib and trimesh; raise ValueError naming the file on failure.
    Returns counts (meshes, accessors, images, vertices)."""
    import pygltflib
    import trimesh

    path = Path(path)
    try:
        g = pygltflib.GLTF2().load(str(path))
        blob = g.binary_blob()
        if not g.meshes or not g.accessors or blob is None:
            raise ValueError("no meshes/accessors/buffer")
        for acc in g.accessors:
            view = g.bufferViews[acc.bufferView]
            if view.byteOffset is not None and view.byteOffset + view.byteLength > len(blob):
                raise ValueError("buffer view past the end of the binary chunk")
        g2 = pygltflib.GLTF2().load_from_bytes(b"".join(g.save_to_bytes()))
        if len(g2.accessors) != len(g.accessors):
            raise ValueError("pygltflib round trip changed the accessors")
        tm = trimesh.load(str(path), force="mesh")
    except Exception as exc:
        raise ValueError(f"{path}: invalid GLB ({exc})") from None
    return {
        "meshes": len(g.meshes), "accessors": len(g.accessors), "images": len(g.images or []),
        "vertices": len(tm.vertices),
    }  # fmt: skip


def write_gif(path: str | Path, frames: list[np.ndarray], fps: float = 12.0) -> Path:
    """Frames (H, W, 3) uint8 → looping GIF."""
    path = Path(path)
    atomic_write(
        path,
        lambda t: iio.imwrite(t, np.stack(frames), extension=".gif", duration=1000 / fps, loop=0),
    )
    return path
