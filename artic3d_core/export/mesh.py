"""Textured mesh export: OBJ + MTL + PNG (UV texture atlas), GLB via trimesh, turntable GIF.

The atlas and UVs come from :mod:`artic3d_core.export.bake` (the renderer's vertex colours baked
into each face's UV triangle).

Every file is written to a temp file in the same folder, then renamed (no half-written files).
"""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np

from artic3d_core.atomic import atomic_write


def write_obj(
    path: str | Path,
    verts: np.ndarray,
    faces: np.ndarray,
    uvs: np.ndarray,
    atlas: np.ndarray,
    normals: np.ndarray | None = None,
) -> Path:
    """Write ``path`` (.obj) with ``<stem>.mtl`` and ``<stem>.png``; vertices (V, 3), faces (F, 3)
    0-based, per-vertex uvs (V, 2) into ``atlas`` (OBJ convention: v up), optional per-vertex
    ``normals`` (V, 3) (written as ``vn`` so vertices split at UV seams still shade smoothly)."""
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
    if normals is None:
        lines += [f"f {a}/{a} {b}/{b} {c}/{c}" for a, b, c in faces + 1]
    else:
        lines += [f"vn {x:.6f} {y:.6f} {z:.6f}" for x, y, z in normals]
        lines += [f"f {a}/{a}/{a} {b}/{b}/{b} {c}/{c}/{c}" for a, b, c in faces + 1]
    atomic_write(path, lambda t: Path(t).write_text("\n".join(lines) + "\n"))
    return path


def write_glb(
    path: str | Path,
    verts: np.ndarray,
    faces: np.ndarray,
    uvs: np.ndarray,
    atlas: np.ndarray,
    normals: np.ndarray | None = None,
) -> Path:
    """Write a textured binary glTF via trimesh (arguments as :func:`write_obj`)."""
    import trimesh
    from PIL import Image

    path = Path(path)
    visual = trimesh.visual.TextureVisuals(uv=uvs, image=Image.fromarray(atlas))
    mesh = trimesh.Trimesh(
        vertices=verts, faces=faces, vertex_normals=normals, visual=visual, process=False
    )
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
