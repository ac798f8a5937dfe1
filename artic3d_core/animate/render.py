"""Render an instance through a pose sequence (hard renderer, white background) and write
GIF / MP4 files atomically. Also returns what T-DASS needs: per-frame pix_to_face and vertex
projections for flows from rasterisation (docs/method.md §9.2–9.3)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from artic3d_core.atomic import atomic_write
from artic3d_core.model.articulated import ArticulatedModel
from artic3d_core.render.backend import hard_rgb


@dataclass
class SequenceRender:
    """frames (N, 3, H, W) in [0, 1]; pix_to_face (N, H, W) face index into ``faces`` (−1 bg);
    verts_2d (N, V, 2) vertex projections in crop units; faces (F, 3)."""

    frames: torch.Tensor
    pix_to_face: torch.Tensor
    verts_2d: torch.Tensor
    faces: torch.Tensor


@torch.no_grad()
def render_sequence(
    model: ArticulatedModel,
    instance: int,
    poses: torch.Tensor,
    image_size: int = 512,
    level: int = 5,
    background: tuple[float, float, float] = (1.0, 1.0, 1.0),
    chunk: int = 4,
    progress: bool = True,
) -> SequenceRender:
    """Render ``instance`` with bone offsets ``poses`` (N, nb, 3) and its own camera."""
    N = poses.shape[0]
    frames, p2fs, v2d = [], [], []
    faces = None
    for s in tqdm(range(0, N, chunk), desc="render frames", disable=not progress, leave=False):
        th = poses[s : s + chunk].to(model.bone_rot)
        inst = torch.full((th.shape[0],), instance, dtype=torch.long, device=th.device)
        mesh = model(level=level, stop_at=10, deform=True, instances=inst, bone_rot=th)
        colors = model.uv_vertex_colors(mesh).expand(th.shape[0], -1, -1)
        rgb, _, p2f = hard_rgb(
            mesh.flat_verts, mesh.faces, colors, image_size, background=background
        )
        frames.append(rgb.clamp(0, 1))
        p2fs.append(p2f)
        v2d.append(mesh.verts_2d)
        faces = mesh.faces
    return SequenceRender(torch.cat(frames), torch.cat(p2fs), torch.cat(v2d), faces)


def _uint8_frames(frames: torch.Tensor) -> list[np.ndarray]:
    arr = (frames.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return list(arr)


def write_gif(path: str | Path, frames: torch.Tensor, fps: float = 10.0) -> Path:
    """frames (N, 3, H, W) in [0, 1] → looping GIF."""
    import imageio.v3 as iio

    imgs = _uint8_frames(frames)
    return atomic_write(
        path, lambda t: iio.imwrite(t, imgs, extension=".gif", duration=1000 / fps, loop=0)
    )


def write_mp4(path: str | Path, frames: torch.Tensor, fps: float = 10.0) -> Path:
    """frames (N, 3, H, W) in [0, 1] → H.264 MP4 (via imageio-ffmpeg; sides padded to even)."""
    import imageio.v2 as iio2

    imgs = _uint8_frames(frames)
    h, w = imgs[0].shape[:2]
    pad = ((0, h % 2), (0, w % 2), (0, 0))
    imgs = [np.pad(im, pad, mode="edge") for im in imgs]

    def write(t: str) -> None:
        with iio2.get_writer(
            t, format="FFMPEG", fps=fps, codec="libx264", macro_block_size=1
        ) as wr:
            for im in imgs:
                wr.append_data(im)

    return atomic_write(path, write)
