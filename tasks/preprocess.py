"""Stage ``preprocess``: input enhancement (mapped per image), features and clustering.

``runs/<cell>/<method>/preprocess/``:

* ``rough_fg/``           rough foreground masks of all crops (only when the method enhances);
* ``enhanced/<image_id>/`` one unit per image: the DASS-enhanced crop (``image.npy`` uint8);
* ``features/``           ``features.npz`` (masks, masks_lr, feat_img, feat_part, part_cent,
  saliency) from :func:`artic3d_core.features.extract.extract_features`.
"""

from __future__ import annotations

import functools
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from prefect import task

from artic3d_core.data.store import load_crops
from tasks.artifacts import UnitResult, build_unit
from tasks.context import StageContext
from tasks.errors import BadInputError
from tasks.options import TASK_OPTIONS

ENHANCE_SECTIONS = ("features", "guidance", "weights")
ENHANCE_MODULES = ("artic3d_core.guidance", "artic3d_core.features", "tasks.preprocess")
FEATURE_SECTIONS = ("features", "weights")
FEATURE_MODULES = ("artic3d_core.features", "tasks.preprocess")


def method_spec(ctx: StageContext) -> Any:
    from artic3d_core.guidance.methods import get_method

    try:
        return get_method(ctx.method or "", ctx.params.guidance)
    except ValueError as exc:
        raise BadInputError(str(exc)) from None


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    path.write_bytes(buf.getvalue())


@functools.lru_cache(maxsize=2)
def _prior(weights_json: str, device: str, precision: str) -> Any:
    """One SD prior per process (the mapped per-image tasks share it)."""
    from artic3d_core.guidance.stable_diffusion import load_prior
    from artic3d_core.weights import WeightsConfig

    return load_prior(WeightsConfig.model_validate_json(weights_json), device, precision)


def _gt(crops: Any) -> Any:
    from artic3d_core.features.extract import GroundTruthMasks

    if crops.masks is None:
        return None
    return GroundTruthMasks(crops.masks, crops.part_masks)


def run_rough_fg(ctx: StageContext, data: UnitResult) -> UnitResult:
    out = ctx.layout.stage_dir(ctx.cell, ctx.method or "", "preprocess") / "rough_fg"
    sections = ("features", "weights")
    key = ctx.key("rough_fg", sections, FEATURE_MODULES, data=data.key)

    def body(tmp: Path) -> dict[str, Any]:
        from artic3d_core.features.extract import rough_foreground

        p = ctx.params
        crops = load_crops(data.path)
        fg = rough_foreground(
            crops.images, p.features.backend, p.features, ctx.device, p.weights, _gt(crops)
        )
        _save_npz(tmp / "rough_fg.npz", fg=fg.cpu().numpy().astype(bool))
        return {"n_images": int(fg.shape[0])}

    return build_unit(
        "rough_fg",
        out,
        key,
        ctx.provenance(sections, FEATURE_MODULES),
        body,
        ctx.forced,
        not ctx.runs("preprocess"),
    )


def run_enhance_image(
    ctx: StageContext, data: UnitResult, fg: UnitResult, index: int
) -> UnitResult:
    """Enhance crop ``index`` with one DASS call (seeded per image)."""
    crops_index = json.loads((Path(data.path) / "index.json").read_text())
    image_id = crops_index[index]["image_id"]
    out = ctx.layout.stage_dir(ctx.cell, ctx.method or "", "preprocess") / "enhanced" / image_id
    key = ctx.key(
        "enhance", ENHANCE_SECTIONS, ENHANCE_MODULES, data=data.key, fg=fg.key, image=image_id
    )

    def body(tmp: Path) -> dict[str, Any]:
        import torch

        from artic3d_core.guidance.enhance import enhance

        p = ctx.params
        crops = load_crops(data.path)
        with np.load(Path(fg.path) / "rough_fg.npz") as z:
            mask = torch.from_numpy(z["fg"][index : index + 1])
        sd = _prior(p.weights.model_dump_json(), ctx.device, p.guidance.precision)
        gen = torch.Generator().manual_seed(ctx.seed_for("enhance", image_id))
        img = crops.images[index : index + 1].to(ctx.device)
        res = enhance(img, mask, sd, p.guidance, gen, cls=ctx.cell.cls)
        arr = (res.images[0].permute(1, 2, 0).cpu().numpy() * 255.0).round().astype(np.uint8)
        np.save(tmp / "image.npy", arr)
        rec = res.record()
        rec.pop("weights", None)
        return {"image_id": image_id, "enhance": rec, "weights": [res.weights]}

    return build_unit(
        "enhance",
        out,
        key,
        ctx.provenance(ENHANCE_SECTIONS, ENHANCE_MODULES),
        body,
        ctx.forced,
        not ctx.runs("preprocess"),
    )


def load_enhanced(units: list[UnitResult]) -> Any:
    """(N, 3, S, S) float32 [0, 1] from the per-image enhancement units, in order."""
    import torch

    arrs = [np.load(Path(u.path) / "image.npy") for u in units]
    return torch.from_numpy(np.stack(arrs)).permute(0, 3, 1, 2).float() / 255.0


def run_features(ctx: StageContext, data: UnitResult, enhanced: list[UnitResult]) -> UnitResult:
    out = ctx.layout.stage_dir(ctx.cell, ctx.method or "", "preprocess") / "features"
    key = ctx.key(
        "features",
        FEATURE_SECTIONS,
        FEATURE_MODULES,
        data=data.key,
        enhanced=[u.key for u in enhanced],
    )

    def body(tmp: Path) -> dict[str, Any]:
        from artic3d_core.features.extract import extract_features

        p = ctx.params
        crops = load_crops(data.path)
        images = load_enhanced(enhanced) if enhanced else crops.images
        res = extract_features(
            images, p.features.backend, p.features, ctx.device, p.weights, _gt(crops)
        )
        _save_npz(
            tmp / "features.npz",
            masks=res.masks.cpu().numpy().astype(np.uint8),
            masks_lr=res.masks_lr.cpu().numpy().astype(np.uint8),
            feat_img=res.feat_img.cpu().numpy().astype(np.float32),
            feat_part=res.feat_part.cpu().numpy().astype(np.float32),
            part_cent=res.part_cent.cpu().numpy().astype(np.float32),
            saliency=res.saliency.cpu().numpy().astype(np.float32),
        )
        return {
            "backend": res.backend,
            "enhanced_inputs": bool(enhanced),
            "n_images": int(res.masks.shape[0]),
            "features_meta": res.meta,
            "weights": [res.weights] if res.weights is not None else [],
        }

    return build_unit(
        "features",
        out,
        key,
        ctx.provenance(FEATURE_SECTIONS, FEATURE_MODULES),
        body,
        ctx.forced,
        not ctx.runs("preprocess"),
    )


_RETRY = TASK_OPTIONS


@task(name="rough-foreground", **_RETRY)
def rough_fg_task(ctx: StageContext, data: UnitResult) -> UnitResult:
    return run_rough_fg(ctx, data)


@task(name="enhance-image", **_RETRY)
def enhance_image_task(
    ctx: StageContext, data: UnitResult, fg: UnitResult, index: int
) -> UnitResult:
    return run_enhance_image(ctx, data, fg, index)


@task(name="features", **_RETRY)
def features_task(ctx: StageContext, data: UnitResult, enhanced: list[UnitResult]) -> UnitResult:
    return run_features(ctx, data, enhanced)
