"""``artic3d run``: one class end to end without Prefect (for debugging).

preprocess (features) → skeleton discovery → joint stages → per-instance stages → outputs →
PCK / IoU. Checkpoints under ``<run_dir>/<dataset>/<cls>/<method>/``; a re-run resumes.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import torch
import typer

from artic3d_cli.common import DeviceOpt, ParamsOpt, SetOpt, load_or_exit


def run(
    dataset: str = typer.Option(
        "synthetic", help="synthetic | lassie | e-lassie | pascal_part | folder"
    ),
    cls: str = typer.Option("zebra", "--cls", help="class name"),
    method: str = typer.Option("hi-lassie", help="hi-lassie | hi-lassie+ | artic3d"),
    max_images: int = typer.Option(0, help="use only the first N images (0 = all)"),
    outputs: bool = typer.Option(True, help="write meshes, renders and GIFs per instance"),
    params: ParamsOpt = "params.yaml",
    set_: SetOpt = None,
    device: DeviceOpt = None,
) -> None:
    """Reconstruct one class end to end and print PCK@0.1 / mask IoU."""
    from artic3d_core.data.crop import crop_record
    from artic3d_core.data.loaders import load_class_from_config
    from artic3d_core.data.records import KEYPOINT_NAMES
    from artic3d_core.device import resolve_device
    from artic3d_core.eval.iou import silhouette_iou
    from artic3d_core.eval.pck import pck_transfer
    from artic3d_core.features.extract import GroundTruthMasks, extract_features
    from artic3d_core.guidance.methods import get_method
    from artic3d_core.model.articulated import ArticulatedModel
    from artic3d_core.optim.outputs import instance_geometry, save_instance_outputs
    from artic3d_core.optim.pipeline import method_stages
    from artic3d_core.optim.runner import FitInputs, fit_instance, fit_joint
    from artic3d_core.run_lock import RunFolderBusyError, RunFolderLock
    from artic3d_core.seeding import seed_everything
    from artic3d_core.skeleton.discovery import discover_skeleton

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    cfg = load_or_exit(params, set_, device)
    dev = resolve_device(cfg.device)
    seed_everything(cfg.seed)
    t0 = time.time()
    spec = get_method(method, cfg.guidance)
    run_dir = Path(cfg.pipeline.run_dir) / dataset / cls / method
    try:
        lock = RunFolderLock(run_dir).acquire()
    except RunFolderBusyError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    if dataset == "synthetic" and not Path(cfg.data.synthetic_root).is_dir():
        from artic3d_core.data.synthetic.generator import generate

        typer.echo(f"generating the synthetic benchmark in {cfg.data.synthetic_root}")
        generate(cfg.data.synthetic_root, [cls], seed=cfg.seed, preset="demo")
    recs = load_class_from_config(dataset, cls, cfg.data)
    recs = [r for r in recs if r.set == "clean"] or recs
    if max_images:
        recs = recs[:max_images]
    # the pipeline's crop size (features at the mask size; the stages resize per stage)
    crops = [crop_record(r, cfg.crop_size()) for r in recs]
    images = torch.stack([c.image for c in crops]).to(dev)
    gt = None
    if all(c.mask is not None for c in crops):
        gt = GroundTruthMasks(
            np.stack([c.mask for c in crops]),
            np.stack([c.part_mask for c in crops])
            if all(c.part_mask is not None for c in crops)
            else None,
        )
    feats = extract_features(images, cfg.features.backend, cfg.features, dev, cfg.weights, gt=gt)
    skeleton, _report = discover_skeleton(feats.masks.cpu(), cfg.skeleton)
    skeleton.save(run_dir / "skeleton" / "skeleton.json")
    typer.echo(f"{len(recs)} images, features '{feats.backend}', skeleton {skeleton.nb} bones")

    # guidance only where the method says so; never silently skipped
    guidance = views_fn = None
    run_stages = method_stages(cfg, spec)
    if any("dass" in s.weights for s in run_stages):
        try:
            from artic3d_core.guidance.base import build_guidance
            from artic3d_core.guidance.views import sample_views_from_config
        except ImportError as exc:
            raise typer.BadParameter(
                f"method {method} needs guidance, unavailable: {exc}"
            ) from None
        guidance = build_guidance(spec.guidance, cfg.guidance, cfg.weights, dev)
        views_fn = lambda g: sample_views_from_config(cfg.guidance, g)  # noqa: E731

    prompt = f"A photo of {cls.split('-')[0]}"
    inputs = FitInputs(images, feats.masks.to(dev), feats.masks_lr.to(dev), feats.feat_img.to(dev),
                       feats.part_cent.to(dev), prompt)  # fmt: skip
    model = ArticulatedModel(skeleton, len(recs), cfg.model, feats.feat_part, seed=cfg.seed).to(dev)
    prior = cfg.optim.prior_level_for()
    ck = cfg.optim.checkpoint
    fit_joint(model, inputs, run_stages, run_dir / "joint" if ck else None, cfg.seed, cfg.losses,
              prior, cfg.optim.progress)  # fmt: skip
    inst_models = []
    for k in range(len(recs)):
        mk, _ = fit_instance(
            model, k, inputs, run_stages, run_dir / "instances" / str(k) if ck else None, cfg.seed,
            cfg.losses, prior, guidance, views_fn, cfg.optim.progress, cfg.guidance,
        )  # fmt: skip
        inst_models.append(mk)
        if outputs:
            save_instance_outputs(
                mk, k, run_dir / "instances" / str(k) / "outputs", images[k].cpu()
            )
    # as the pipeline's evaluation
    size = cfg.eval_render_size()
    geo = instance_geometry(inst_models, level=3, image_size=size)
    kps = np.stack([c.keypoints for c in crops])
    pck = pck_transfer(geo.verts_2d.cpu().numpy(), geo.vert_visible.cpu().numpy(), kps)
    summary = {"dataset": dataset, "class": cls, "method": method, "images": len(recs),
               "features": feats.backend, "pck@0.1": pck.pck, "minutes": (time.time() - t0) / 60}  # fmt: skip
    summary["pck_per_keypoint"] = {
        n: round(float(v), 4) for n, v in zip(KEYPOINT_NAMES, pck.per_keypoint, strict=True)
        if np.isfinite(v)
    }  # fmt: skip
    if gt is not None:
        pred = torch.nn.functional.interpolate(
            geo.silhouettes[:, None].float(), size=gt.masks.shape[-2:]
        )
        summary["mask_iou"] = silhouette_iou(pred[:, 0].cpu().numpy() > 0.5, gt.masks).mean
    (run_dir / "eval").mkdir(parents=True, exist_ok=True)
    (run_dir / "eval" / "summary.json").write_text(json.dumps(summary, indent=1))
    lock.release()
    typer.echo(json.dumps(summary))
