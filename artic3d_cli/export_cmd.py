"""``artic3d export``: one reconstructed instance as a rigged GLB, a textured OBJ, or an
animation (GIF / MP4), from the run folders written by the pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from artic3d_cli.common import DeviceOpt, ParamsOpt, SetOpt, load_or_exit


def export(
    dataset: Annotated[str, typer.Option(help="synthetic | lassie | e-lassie | pascal_part")],
    cls: Annotated[str, typer.Option("--cls", help="class name")],
    method: Annotated[str, typer.Option(help="hi-lassie | hi-lassie+ | artic3d")],
    inst: Annotated[int, typer.Option("--inst", help="instance (image) index")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="glb | obj | gif | mp4")] = "glb",
    out: Annotated[Path | None, typer.Option(help="output file (default: exports/...)")] = None,
    tdass: Annotated[bool, typer.Option(help="gif/mp4: T-DASS-refined frames")] = False,
    params: ParamsOpt = Path("params.yaml"),
    set_: SetOpt = None,
    device: DeviceOpt = None,
) -> None:
    """Export instance INST of a reconstructed class (run the pipeline first)."""
    import torch

    from artic3d_core.animate.pipeline import animate_instance, pose_sequence
    from artic3d_core.animate.render import render_sequence, write_gif, write_mp4
    from artic3d_core.animate.sequences import ping_pong
    from artic3d_core.device import resolve_device
    from artic3d_core.export.bake import bake_model_mesh
    from artic3d_core.export.gltf_rig import write_rigged_glb
    from artic3d_core.export.mesh import write_obj
    from artic3d_core.export.model_rig import model_animation, rig_from_model
    from artic3d_core.pipeline.layout import Cell, RunLayout
    from artic3d_core.pipeline.stage_files import read_instance, read_joint

    if fmt not in ("glb", "obj", "gif", "mp4"):
        raise typer.BadParameter(f"--format {fmt!r}: expected glb, obj, gif or mp4")
    cfg = load_or_exit(params, set_, device)
    dev = resolve_device(cfg.device)
    cell, lay = Cell(dataset, cls), RunLayout(Path(cfg.pipeline.run_dir))
    joint_dir = lay.stage_dir(cell, method, "joint")
    inst_dir = lay.instance_dir(cell, method, inst)
    try:
        joint, _ = read_joint(joint_dir, cfg, dev)
    except FileNotFoundError as exc:
        typer.secho(f"{exc}\n  run the pipeline for {dataset}/{cls} ({method}) first", err=True)
        raise typer.Exit(2) from None
    if not 0 <= inst < joint.n_instances:
        raise typer.BadParameter(f"--inst {inst}: the class has {joint.n_instances} images")
    model, k = (joint, inst)
    if inst_dir.is_dir():
        model, k = read_instance(joint, inst_dir)
    else:
        typer.echo(f"note: {inst_dir} not found, exporting the joint (class-level) shape")
    out = out or Path("exports") / dataset / cls / method / f"{inst:03d}.{fmt}"
    a = cfg.animate
    if fmt == "glb":
        poses = pose_sequence(model, k, cfg)
        write_rigged_glb(
            out, rig_from_model(model, k, a.mesh_level), [model_animation(model, poses, a.fps)]
        )
    elif fmt == "obj":
        with torch.no_grad():
            mesh = model(a.mesh_level, 10, True, None, torch.tensor([k], device=dev))
        b = bake_model_mesh(model, mesh)
        write_obj(out, b.verts, b.faces, b.uvs, b.image, b.normals)
    elif tdass:
        res = animate_instance(
            model, k, out.parent / f"{out.stem}_animation", cfg, dev, cfg.seed, cls
        )
        src = out.parent / f"{out.stem}_animation" / f"tdass.{fmt}"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(src.read_bytes())
        typer.echo(f"T-DASS warped-frame difference: {res.get('warp_diff_tdass')}")
    else:
        seq = render_sequence(model, k, pose_sequence(model, k, cfg), a.image_size, a.mesh_level)
        frames = ping_pong(seq.frames) if a.ping_pong else seq.frames
        (write_gif if fmt == "gif" else write_mp4)(out, frames, a.fps)
    typer.echo(f"wrote {out}")
