"""Input enhancement against ground truth on the occluded synthetic sets (CPU).

    python benchmarks/enhance_effect.py --root data/synthetic/full-test --out /tmp/enhance-effect \
        --sheet docs/img/enhance_effect.jpg --sheet-size 128
    python benchmarks/enhance_effect.py --classes zebra kangaroo --max-images 8

For each class: the pipeline's data stage (crops, ``docs/method.md §1.4``) of the chosen image
sets, its rough foreground (§2.2 step 2) and its input enhancement (§2.2 step 3,
``enhance_images_of``: the prompt, batches and per-image seeds of ``artic3d run --method
artic3d``) in each of ``--variants``: with the synthetic prior (``weights.profile: synthetic``,
§8.7) or the random ``tiny`` prior (the control), with ``guidance.enhance.keep_foreground`` as in
params.yaml or, for ``<prior>/replace``, false (the paper's: the whole image becomes the decoded
target). The foreground masks of the original and of each enhanced set come from the pipeline's
``extract_features`` (the configured backend, ``offline`` by default: weight-free, §2.1), each
set co-segmented on its own as the pipeline does. Each mask (S × S, S = ``features.mask_size``) is
scored against the ground truth cropped like the image: IoU with the amodal mask (the animal
before occluders), IoU with the visible mask, and the recall of the hidden part (amodal ∧
¬visible: the occluded animal pixels marked foreground). Mean over images per class, then over
classes.

The root must hold a synthetic benchmark; absent, it is generated (``--preset``, ``--split``;
reported figures: the ``test`` split). Writes ``enhance_effect.json`` and, with ``--sheet``, a
contact sheet (per class ``--sheet-images`` rows: the original, each of ``--sheet-variants``, each
with its foreground outlined in green, then the amodal ground truth in white over the dimmed
original).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from artic3d_core.atomic import atomic_write
from artic3d_core.config import Params, load_params
from artic3d_core.data.crop import crop_mask
from artic3d_core.data.synthetic.ground_truth import load_ground_truth
from artic3d_core.features.extract import extract_features, rough_foreground
from artic3d_core.pipeline import stage_files as sf
from artic3d_core.pipeline import stages as st
from artic3d_core.pipeline.layout import Cell, stage_seed

# enhancement variants: (weights profile, keep_foreground override or None = params)
ENHANCEMENTS = {
    "synthetic": ("synthetic", None),
    "tiny": ("tiny", None),
    "synthetic/replace": ("synthetic", False),
    "tiny/replace": ("tiny", False),
}
SCORES = ("iou_amodal", "iou_visible", "hidden_recall")


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-image IoU of (N, S, S) bool masks; 1 where both are empty."""
    inter = (a & b).sum((1, 2))
    union = (a | b).sum((1, 2))
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def score(fg: np.ndarray, amodal: np.ndarray, visible: np.ndarray) -> dict[str, list[float]]:
    """Per-image scores of foreground masks (N, S, S) bool against the cropped ground truth.

    ``hidden_recall``: fraction of the hidden animal pixels (amodal ∧ ¬visible) marked
    foreground; NaN for an image without hidden pixels."""
    hidden = amodal & ~visible
    n_hidden = hidden.sum((1, 2))
    rec = np.where(n_hidden > 0, (fg & hidden).sum((1, 2)) / np.maximum(n_hidden, 1), np.nan)
    return {
        "iou_amodal": _iou(fg, amodal).tolist(),
        "iou_visible": _iou(fg, visible).tolist(),
        "hidden_recall": rec.tolist(),
    }


def ground_truth_crops(root: Path, cls: str, index: list[dict], size: int) -> dict[str, np.ndarray]:
    """The amodal and visible ground-truth masks (N, size, size) bool of the crops in ``index``."""
    gt = {g.image_id: g for g in load_ground_truth(root, cls)}
    amodal, visible = [], []
    for rec in index:
        g = gt[str(rec["image_id"])]
        box = tuple(int(v) for v in rec["crop_box"])
        amodal.append(crop_mask(g.amodal, box, size))
        visible.append(crop_mask(g.mask, box, size))
    return {"amodal": np.stack(amodal), "visible": np.stack(visible)}


def _with(params: Params, **sections: dict[str, Any]) -> Params:
    """``params`` with some keys of some sections replaced (validated like params.yaml)."""
    raw = params.model_dump()
    for section, keys in sections.items():
        for dotted, value in keys.items():
            node = raw[section]
            *head, last = dotted.split(".")
            for k in head:
                node = node[k]
            node[last] = value
    return type(params).model_validate(raw)


def run_class(
    params: Params,
    root: Path,
    cls: str,
    sets: list[str],
    max_images: int | None,
    variants: list[str],
    work: Path,
) -> dict[str, Any]:
    """Enhance (each of ``variants``, keys of ENHANCEMENTS) and segment the first ``max_images``
    crops of one class (all: None); per-image scores, seconds per step, and the images and masks
    for the contact sheet."""
    t0 = time.perf_counter()
    device = "cpu"
    p = _with(params, pipeline={"synthetic_sets": sets})
    data, fg_dir = work / cls / "data", work / cls / "rough_fg"
    st.run_data(p, root, "synthetic", cls, data)
    crops = sf.read_crops(data)
    keep = list(range(len(crops.index)))[:max_images]
    index = [crops.index[i] for i in keep]
    ids = [str(r["image_id"]) for r in index]
    fg_rough = rough_foreground(
        crops.images[keep], p.features.backend, p.features, device, p.weights
    )
    fg_dir.mkdir(parents=True, exist_ok=True)
    sf.write_rough_fg(fg_dir, fg_rough)
    images = {"original": crops.images[keep]}
    seconds: dict[str, float] = {"data_rough_fg": time.perf_counter() - t0}
    seeds = [stage_seed(p.seed, Cell("synthetic", cls), "artic3d", "enhance", i) for i in ids]
    for name in variants:
        prior, keep_fg = ENHANCEMENTS[name]
        t = time.perf_counter()
        q = _with(p, weights={"profile": prior})
        if keep_fg is not None:
            q = _with(q, guidance={"enhance.keep_foreground": keep_fg})
        out = [
            st.enhance_images_of(q, data, fg_dir, c, device, [seeds[i] for i in c], cls).images
            for c in st.image_chunks(len(keep), q.guidance.enhance.batch_size)
        ]
        images[name] = torch.cat(out).cpu()
        seconds[f"enhance_{name}"] = time.perf_counter() - t
    gt = ground_truth_crops(root, cls, index, p.features.mask_size)
    masks, scores = {}, {}
    for name, x in images.items():
        t = time.perf_counter()
        res = extract_features(x, p.features.backend, p.features, device, p.weights)
        masks[name] = res.foreground.cpu().numpy()
        scores[name] = score(masks[name], gt["amodal"], gt["visible"])
        seconds[f"features_{name}"] = time.perf_counter() - t
    change = {k: float((images[k] - images["original"]).abs().mean()) for k in variants}
    rough = score(fg_rough.cpu().numpy(), gt["amodal"], gt["visible"])
    return {
        "images": ids,
        "sets": [r["set"] for r in index],
        "scores": scores,
        "rough_fg_scores": rough,
        "mean_abs_pixel_change": change,
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        "_sheet": {"images": images, "masks": masks, "amodal": gt["amodal"]},
    }


def _mean(values: list[float]) -> float:
    v = np.asarray(values, dtype=float)
    return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")


def summarise(per_class: dict[str, dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """``{class | "mean": {variant: {score: mean over images}}}``; "mean" averages the classes."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for cls, r in per_class.items():
        out[cls] = {v: {k: _mean(s[k]) for k in SCORES} for v, s in r["scores"].items()}
    variants = list(next(iter(out.values())))
    out["mean"] = {
        v: {k: _mean([out[c][v][k] for c in per_class]) for k in SCORES} for v in variants
    }
    return out


def format_table(
    summary: dict[str, dict[str, dict[str, float]]], n_images: dict[str, int], score_key: str
) -> str:
    """One markdown row per class, one column per variant: ``score_key`` × 100."""
    variants = list(summary["mean"])
    lines = [
        "| class | n | " + " | ".join(variants) + " |",
        "|---|---|" + "---|" * len(variants),
    ]
    for cls, row in summary.items():
        n = sum(n_images.values()) if cls == "mean" else n_images[cls]
        cells = [f"{100 * row[v][score_key]:.1f}" for v in variants]
        lines.append(f"| {cls} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _outline(img: torch.Tensor, mask: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """(3, S, S) image in [0, 1] → (s, s, 3) uint8 at the mask's size with the mask's boundary
    drawn in ``colour``."""
    s = mask.shape[-1]
    x = F.interpolate(img[None].float(), size=(s, s), mode="bilinear", align_corners=False)[0]
    out = (x.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy().copy()
    m = torch.from_numpy(mask.astype(np.float32))[None, None]
    eroded = -F.max_pool2d(-m, 3, 1, 1)
    edge = (m - eroded)[0, 0].numpy() > 0
    out[edge] = colour
    return out


def contact_sheet(
    per_class: dict[str, dict[str, Any]], variants: list[str], n_rows: int, size: int
) -> np.ndarray:
    """Rows: ``n_rows`` images per class; columns: the original, then each enhanced variant,
    each with its foreground mask outlined (green), and the amodal ground truth (white) over the
    dimmed original. (H, W, 3) uint8."""
    pad, tiles = 2, []
    for r in per_class.values():
        sh = r["_sheet"]
        for i in range(min(n_rows, len(r["images"]))):
            row = []
            for v in ("original", *variants):
                m = F.interpolate(
                    torch.from_numpy(sh["masks"][v][i : i + 1, None].astype(np.float32)),
                    size=(size, size), mode="nearest",
                )[0, 0].numpy() > 0  # fmt: skip
                row.append(_outline(sh["images"][v][i], m, (0, 255, 0)))
            a = F.interpolate(
                torch.from_numpy(sh["amodal"][i : i + 1, None].astype(np.float32)),
                size=(size, size), mode="nearest",
            )[0, 0].numpy() > 0  # fmt: skip
            base = _outline(sh["images"]["original"][i], a, (255, 255, 255)) // 3
            base[a] = 255
            row.append(base)
            tiles.append(row)
    h = len(tiles) * (size + pad) + pad
    w = len(tiles[0]) * (size + pad) + pad
    sheet = np.full((h, w, 3), 255, np.uint8)
    for r, row in enumerate(tiles):
        for c, t in enumerate(row):
            y, x = pad + r * (size + pad), pad + c * (size + pad)
            sheet[y : y + size, x : x + size] = t
    return sheet


def _write_json(path: Path, obj: Any) -> None:
    atomic_write(path, lambda t: Path(t).write_text(json.dumps(obj, indent=1, default=str)))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--root", type=Path, default=Path("data/synthetic/full-test"))
    ap.add_argument("--preset", default="full", help="for generating an absent --root")
    ap.add_argument("--split", default="test", help="for generating an absent --root")
    ap.add_argument("--out", type=Path, default=Path("/tmp/enhance-effect"))
    ap.add_argument("--classes", nargs="+", default=None, help="default: all of --root")
    ap.add_argument("--sets", nargs="+", default=["occluded"])
    ap.add_argument("--max-images", type=int, default=None, help="first N crops per class")
    ap.add_argument(
        "--variants",
        nargs="+",
        choices=list(ENHANCEMENTS),
        default=["synthetic", "tiny", "synthetic/replace"],
        help="enhancements; '/replace': guidance.enhance.keep_foreground false (the paper's)",
    )
    ap.add_argument(
        "--sheet-variants", nargs="+", default=["synthetic", "tiny"], help="sheet columns"
    )
    ap.add_argument("--sheet", type=Path, default=None, help="contact sheet path (.png/.jpg)")
    ap.add_argument("--sheet-images", type=int, default=1, help="rows per class")
    ap.add_argument("--sheet-size", type=int, default=96, help="tile side in pixels")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    params = load_params(a.params)
    if not (a.root / "manifest.json").is_file():
        from artic3d_core.data.synthetic.generator import generate

        generate(a.root, None, params.synth.seed, a.preset, split=a.split, contact_sheet=False)
    manifest = json.loads((a.root / "manifest.json").read_text())
    classes = a.classes or sorted(manifest["classes"])
    a.out.mkdir(parents=True, exist_ok=True)
    split = manifest.get("split")
    print(
        f"{a.root}: split {split}, sets {a.sets}, classes {classes}, backend "
        f"{params.features.backend}, variants {a.variants} (keep_foreground "
        f"{params.guidance.enhance.keep_foreground} unless /replace)"
    )
    per_class: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="enhance-effect-") as work:
        for cls in classes:
            per_class[cls] = run_class(
                params, a.root, cls, a.sets, a.max_images, a.variants, Path(work)
            )
            r = per_class[cls]
            print(f"{cls}: {len(r['images'])} images, seconds {r['seconds']}", flush=True)
    n_images = {c: len(r["images"]) for c, r in per_class.items()}
    summary = summarise(per_class)
    for key in SCORES:
        print(f"\n{key} ×100 of the {params.features.backend} foreground (mean over images):")
        print(format_table(summary, n_images, key))
    result = {
        "root": str(a.root),
        "split": split,
        "preset": manifest.get("preset"),
        "sets": a.sets,
        "backend": params.features.backend,
        "enhance": params.guidance.enhance.model_dump(),
        "image_size": params.guidance.image_size,
        "summary": summary,
        "per_class": {
            c: {k: v for k, v in r.items() if k != "_sheet"} for c, r in per_class.items()
        },
    }
    _write_json(a.out / "enhance_effect.json", result)
    print(f"wrote {a.out / 'enhance_effect.json'}")
    if a.sheet is not None:
        from PIL import Image

        sheet = contact_sheet(per_class, a.sheet_variants, a.sheet_images, a.sheet_size)
        fmt = "JPEG" if a.sheet.suffix.lower() in (".jpg", ".jpeg") else "PNG"
        kw = {"quality": 85} if fmt == "JPEG" else {"optimize": True}
        atomic_write(a.sheet, lambda t: Image.fromarray(sheet).save(t, format=fmt, **kw))
        print(f"wrote {a.sheet} ({a.sheet.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
