"""Every file a pipeline stage writes, and the one reader of each: the stages read their
inputs only through these functions, so a file's format lives in one place.

=================  ==============================================================================
stage              files in its folder (:mod:`artic3d_core.pipeline.layout`)
=================  ==============================================================================
data               ``crops.npz`` (images (N,S,S,3) uint8, keypoints (N,14,3) crop units, masks
                   (N,S,S) bool and part_masks (N,S,S) uint8 when the dataset has them),
                   ``index.json`` (image_id, set, path, crop_box, crop_scale, box_source per
                   image), ``crops.png`` (contact sheet of the crops, :mod:`~artic3d_core.data.crop_sheet`)
rough foreground   ``rough_fg.npz`` (fg (N,S,S) bool)
enhanced image     ``image.npy`` ((S,S,3) uint8), ``enhance.json`` (settings, prompt, t)
features           ``features.npz`` (masks, masks_lr, feat_img, feat_part, part_cent, saliency),
                   ``features.json`` (backend, enhanced inputs, weights)
skeleton           ``skeleton.json``, ``report.json``
joint              ``model.pt`` (state dict, skeleton, the input folders), ``summary.json``
instance           ``instance.pt`` (part networks + texture of instance k), ``summary.json``
                   (set, guidance, prompt, weights), ``outputs/`` (meshes, renders, GIF)
evaluation         ``metrics.parquet`` (rows of :mod:`artic3d_core.metrics.schema`),
                   ``metrics.json`` (``<set>/<metric>`` → value, PCK per keypoint)
=================  ==============================================================================

Writers write into a folder the caller owns (a unit's temp folder that is renamed into place
when complete); each writer returns nothing or the metadata it recorded.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from artic3d_core.atomic import atomic_write_bytes
from artic3d_core.data.crop import ClassCrops
from artic3d_core.data.crop_sheet import box_source, crop_sheet
from artic3d_core.guidance.contact_sheet import write_png_atomic
from artic3d_core.weights import WeightsInfo

if TYPE_CHECKING:  # pragma: no cover
    from artic3d_core.config import Params
    from artic3d_core.features.extract import FeatureResult
    from artic3d_core.metrics.schema import MetricRow
    from artic3d_core.model.articulated import ArticulatedModel
    from artic3d_core.skeleton.skeleton import Skeleton

CROPS_FILE, INDEX_FILE, CROPS_SHEET = "crops.npz", "index.json", "crops.png"
ROUGH_FG_FILE = "rough_fg.npz"
ENHANCED_FILE, ENHANCE_RECORD = "image.npy", "enhance.json"
FEATURES_FILE, FEATURES_INFO = "features.npz", "features.json"
SKELETON_FILE, SKELETON_REPORT = "skeleton.json", "report.json"
MODEL_FILE, INSTANCE_FILE, SUMMARY_FILE = "model.pt", "instance.pt", "summary.json"
METRICS_FILE, METRICS_SUMMARY = "metrics.parquet", "metrics.json"
FEATURE_ARRAYS = ("masks", "masks_lr", "feat_img", "feat_part", "part_cent", "saliency")


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=1, sort_keys=True, default=str))


def _read_json(path: Path, what: str) -> Any:
    return json.loads(_require(path, what).read_text())


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue(), fsync=False)


def _require(path: Path, what: str) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (run the {what} stage first)")
    return path


def weights_dicts(infos: Sequence[WeightsInfo | None]) -> list[dict[str, Any]]:
    return [w.as_dict() for w in infos if w is not None]


# ---- data ----------------------------------------------------------------------------------
def write_crops(out_dir: str | Path, crops: list, records: list) -> dict[str, Any]:
    """Write ``crops.npz`` + ``index.json`` + ``crops.png`` for ``crops`` (:class:`~artic3d_core.data.crop.Crop`)
    of ``records`` (:class:`~artic3d_core.data.records.ImageRecord`), each file atomically.

    Returns a small summary (images, crop size, sets)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {
        "images": np.stack(
            [(c.image.permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8) for c in crops]
        ),
        "keypoints": np.stack([c.keypoints for c in crops]).astype(np.float32),
    }
    if all(c.mask is not None for c in crops):
        arrays["masks"] = np.stack([c.mask for c in crops])
    if all(c.part_mask is not None for c in crops):
        arrays["part_masks"] = np.stack([c.part_mask for c in crops])
    index = [
        {
            "image_id": r.image_id,
            "set": r.set,
            "path": str(r.path),
            "crop_box": list(c.box),
            "crop_scale": c.scale,
            "box_source": box_source(r),
        }
        for r, c in zip(records, crops, strict=True)
    ]
    _save_npz(out / CROPS_FILE, **arrays)
    atomic_write_bytes(out / INDEX_FILE, json.dumps(index, indent=1).encode(), fsync=False)
    sheet = crop_sheet(
        torch.stack([c.image for c in crops]),
        [str(r.image_id) for r in records],
        [str(e["box_source"]) for e in index],
    )
    write_png_atomic(out / CROPS_SHEET, sheet)
    return {
        "n_images": len(records),
        "crop_size": int(arrays["images"].shape[1]),
        "sets": sorted({r.set for r in records}),
    }


def read_crop_index(data_dir: str | Path) -> list[dict[str, Any]]:
    """``index.json`` alone (image ids and sets, without decoding the images)."""
    return _read_json(Path(data_dir) / INDEX_FILE, "data")


def read_crops(data_dir: str | Path) -> ClassCrops:
    """Read ``crops.npz`` + ``index.json``; a missing or broken file is named in the error."""
    data_dir = Path(data_dir)
    npz, idx = data_dir / CROPS_FILE, data_dir / INDEX_FILE
    for f in (npz, idx):
        _require(f, "data")
    try:
        with np.load(npz) as z:
            images = torch.from_numpy(z["images"]).permute(0, 3, 1, 2).float() / 255.0
            masks = z["masks"] if "masks" in z else None
            parts = z["part_masks"] if "part_masks" in z else None
            kps = z["keypoints"]
        index = json.loads(idx.read_text())
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"{data_dir}: unreadable crops store ({exc})") from None
    if len(index) != images.shape[0]:
        raise ValueError(f"{idx}: {len(index)} entries for {images.shape[0]} images")
    return ClassCrops(images, kps, masks, parts, index)


# ---- preprocess: rough foreground, enhanced inputs, features --------------------------------
def write_rough_fg(out_dir: Path, fg: torch.Tensor) -> None:
    _save_npz(Path(out_dir) / ROUGH_FG_FILE, fg=fg.cpu().numpy().astype(bool))


def read_rough_fg(fg_dir: Path) -> torch.Tensor:
    """(N, S, S) bool rough foreground masks."""
    with np.load(_require(Path(fg_dir) / ROUGH_FG_FILE, "rough foreground")) as z:
        return torch.from_numpy(z["fg"])


def write_enhanced(out_dir: Path, image: torch.Tensor, record: dict[str, Any]) -> None:
    """One enhanced crop ((3, S, S) float in [0, 1]) and the enhancement's record (prompt...)."""
    arr = (image.permute(1, 2, 0).cpu().numpy() * 255.0).round().astype(np.uint8)
    np.save(Path(out_dir) / ENHANCED_FILE, arr)
    _write_json(Path(out_dir) / ENHANCE_RECORD, record)


def read_enhanced(dirs: Sequence[Path]) -> torch.Tensor:
    """(N, 3, S, S) float32 [0, 1] from the per-image enhancement folders, in order."""
    arrs = [np.load(_require(Path(d) / ENHANCED_FILE, "enhancement")) for d in dirs]
    return torch.from_numpy(np.stack(arrs)).permute(0, 3, 1, 2).float() / 255.0


def read_enhance_record(enh_dir: Path) -> dict[str, Any]:
    return _read_json(Path(enh_dir) / ENHANCE_RECORD, "enhancement")


def enhancement_weights(dirs: Sequence[str | Path]) -> list[WeightsInfo]:
    """The prior weights that enhanced the images in ``dirs`` (their ``enhance.json``), so a
    result fitted to enhanced inputs names the prior that made them."""
    recs = (read_enhance_record(Path(d)).get("weights") for d in dirs)
    return [WeightsInfo(**w) for w in recs if w]


def write_features(out_dir: Path, res: FeatureResult, enhanced_inputs: bool) -> dict[str, Any]:
    """``features.npz`` + ``features.json``; returns the recorded metadata."""
    _save_npz(
        Path(out_dir) / FEATURES_FILE,
        masks=res.masks.cpu().numpy().astype(np.uint8),
        masks_lr=res.masks_lr.cpu().numpy().astype(np.uint8),
        feat_img=res.feat_img.cpu().numpy().astype(np.float32),
        feat_part=res.feat_part.cpu().numpy().astype(np.float32),
        part_cent=res.part_cent.cpu().numpy().astype(np.float32),
        saliency=res.saliency.cpu().numpy().astype(np.float32),
    )
    info = {
        "backend": res.backend,
        "enhanced_inputs": enhanced_inputs,
        "n_images": int(res.masks.shape[0]),
        "features_meta": res.meta,
        "weights": weights_dicts([res.weights]),
    }
    _write_json(Path(out_dir) / FEATURES_INFO, info)
    return info


def read_features(features_dir: Path) -> dict[str, torch.Tensor]:
    """The arrays of ``features.npz``: masks/masks_lr int64, the rest float32."""
    with np.load(_require(Path(features_dir) / FEATURES_FILE, "preprocess")) as z:
        out = {k: torch.from_numpy(z[k]) for k in z.files}
    for k in ("masks", "masks_lr"):
        out[k] = out[k].long()
    return {k: (v if v.dtype == torch.int64 else v.float()) for k, v in out.items()}


def read_features_info(features_dir: Path) -> dict[str, Any]:
    """``features.json``: backend, whether the inputs were enhanced, the weights used."""
    return _read_json(Path(features_dir) / FEATURES_INFO, "preprocess")


# ---- skeleton ------------------------------------------------------------------------------
def write_skeleton(out_dir: Path, skeleton: Skeleton, report: Any) -> None:
    skeleton.save(Path(out_dir) / SKELETON_FILE)
    rep = report.as_dict() if hasattr(report, "as_dict") else dict(vars(report))
    _write_json(Path(out_dir) / SKELETON_REPORT, rep)


def read_skeleton(skeleton_dir: Path) -> Skeleton:
    from artic3d_core.skeleton.skeleton import Skeleton

    return Skeleton.load(_require(Path(skeleton_dir) / SKELETON_FILE, "skeleton"))


# ---- optimisation: joint model, instances --------------------------------------------------
def write_joint(
    out_dir: Path, model: ArticulatedModel, inputs: dict[str, Any], summary: dict[str, Any]
) -> None:
    """``model.pt`` (state, skeleton and the input folders it was fitted on) + ``summary.json``."""
    torch.save(
        {
            "model": model.state_dict(),
            "n_instances": model.n_instances,
            "skeleton": model.skeleton.to_json_dict(),
            "inputs": inputs,
        },
        Path(out_dir) / MODEL_FILE,
    )
    _write_json(Path(out_dir) / SUMMARY_FILE, summary)


def read_joint(joint_dir: Path, params: Params, device) -> tuple[ArticulatedModel, dict]:
    """Rebuild the joint model; returns (model on ``device``, the input folders it recorded)."""
    from artic3d_core.model.articulated import ArticulatedModel
    from artic3d_core.skeleton.skeleton import Skeleton

    path = _require(Path(joint_dir) / MODEL_FILE, "joint optimisation")
    state = torch.load(path, map_location="cpu", weights_only=True)
    sk = Skeleton.from_json_dict(state["skeleton"], source=str(path))
    model = ArticulatedModel(sk, int(state["n_instances"]), params.model)
    model.load_state_dict(state["model"], strict=True)
    return model.to(device), state["inputs"]


def write_instance(
    out_dir: Path, model: ArticulatedModel, index: int, summary: dict[str, Any], state_keys
) -> None:
    """``instance.pt`` (the state entries ``state_keys`` selects) + ``summary.json``."""
    sd = {k: v for k, v in model.state_dict().items() if state_keys(k)}
    torch.save({"model": sd, "index": index}, Path(out_dir) / INSTANCE_FILE)
    _write_json(Path(out_dir) / SUMMARY_FILE, summary)


def read_instance(joint: ArticulatedModel, inst_dir: Path) -> tuple[ArticulatedModel, int]:
    """The joint model with instance k's part networks and texture (from ``instance.pt``)."""
    path = _require(Path(inst_dir) / INSTANCE_FILE, "instance optimisation")
    state = torch.load(path, map_location=joint.bone_rot.device, weights_only=True)
    m = copy.deepcopy(joint)
    m.load_state_dict(state["model"], strict=False)
    return m, int(state["index"])


def read_summary(unit_dir: Path) -> dict[str, Any]:
    """A joint or instance unit's ``summary.json``."""
    return _read_json(Path(unit_dir) / SUMMARY_FILE, "optimisation")


def recorded_weights(record: dict[str, Any]) -> list[WeightsInfo]:
    """The weights a ``features.json`` / instance ``summary.json`` recorded."""
    return [WeightsInfo(**w) for w in record.get("weights", [])]


# ---- evaluation ----------------------------------------------------------------------------
def write_eval(
    out_dir: Path,
    rows: Sequence[MetricRow],
    per_keypoint: dict[str, dict[str, float]],
    notes: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """``metrics.parquet`` (all rows) + ``metrics.json`` (``<set>/<metric>`` → value, the PCK
    per keypoint of each set, and ``<set>/notes``: the metrics the data could not support and
    where the bounding-box baseline's boxes came from);
    returns the ``metrics.json`` content."""
    from artic3d_core.metrics.store import append_rows

    append_rows(Path(out_dir) / METRICS_FILE, list(rows))
    summary: dict[str, Any] = {f"{r.set}/{r.metric}": r.value for r in rows}
    for set_name, values in per_keypoint.items():
        summary[f"{set_name}/pck_per_keypoint"] = values
    for set_name, lines in (notes or {}).items():
        summary[f"{set_name}/notes"] = list(lines)
    _write_json(Path(out_dir) / METRICS_SUMMARY, summary)
    return summary


def read_eval_summary(eval_dir: Path) -> dict[str, Any]:
    return _read_json(Path(eval_dir) / METRICS_SUMMARY, "eval")
