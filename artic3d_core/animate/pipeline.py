"""The animation stage for one instance (docs/method.md §9): a pose sequence, its renders (GIF +
MP4), T-DASS fine-tuning of the frames (before/after videos), and the rigged, animated GLB.

Outputs in ``out_dir``: ``source.gif/.mp4`` (rigid-part renders), ``tdass.gif/.mp4`` (after
T-DASS, when enabled), ``rig.glb`` (bones + 1 nodes, the sequence as a glTF animation),
``summary.json`` (frames, fps, warped-frame differences, which weights made it).
"""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path
from typing import Any

from artic3d_core.animate.flow import frame_flows
from artic3d_core.animate.render import render_sequence, write_gif, write_mp4
from artic3d_core.animate.sequences import instance_interpolation, ping_pong, self_interpolation
from artic3d_core.config import Params
from artic3d_core.export.gltf_rig import write_rigged_glb
from artic3d_core.export.model_rig import model_animation, rig_from_model
from artic3d_core.model.articulated import ArticulatedModel
from artic3d_core.seeding import seed_everything


def pose_sequence(model: ArticulatedModel, k: int, params: Params, other: int | None = None):
    """(N, nb, 3) bone offsets: the reference's self-interpolation, or instance k → ``other``."""
    a = params.animate
    th = model.bone_rot[k].detach()
    if a.sequence == "instances":
        j = other if other is not None else (k + 1) % model.n_instances
        return instance_interpolation(th, model.bone_rot[j].detach(), a.n_frames)
    return self_interpolation(th, a.n_frames)


def animate_instance(
    model: ArticulatedModel,
    k: int,
    out_dir: Path,
    params: Params,
    device,
    seed: int,
    cls: str,
    progress: bool = True,
) -> dict[str, Any]:
    """Render, T-DASS and export instance ``k`` of ``model`` into ``out_dir``."""
    t0 = time.time()
    gen = seed_everything(seed)
    a = params.animate
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    poses = pose_sequence(model, k, params)
    seq = render_sequence(model, k, poses, a.image_size, a.mesh_level, progress=progress)
    show = ping_pong(seq.frames) if a.ping_pong else seq.frames
    write_gif(out_dir / "source.gif", show, a.fps)
    write_mp4(out_dir / "source.mp4", show, a.fps)
    rig = rig_from_model(model, k, level=a.mesh_level)
    write_rigged_glb(out_dir / "rig.glb", rig, [model_animation(model, poses, a.fps, "sequence")])
    summary: dict[str, Any] = {
        "instance": k,
        "frames": int(poses.shape[0]),
        "fps": a.fps,
        "sequence": a.sequence,
        "seconds_render": round(time.time() - t0, 2),
    }
    weights = []
    if a.tdass and a.image_size % 8 == 0:
        from artic3d_core.animate.tdass import tdass
        from artic3d_core.guidance.base import format_prompt
        from artic3d_core.guidance.dass import update_latents
        from artic3d_core.guidance.stable_diffusion import load_prior

        sd = load_prior(params.weights, device, params.guidance.precision)
        weights.append(sd.info)
        size = a.image_size // 8
        flows = frame_flows(seq.pix_to_face, seq.verts_2d, seq.faces, size)
        prompt = format_prompt(params.guidance.tdass.prompt, cls)
        targets = functools.partial(
            update_latents, sd, prompt=prompt, settings=params.guidance.tdass, generator=gen
        )
        enc = functools.partial(sd.encode, generator=gen)
        res = tdass(seq.frames.to(device), flows, enc, sd.decode, targets, a, progress=progress)
        out = ping_pong(res.frames.cpu()) if a.ping_pong else res.frames.cpu()
        write_gif(out_dir / "tdass.gif", out, a.fps)
        write_mp4(out_dir / "tdass.mp4", out, a.fps)
        summary.update(
            warp_diff_source=res.warp_diff_input,
            warp_diff_per_frame_dass=res.warp_diff_baseline,
            warp_diff_tdass=res.warp_diff_output,
            prior=sd.info.label(),
        )
    summary["seconds"] = round(time.time() - t0, 2)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    return {**summary, "weights": weights}
