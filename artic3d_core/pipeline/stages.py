"""The stage functions of the class pipeline (``docs/method.md §2-§10``): each reads its inputs
from the folders of earlier stages and writes its own files into ``out_dir``, all through
:mod:`artic3d_core.pipeline.stage_files`.

data → [rough foreground → enhanced image (per image)] → features → skeleton → joint →
instance (per image) → [animation] → evaluation.

Each returns a small JSON-able dict of what it did; a ``"weights"`` entry (``WeightsInfo``
objects) names the models that made the result. Who calls them in which order, and whether a
finished unit is reused, is the caller's business: :func:`artic3d_core.pipeline.reconstruct_class`
runs them all in order, the Prefect tasks wrap each one in a cached, atomic unit.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from artic3d_core.config import Params
from artic3d_core.errors import BadInputError
from artic3d_core.optim.config import StageSpec
from artic3d_core.optim.runner import (
    FitInputs,
    fit_instance,
    fit_instances,
    fit_joint,
    instance_state_keys,
)
from artic3d_core.pipeline import stage_files as sf
from artic3d_core.pipeline.inputs import FETCH, data_sets, dataset_root
from artic3d_core.pipeline.methods import (
    GUIDANCE_WEIGHT,
    MethodSpec,
    get_method,
    guidance_prompt,
    method_stages,
)
from artic3d_core.seeding import seed_everything

__all__ = [
    "FETCH",
    "FittedInstances",
    "data_sets",
    "dataset_root",
    "enhance_images_of",
    "fit_instances_of",
    "folder_saliency",
    "folder_saliency_used",
    "image_chunks",
    "run_animation",
    "run_data",
    "run_eval",
    "run_features",
    "run_instance",
    "run_joint",
    "run_rough_fg",
    "run_skeleton",
    "write_enhanced_image",
    "write_instance",
]


# ---- data ----------------------------------------------------------------------------------
def folder_saliency(params: Params, dataset: str, device: str = "cpu") -> Any:
    """The whole-photo DINO saliency that places an image folder's crops: only for the folder
    dataset with the ``dino`` backend and real weights (random weights' attention is noise);
    None otherwise (docs/method.md §1.5a)."""
    if not folder_saliency_used(params, dataset):
        return None
    from artic3d_core.features.dino import saliency_fn
    from artic3d_core.weights import load_dino

    model, _ = load_dino(params.weights, device)
    f = params.features
    return saliency_fn(model, f.lr_size, f.saliency_heads, device)


def folder_saliency_used(params: Params, dataset: str) -> bool:
    """Whether :func:`folder_saliency` places the crops (a part of the data stage's key)."""
    return (
        dataset == "folder"
        and params.features.backend == "dino"
        and params.weights.profile == "real"
    )


def run_data(params: Params, root: Path, dataset: str, cls: str, out_dir: Path) -> dict[str, Any]:
    """Load the class from ``root``, crop every image (``docs/method.md §1.4``), store the crops.

    An absent or empty ``root`` fails with the instructions to fetch the dataset."""
    from artic3d_core.data.crop import crop_record
    from artic3d_core.data.loaders import load_class
    from artic3d_core.data.records import DataError

    if not root.is_dir() or not any(root.iterdir()):
        how = FETCH.get(dataset, "").format(root=root)
        raise BadInputError(
            f"dataset '{dataset}' is enabled (pipeline.cells has {dataset}/{cls}) but "
            f"{root} is missing or empty.\n  To get it: {how}\n  Or remove the cell from "
            "pipeline.cells in params.yaml."
        )
    d = params.data
    scale = {"pascal_part": d.pascal_crop_scale, "folder": d.folder_crop_scale}.get(
        dataset, d.crop_scale
    )
    try:
        recs = load_class(
            dataset, root, cls, data_sets(params, dataset), scale, d.policy, d.min_images,
            d.pascal_zero_tail, saliency=folder_saliency(params, dataset),
        )  # fmt: skip
    except (DataError, FileNotFoundError) as exc:
        raise BadInputError(f"{dataset}/{cls}: {exc}") from None
    crops = [crop_record(r, params.crop_size()) for r in recs]
    return sf.write_crops(out_dir, crops, recs)


# ---- preprocess ----------------------------------------------------------------------------
def _gt(crops: sf.ClassCrops) -> Any:
    from artic3d_core.features.extract import GroundTruthMasks

    if crops.masks is None:
        return None
    return GroundTruthMasks(crops.masks, crops.part_masks)


@functools.lru_cache(maxsize=2)
def _prior(weights_json: str, device: str, precision: str) -> Any:
    """One SD prior per process and device (the per-image enhancement and the per-instance
    guidance share it)."""
    from artic3d_core.guidance.stable_diffusion import load_prior
    from artic3d_core.weights import WeightsConfig

    return load_prior(WeightsConfig.model_validate_json(weights_json), device, precision)


def run_rough_fg(params: Params, data_dir: Path, out_dir: Path, device) -> dict[str, Any]:
    """Rough foreground of all crops: the enhancement's background (docs/method.md §2.2)."""
    from artic3d_core.features.extract import rough_foreground

    p = params
    crops = sf.read_crops(data_dir)
    fg = rough_foreground(
        crops.images, p.features.backend, p.features, device, p.weights, _gt(crops),
        crops=crops.crop_info(),
    )  # fmt: skip
    sf.write_rough_fg(out_dir, fg)
    return {"n_images": int(fg.shape[0])}


def enhance_images_of(
    params: Params,
    data_dir: Path,
    fg_dir: Path,
    indices: Sequence[int],
    device,
    seeds: Sequence[int],
    cls: str,
) -> Any:
    """Enhance crops ``indices`` (``docs/method.md §2.2`` step 3): DASS calls of
    ``guidance.enhance.batch_size`` images, prompt ``guidance.enhance.prompt``, image
    ``indices[j]`` seeded by ``seeds[j]`` (its own stream: the same result as enhancing it
    alone). Returns the :class:`~artic3d_core.guidance.enhance.EnhanceResult`."""
    from artic3d_core.guidance.enhance import enhance
    from artic3d_core.seeding import GeneratorGroup

    p, idx = params, [int(i) for i in indices]
    crops = sf.read_crops(data_dir)
    mask = sf.read_rough_fg(fg_dir)[idx]
    sd = _prior(p.weights.model_dump_json(), str(device), p.guidance.precision)
    gen = GeneratorGroup([torch.Generator().manual_seed(int(s)) for s in seeds])
    return enhance(crops.images[idx].to(device), mask, sd, p.guidance, gen, cls=cls)


def write_enhanced_image(enhanced: Any, j: int, image_id: str, out_dir: Path) -> dict[str, Any]:
    """Write image j of an enhancement result (its crop ``image_id``) to ``out_dir``."""
    rec = {**enhanced.record(), "n_images": 1, "batch": int(enhanced.images.shape[0])}
    sf.write_enhanced(out_dir, enhanced.images[j], rec)
    rec.pop("weights", None)
    return {"image_id": image_id, "enhance": rec, "weights": [enhanced.weights]}


def run_features(
    params: Params, data_dir: Path, enhanced_dirs: Sequence[Path], out_dir: Path, device
) -> dict[str, Any]:
    """Features, clustering and part masks (``docs/method.md §2``) of the crops, or of their
    enhanced versions when ``enhanced_dirs`` (one folder per image, in order) are given."""
    from artic3d_core.features.extract import extract_features

    p = params
    crops = sf.read_crops(data_dir)
    images = sf.read_enhanced(enhanced_dirs) if enhanced_dirs else crops.images
    res = extract_features(
        images, p.features.backend, p.features, device, p.weights, _gt(crops),
        crops=crops.crop_info(),
    )  # fmt: skip
    info = sf.write_features(out_dir, res, bool(enhanced_dirs))
    info = {k: v for k, v in info.items() if k != "weights"}
    return {**info, "weights": [res.weights] if res.weights is not None else []}


# ---- skeleton ------------------------------------------------------------------------------
def run_skeleton(params: Params, features_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Discover the 3D skeleton from the clustered masks (``docs/method.md §3``)."""
    from artic3d_core.skeleton.discovery import discover_skeleton

    masks = sf.read_features(features_dir)["masks"]
    skel, report = discover_skeleton(
        masks,
        params.skeleton,
        reference=params.skeleton.reference,
        n_clusters=params.features.n_clusters,
    )
    sf.write_skeleton(out_dir, skel, report)
    return {"n_joints": len(getattr(skel, "parents", []))}


# ---- optimisation --------------------------------------------------------------------------
def _fit_inputs(
    params: Params,
    spec: MethodSpec,
    cls: str,
    data_dir: Path,
    features_dir: Path,
    enhanced_dirs: Sequence[Path],
    device,
) -> tuple[FitInputs, sf.ClassCrops, dict[str, torch.Tensor]]:
    """The optimisation's inputs on ``device``: the crops (or their enhanced versions) at the
    largest stage size, the preprocessing masks and features, the method's guidance prompt."""
    crops = sf.read_crops(data_dir)
    images = sf.read_enhanced(enhanced_dirs) if enhanced_dirs else crops.images
    feats = sf.read_features(features_dir)
    size = max(s.image_size for s in params.optim.stages())
    if images.shape[-1] != size:
        images = torch.nn.functional.interpolate(images, size=(size, size), mode="area")
    inputs = FitInputs(
        images.to(device),
        feats["masks"].to(device),
        feats["masks_lr"].to(device),
        feats["feat_img"].to(device),
        feats["part_cent"].to(device),
        guidance_prompt(params.guidance, spec, cls),
    )
    return inputs, crops, feats


def run_joint(
    params: Params,
    data_dir: Path,
    features_dir: Path,
    skeleton_dir: Path,
    out_dir: Path,
    method: str,
    device,
    seed: int,
    cls: str,
    enhanced_dirs: Sequence[Path] = (),
    ckpt_dir: Path | None = None,
) -> dict[str, Any]:
    """Joint stages (``docs/method.md §7.1``) on all images of the class; writes ``model.pt``.

    ``ckpt_dir``: persistent per-stage checkpoints (resume after a kill); None = none. The
    summary's ``timing`` gives per stage its seconds, iterations, render size, mesh level, batch
    (B) and whether it was resumed from a checkpoint (``StageResult.timing``)."""
    from artic3d_core.model.articulated import ArticulatedModel

    t0 = time.time()
    seed_everything(seed)
    spec = get_method(method, params.guidance)
    inputs, _, feats = _fit_inputs(params, spec, cls, data_dir, features_dir, enhanced_dirs, device)
    skeleton = sf.read_skeleton(skeleton_dir)
    n = inputs.images.shape[0]
    az = skeleton.azimuth if len(skeleton.azimuth) == n else None
    model = ArticulatedModel(
        skeleton, n, params.model, feats["feat_part"], azimuth=az, seed=seed
    ).to(device)
    res = fit_joint(
        model, inputs, method_stages(params, spec), ckpt_dir, seed, params.losses,
        params.optim.prior_level_for(), params.optim.progress,
    )  # fmt: skip
    saved = {
        "data_dir": str(data_dir),
        "features_dir": str(features_dir),
        "skeleton_dir": str(skeleton_dir),
        "enhanced_dirs": [str(d) for d in enhanced_dirs],
        "cls": cls,
    }
    summary = {
        "method": method,
        "images": model.n_instances,
        "enhanced_inputs": bool(enhanced_dirs),
        "stages": {r.name: r.final() for r in res},
        "timing": {r.name: r.timing() for r in res},
        "seconds": round(time.time() - t0, 2),
    }
    sf.write_joint(out_dir, model, saved, summary)
    return summary


def _guidance_for(params: Params, spec: MethodSpec, stages: list[StageSpec], device) -> Any:
    """(guidance, views function) when an instance stage carries the guidance weight; the SD
    prior is the process's cached one (:func:`_prior`), shared by every instance and the
    enhancement instead of loaded again per instance."""
    if not any(GUIDANCE_WEIGHT in s.weights for s in stages if s.phase == "instance"):
        return None, None
    from artic3d_core.guidance.base import build_guidance
    from artic3d_core.guidance.views import sample_views_from_config

    sd = _prior(params.weights.model_dump_json(), str(device), params.guidance.precision)
    guidance = build_guidance(spec.guidance, params.guidance, params.weights, device, sd=sd)
    return guidance, lambda g: sample_views_from_config(params.guidance, g)


@dataclass
class FittedInstances:
    """The per-instance stages of some images of a class, fitted (together or alone) and not
    yet written: ``models[j]`` / ``results[j]`` for image ``indices[j]``; ``seconds`` the wall
    time of the fit (shared by the images)."""

    indices: list[int]
    models: list[Any]
    results: list[list[Any]]
    inputs: FitInputs
    crops: sf.ClassCrops
    method: str
    guidance: str
    weights: list[Any]
    seconds: float

    @property
    def share(self) -> float:
        """Each image's share of the fit's wall time."""
        return self.seconds / len(self.indices)


def fit_instances_of(
    params: Params,
    joint_dir: Path,
    indices: Sequence[int],
    method: str,
    device,
    seeds: Sequence[int],
    ckpt_dir: Path | None = None,
) -> FittedInstances:
    """Per-instance stages (``docs/method.md §7.2``) for images ``indices`` of the class in
    ``joint_dir``: one image alone (:func:`fit_instance`), several as one batched optimisation
    (:func:`fit_instances`, the same result per image). ``seeds[j]`` seeds image
    ``indices[j]``; ``ckpt_dir``: persistent per-stage checkpoints of this fit (resume after a
    kill); None = none."""
    t0 = time.perf_counter()
    indices, seeds = [int(i) for i in indices], [int(s) for s in seeds]
    seed_everything(seeds[0])
    spec = get_method(method, params.guidance)
    joint, saved = sf.read_joint(joint_dir, params, device)
    inputs, crops, _ = _fit_inputs(
        params, spec, saved["cls"], Path(saved["data_dir"]), Path(saved["features_dir"]),
        [Path(d) for d in saved.get("enhanced_dirs", [])], device,
    )  # fmt: skip
    bad = [i for i in indices if not 0 <= i < joint.n_instances]
    if bad:
        raise ValueError(f"instances {bad} out of range (class has {joint.n_instances} images)")
    stages = method_stages(params, spec)
    guidance, views_fn = _guidance_for(params, spec, stages, device)
    weights = [guidance.info] if guidance is not None and guidance.info is not None else []
    common = (
        params.losses, params.optim.prior_level_for(), guidance, views_fn,
        params.optim.progress, params.guidance,
    )  # fmt: skip
    if len(indices) == 1:
        fits = [fit_instance(joint, indices[0], inputs, stages, ckpt_dir, seeds[0], *common)]
    else:
        fits = fit_instances(joint, indices, inputs, stages, seeds, ckpt_dir, *common)
    return FittedInstances(
        indices, [m for m, _ in fits], [r for _, r in fits], inputs, crops, method,
        spec.guidance, weights, time.perf_counter() - t0,
    )  # fmt: skip


def write_instance(
    params: Params, fitted: FittedInstances, j: int, out_dir: Path, outputs: bool = True
) -> dict[str, Any]:
    """Write image ``fitted.indices[j]``'s ``instance.pt`` and summary and, with ``outputs``,
    meshes / renders / a turntable GIF under ``outputs/``. The summary's ``timing`` records
    each stage's cost as :func:`run_joint`'s does (batch = images fitted together, seconds =
    this image's share); ``seconds`` is its share of the fit plus the writing."""
    t0 = time.perf_counter()
    index, model, res = fitted.indices[j], fitted.models[j], fitted.results[j]
    files = {}
    if outputs:
        from artic3d_core.optim.outputs import save_instance_outputs

        size = max(s.image_size for s in params.optim.stages())
        files = save_instance_outputs(
            model, index, Path(out_dir) / "outputs", fitted.inputs.images[index].cpu(),
            image_size=size,
        )  # fmt: skip
    summary = {
        "method": fitted.method,
        "index": index,
        "image_id": fitted.crops.image_ids[index],
        "set": fitted.crops.sets[index],
        "guidance": fitted.guidance,
        "prompt": fitted.inputs.prompt,
        "weights": sf.weights_dicts(fitted.weights),
        "stages": {r.name: r.final() for r in res},
        "timing": {r.name: r.timing() for r in res},
        "outputs": {k: str(Path(v).relative_to(out_dir)) for k, v in files.items()},
        "seconds": round(fitted.share + time.perf_counter() - t0, 2),
    }
    sf.write_instance(out_dir, model, index, summary, instance_state_keys)
    return {**summary, "weights": fitted.weights}


def run_instance(
    params: Params,
    joint_dir: Path,
    index: int,
    out_dir: Path,
    method: str,
    device,
    seed: int,
    outputs: bool = True,
    ckpt_dir: Path | None = None,
) -> dict[str, Any]:
    """Per-instance stages (``docs/method.md §7.2``) for image ``index`` alone, written to
    ``out_dir`` (:func:`fit_instances_of` then :func:`write_instance`)."""
    fitted = fit_instances_of(params, joint_dir, [index], method, device, [seed], ckpt_dir)
    return write_instance(params, fitted, 0, out_dir, outputs)


def image_chunks(n: int, batch: int | None) -> list[list[int]]:
    """Images 0..n−1 in chunks of ``batch`` fitted together (None: one chunk of all)."""
    size = batch or max(n, 1)
    return [list(range(i, min(i + size, n))) for i in range(0, n, size)]


def run_animation(
    params: Params, joint_dir: Path, inst_dir: Path, out_dir: Path, device, seed: int
) -> dict[str, Any]:
    """Animate one reconstructed instance (``docs/method.md §9``)."""
    from artic3d_core.animate.pipeline import animate_instance

    joint, saved = sf.read_joint(joint_dir, params, device)
    model, k = sf.read_instance(joint, inst_dir)
    return animate_instance(model, k, out_dir, params, device, seed, saved["cls"])


# ---- evaluation ----------------------------------------------------------------------------
def run_eval(
    params: Params,
    data_dir: Path,
    joint_dir: Path,
    instance_dirs: Sequence[Path],
    out_dir: Path,
    dataset: str,
    cls: str,
    method: str,
    device,
    params_hash: str,
    git_rev: str,
    run_seconds: float | None = None,
) -> dict[str, Any]:
    """PCK transfer, IoU, CLIP similarity, 3D errors per image set (``docs/method.md §10``);
    instances without an instance-stage result are evaluated with the joint model.
    ``run_seconds``: wall seconds of the class's stages before this one (a ``minutes`` row)."""
    from artic3d_core.eval.evaluate import evaluate_class

    crops = sf.read_crops(data_dir)
    joint, saved = sf.read_joint(joint_dir, params, device)
    models = [joint] * joint.n_instances
    weights = []
    for d in instance_dirs:
        m, k = sf.read_instance(joint, d)
        models[k] = m
        weights += sf.recorded_weights(sf.read_summary(d))
    weights += sf.enhancement_weights(saved.get("enhanced_dirs", []))
    features_dir = Path(saved["features_dir"])
    info = sf.read_features_info(features_dir)
    weights += sf.recorded_weights(info)
    fg = sf.read_features(features_dir)["masks"] > 0
    res = evaluate_class(
        crops, joint, models, fg, weights, info["backend"], params, dataset, cls, method, device,
        params_hash, git_rev, run_seconds,
    )  # fmt: skip
    summary = sf.write_eval(out_dir, res.rows, res.pck_per_keypoint, res.notes)
    return {"n_rows": len(res.rows), "metrics": summary}
