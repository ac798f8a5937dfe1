"""Stage functions over the run layout: the joint (class-level) optimisation and the
per-instance optimisation, reading the outputs of the data / preprocess / skeleton stages.

Inputs (written by earlier stages):
  data_dir/crops.npz + index.json       (:mod:`artic3d_core.data.store`)
  features_dir/features.npz             masks, masks_lr, feat_img, feat_part, part_cent
  features_dir/../enhanced/<id>/image.npy  DASS-enhanced crops (methods that enhance inputs)
  skeleton_dir/skeleton.json
Outputs:
  joint:     model.pt (state dict + what is needed to rebuild it), summary.json
  instance:  instance.pt (part networks + texture of instance k), summary.json, outputs/ (meshes,
             renders, turntable GIF)
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from artic3d_core.config import Params
from artic3d_core.data.store import load_crops
from artic3d_core.guidance.methods import MethodSpec, get_method
from artic3d_core.model.articulated import ArticulatedModel
from artic3d_core.optim.config import StageSpec
from artic3d_core.optim.runner import FitInputs, fit_instance, fit_joint, instance_state_keys
from artic3d_core.seeding import seed_everything
from artic3d_core.skeleton.skeleton import Skeleton

log = logging.getLogger(__name__)

MODEL_FILE = "model.pt"
INSTANCE_FILE = "instance.pt"
SUMMARY_FILE = "summary.json"


@dataclass
class ClassInputs:
    """Everything the optimisation reads for one class."""

    inputs: FitInputs
    skeleton: Skeleton
    feat_part: torch.Tensor
    image_ids: list[str]
    sets: list[str]
    enhanced: bool


def method_stages(params: Params, spec: MethodSpec) -> list[StageSpec]:
    """The schedule's stages with the guidance term kept only where ``spec`` guides."""
    out = []
    for s in params.optim.stages():
        if "dass" in s.weights and not spec.guided(s.name):
            s = s.model_copy(
                update={"weights": {k: v for k, v in s.weights.items() if k != "dass"}}
            )
        out.append(s)
    return out


def prompt_for(params: Params, cls: str) -> str:
    from artic3d_core.guidance.base import format_prompt

    return format_prompt(params.guidance.dass.prompt, cls)


def load_class_inputs(
    data_dir: Path, features_dir: Path, skeleton_dir: Path, cls: str, params: Params, device
) -> ClassInputs:
    """Read the stage outputs into :class:`FitInputs` on ``device`` (images at the largest stage
    size; enhanced crops when the preprocess stage wrote them)."""
    crops = load_crops(data_dir)
    images = crops.images
    enh_dir = Path(features_dir).parent / "enhanced"
    enhanced = False
    if enh_dir.is_dir():
        files = [enh_dir / str(i) / "image.npy" for i in crops.image_ids]
        if all(f.is_file() for f in files):
            arr = np.stack([np.load(f) for f in files])
            images = torch.from_numpy(arr).permute(0, 3, 1, 2).float() / 255.0
            enhanced = True
    fpath = Path(features_dir) / "features.npz"
    if not fpath.is_file():
        raise FileNotFoundError(f"{fpath}: missing (run the preprocess stage first)")
    with np.load(fpath) as z:
        feats = {k: torch.from_numpy(z[k]) for k in z.files}
    skeleton = Skeleton.load(Path(skeleton_dir) / "skeleton.json")
    size = max(s.image_size for s in params.optim.stages())
    if images.shape[-1] != size:
        images = torch.nn.functional.interpolate(images, size=(size, size), mode="area")
    inputs = FitInputs(
        images.to(device),
        feats["masks"].long().to(device),
        feats["masks_lr"].long().to(device),
        feats["feat_img"].float().to(device),
        feats["part_cent"].float().to(device),
        prompt_for(params, cls),
    )
    return ClassInputs(
        inputs, skeleton, feats["feat_part"].float(), crops.image_ids, crops.sets, enhanced
    )


def build_model(ci: ClassInputs, params: Params, seed: int, device) -> ArticulatedModel:
    n = ci.inputs.images.shape[0]
    az = ci.skeleton.azimuth if len(ci.skeleton.azimuth) == n else None
    return ArticulatedModel(ci.skeleton, n, params.model, ci.feat_part, azimuth=az, seed=seed).to(
        device
    )


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=1, default=str))


def run_joint(
    data_dir: Path,
    features_dir: Path,
    skeleton_dir: Path,
    out_dir: Path,
    params: Params,
    method: str,
    device,
    seed: int,
    ckpt_dir: Path | None = None,
    cls: str = "animal",
) -> dict[str, Any]:
    """Joint stages (spec §7.1) on all images of the class; writes ``model.pt``.

    ``ckpt_dir``: persistent per-stage checkpoints (resume after a kill); None = none.
    """
    t0 = time.time()
    seed_everything(seed)
    spec = get_method(method, params.guidance)
    ci = load_class_inputs(data_dir, features_dir, skeleton_dir, cls, params, device)
    model = build_model(ci, params, seed, device)
    res = fit_joint(
        model, ci.inputs, method_stages(params, spec), ckpt_dir, seed, params.losses,
        params.optim.prior_level_for(), params.optim.progress,
    )  # fmt: skip
    out_dir = Path(out_dir)
    torch.save(
        {
            "model": model.state_dict(),
            "n_instances": model.n_instances,
            "skeleton": ci.skeleton.to_json_dict(),
            "inputs": {
                "data_dir": str(data_dir),
                "features_dir": str(features_dir),
                "skeleton_dir": str(skeleton_dir),
                "cls": cls,
            },
        },
        out_dir / MODEL_FILE,
    )
    summary = {
        "method": method,
        "images": model.n_instances,
        "enhanced_inputs": ci.enhanced,
        "stages": {r.name: r.final() for r in res},
        "seconds": round(time.time() - t0, 2),
    }
    _write_json(out_dir / SUMMARY_FILE, summary)
    return summary


def load_joint(joint_dir: Path, params: Params, device) -> tuple[ArticulatedModel, dict]:
    """Rebuild the joint model saved by :func:`run_joint`; returns (model, saved inputs)."""
    path = Path(joint_dir) / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (run the joint optimisation first)")
    state = torch.load(path, map_location="cpu", weights_only=True)
    sk = Skeleton.from_json_dict(state["skeleton"], source=str(path))
    model = ArticulatedModel(sk, int(state["n_instances"]), params.model)
    model.load_state_dict(state["model"], strict=True)
    return model.to(device), state["inputs"]


def load_instance(joint: ArticulatedModel, inst_dir: Path) -> tuple[ArticulatedModel, int]:
    """The joint model with instance k's part networks and texture (from ``instance.pt``)."""
    import copy

    path = Path(inst_dir) / INSTANCE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (run the instance optimisation first)")
    state = torch.load(path, map_location=joint.bone_rot.device, weights_only=True)
    m = copy.deepcopy(joint)
    m.load_state_dict(state["model"], strict=False)
    return m, int(state["index"])


def run_instance(
    joint_dir: Path,
    index: int,
    out_dir: Path,
    params: Params,
    method: str,
    device,
    seed: int,
    outputs: bool = True,
) -> dict[str, Any]:
    """Per-instance stages (spec §7.2) for image ``index``; writes ``instance.pt`` and, with
    ``outputs``, meshes / renders / a turntable GIF under ``outputs/``."""
    t0 = time.time()
    seed_everything(seed)
    spec = get_method(method, params.guidance)
    joint, saved = load_joint(joint_dir, params, device)
    ci = load_class_inputs(
        Path(saved["data_dir"]), Path(saved["features_dir"]), Path(saved["skeleton_dir"]),
        saved["cls"], params, device,
    )  # fmt: skip
    if not 0 <= index < joint.n_instances:
        raise ValueError(f"instance {index} out of range (class has {joint.n_instances} images)")
    stages = method_stages(params, spec)
    guidance = views_fn = None
    weights = []
    if any("dass" in s.weights for s in stages if s.phase == "instance"):
        from artic3d_core.guidance.base import build_guidance
        from artic3d_core.guidance.views import sample_views_from_config

        guidance = build_guidance(spec.guidance, params.guidance, params.weights, device)
        views_fn = lambda g: sample_views_from_config(params.guidance, g)  # noqa: E731
        if guidance.info is not None:
            weights.append(guidance.info)
    model, res = fit_instance(
        joint, index, ci.inputs, stages, None, seed, params.losses,
        params.optim.prior_level_for(), guidance, views_fn, params.optim.progress,
        params.guidance,
    )  # fmt: skip
    out_dir = Path(out_dir)
    sd = {k: v for k, v in model.state_dict().items() if instance_state_keys(k)}
    torch.save({"model": sd, "index": index}, out_dir / INSTANCE_FILE)
    files = {}
    if outputs:
        from artic3d_core.optim.outputs import save_instance_outputs

        size = max(s.image_size for s in stages)
        files = save_instance_outputs(
            model, index, out_dir / "outputs", ci.inputs.images[index].cpu(), image_size=size
        )
    summary = {
        "method": method,
        "index": index,
        "image_id": ci.image_ids[index],
        "set": ci.sets[index],
        "guidance": spec.guidance,
        "stages": {r.name: r.final() for r in res},
        "outputs": {k: str(Path(v).relative_to(out_dir)) for k, v in files.items()},
        "seconds": round(time.time() - t0, 2),
    }
    _write_json(out_dir / SUMMARY_FILE, summary)
    return {**summary, "weights": weights}
