"""Generate the synthetic benchmark: sample, render and write one class after another.

Per image (all randomness from ``np.random.default_rng(derive_seed(seed, cls, set, index))``, so
a class does not depend on which other classes are generated):

1. proportions: bone lengths ×(1 + s_b) (symmetrised, ``Skeleton.scaled_joints``), part
   thickness ×exp(N(0, 0.08)) (symmetrised); pose: per-bone 'YZX' Euler angles uniform within the
   template's limits; camera: azimuth ±90° (either side view) + U(−35°, 35°), elevation
   U(−8°, 22°), roll U(−5°, 5°), scale so the animal spans 50–72 % of the image (clean) or more
   (occluded), small translation; the occluded (E-) variant adds 1–2 occluders in front and, half
   of the time, truncation by the image border (15–35 % of the animal outside).
2. geometry as the model's (docs/method.md §4.4–4.5) without MLP deformation: per bone a unit sphere, x/z ×2·c_xz,
   y ×c_y, × half bone length, rotated by ``bone_rot_init`` then the FK rotation, at the bone
   midpoint; then s·R_glob ('ZXY') and the xy translation; orthographic camera on +z.
3. exact ray–ellipsoid raster (2× supersampled colour, native-resolution labels), class coat
   pattern on the rest-pose surface, Lambert shading, cluttered procedural background.
4. the 14 keypoints attached to bones, projected; visible iff inside the image, not under an
   occluder, not behind another part (exact ray test = z-buffer) and, for surface points
   (eyes, muzzle), facing the camera.

Output (LASSIE on-disk format + sidecar; byte-identical for the same seed):
``images/<cls>/input_<id>.png`` (clean ids 0..n−1, occluded ids n..), ``annotations/<cls>.csv``
(JSON ``kps``, percent coordinates), ``annotations/<cls>_occ.csv`` (Python-repr, ``value``-wrapped),
``ground_truth/<cls>/{gt.json, skeleton.json, masks/{mask,amodal,parts,bones}_<id>.png}``,
``contact/<cls>.png`` and ``manifest.json`` (seed, preset, counts, keypoint visibility, sha256).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image, ImageDraw

from artic3d_core.atomic import atomic_write_bytes
from artic3d_core.data.records import KEYPOINT_LABELS, KEYPOINT_NAMES
from artic3d_core.data.synthetic.raster import Ellipsoids, ndc_to_pixel, ray_occluded, raycast
from artic3d_core.data.synthetic.scene import (
    photo_noise,
    sample_lighting,
    sample_wide_camera,
    scene_background,
)
from artic3d_core.data.synthetic.templates import TEMPLATES, AnimalTemplate
from artic3d_core.data.synthetic.texture import (
    animal_colours,
    background,
    coat_detail,
    draw_occluders,
)
from artic3d_core.seeding import derive_seed
from artic3d_core.skeleton.skeleton import Skeleton, euler_to_matrix

__all__ = ["GENERATOR_VERSION", "PRESETS", "Preset", "RenderedImage", "generate", "render_instance"]

GENERATOR_VERSION = "artic3d-synth-1"
log = logging.getLogger("artic3d.data.synthetic")


@dataclass(frozen=True)
class Preset:
    """Classes, counts and image size; ``scene`` 'side' = side-ish views on flat clutter
    (module docstring), 'wide' = :mod:`artic3d_core.data.synthetic.scene` (views all around,
    coloured light, ground plane with shadows, fur detail, sensor noise)."""

    classes: tuple[str, ...]
    n_clean: int
    n_occluded: int
    image_size: int
    scene: Literal["side", "wide"] = "side"


SIDE_CLASSES = ("zebra", "tiger", "giraffe", "elephant", "kangaroo", "penguin")
PRESETS: dict[str, Preset] = {
    "full": Preset(SIDE_CLASSES, 30, 15, 256),
    "demo": Preset(("zebra", "kangaroo"), 8, 4, 256),
    "wide": Preset((*SIDE_CLASSES, "badger", "flamingo"), 30, 15, 256, "wide"),
}
SPLITS = ("train", "dev", "test")


@dataclass
class RenderedImage:
    """One generated image with its ground truth (pixel units; camera-space 3D)."""

    image: np.ndarray  # (H, W, 3) uint8
    keypoints_2d: np.ndarray  # (14, 3) pixel x, y, vis
    present: np.ndarray  # (14,) bool: the template defines this keypoint
    mask: np.ndarray  # (H, W) bool, visible animal
    amodal: np.ndarray  # (H, W) bool, animal before occluders
    parts: np.ndarray  # (H, W) uint8 LASSIE slots 0..16 (visible)
    bones: np.ndarray  # (H, W) uint8 bone index + 1 (visible)
    gt: dict


def _rot(angles: np.ndarray, conv: str) -> np.ndarray:
    return euler_to_matrix(torch.as_tensor(angles, dtype=torch.float64), conv).numpy()


def _surface_point(centre, rot, axes, origin, direction):
    """Where the ray origin + λ·direction (λ > 0) leaves the ellipsoid; and the outward normal."""
    o = rot.T @ (origin - centre) / axes
    d = rot.T @ direction / axes
    a, b, c = d @ d, o @ d, o @ o - 1.0
    lam = (-b + np.sqrt(max(b * b - a * c, 0.0))) / a
    p = origin + lam * direction
    n = rot @ ((rot.T @ (p - centre)) / axes**2)
    return p, n / np.linalg.norm(n)


class _ClassModel:
    """Per-class constants derived once from the template."""

    def __init__(self, tmpl: AnimalTemplate) -> None:
        self.tmpl = tmpl
        self.sk = tmpl.skeleton()
        self.sym = self.sk.bones_sym()
        self.r_init = self.sk.bone_rot_init().double().numpy()
        self.slots = np.asarray(tmpl.slots, dtype=np.int64)
        self.parents = np.asarray(tmpl.parents)
        self.accent = np.array(["beak" in n for n in tmpl.names[1:]])


def _sample_camera(rng, occluded: bool):
    side = 1.0 if rng.random() < 0.5 else -1.0
    azim = np.radians(side * 90.0 + rng.uniform(-35, 35))
    return np.array([np.radians(rng.uniform(-5, 5)), np.radians(rng.uniform(-8, 22)), azim])


def render_instance(
    cm: _ClassModel,
    rng: np.random.Generator,
    size: int,
    occluded: bool,
    supersample: int = 2,
    scene: Literal["side", "wide"] = "side",
) -> RenderedImage:
    """Sample and render one instance of class ``cm`` (see the module docstring; ``scene``:
    :class:`Preset`)."""
    wide = scene == "wide"
    tmpl, sk, nb = cm.tmpl, cm.sk, cm.tmpl.nb
    # --- proportions and pose
    bone_scale = np.clip(rng.normal(0, 0.07, nb), -0.2, 0.25)
    rest = sk.scaled_joints(torch.tensor(bone_scale, dtype=torch.float32)).double().numpy()
    xz = np.asarray(tmpl.part_scale_xz) * np.exp(rng.normal(0, 0.08, nb))
    xz = np.clip((xz + xz[cm.sym]) / 2, 0.05, 1.5)
    cy = np.clip(np.asarray(tmpl.part_scale_y), 1.0, 2.0)
    euler = np.radians(tmpl.bias + rng.uniform(-1, 1, (nb, 3)) * tmpl.limits)
    posed_sk = Skeleton(joints=rest, parents=tmpl.parents)
    P, G = posed_sk.forward_kinematics(
        torch.tensor(euler, dtype=torch.float32)[None], torch.tensor(rest, dtype=torch.float32)
    )
    P, G = P[0].double().numpy(), G[0].double().numpy()
    par = cm.parents[1:]
    L = np.linalg.norm(rest[1:] - rest[par], axis=-1)
    axes_rest = np.stack((xz * L, cy * L / 2, xz * L), -1)
    mid_rest = (rest[1:] + rest[par]) / 2
    mid = (P[1:] + P[par]) / 2
    m_can = G @ cm.r_init
    # --- camera: rotation, then scale / translation from the projected extent
    grot = sample_wide_camera(rng) if wide else _sample_camera(rng, occluded)
    R = _rot(grot, "ZXY")
    e0 = Ellipsoids(mid @ R.T, R @ m_can, axes_rest)
    ext = e0.half_extent()
    lo, hi = (e0.centre - ext).min(0)[:2], (e0.centre + ext).max(0)[:2]
    span = float((hi - lo).max())
    target = rng.uniform(1.0, 1.45) if not occluded else rng.uniform(1.1, 1.55)
    s = target / span
    trans = -s * (lo + hi) / 2 + rng.uniform(-0.1, 0.1, 2)
    truncated = ""
    if occluded and rng.random() < 0.5:
        side = ["left", "right", "bottom"][rng.integers(3)]
        frac = rng.uniform(0.15, 0.35)
        w = s * (hi - lo)
        if side == "left":
            trans[0] += -1.0 - (s * lo[0] + trans[0]) - frac * w[0]
        elif side == "right":
            trans[0] += 1.0 - (s * hi[0] + trans[0]) + frac * w[0]
        else:
            trans[1] += -1.0 - (s * lo[1] + trans[1]) - frac * w[1]
        truncated = side
    t3 = np.array([trans[0], trans[1], 0.0])
    ell = Ellipsoids(s * mid @ R.T + t3, R @ m_can, s * axes_rest)
    # --- raster: native labels, supersampled colour
    H = W = size
    native = raycast(ell, H, W)
    ss = supersample
    hits = raycast(ell, H * ss, W * ss) if ss > 1 else native
    if wide:
        lighting = sample_lighting(rng)
        img = scene_background(rng, H * ss, W * ss, ell, R, float(grot[1]), lighting, ss)
    else:
        img = background(rng, H, W).repeat(ss, 0).repeat(ss, 1)
    jj, ii = np.nonzero(hits.part >= 0)
    if len(jj):
        b = hits.part[jj, ii]
        u = hits.local[jj, ii]
        p_rest = np.einsum("nij,nj->ni", cm.r_init[b], axes_rest[b] * u) + mid_rest[b]
        n_rest = np.einsum("nij,nj->ni", cm.r_init[b], u / axes_rest[b])
        n_rest /= np.linalg.norm(n_rest, axis=-1, keepdims=True)
        bdir = rest[1:][b] - rest[par][b]
        along = ((p_rest - mid_rest[b]) * bdir).sum(-1) / (L[b] ** 2 / 2)
        albedo = animal_colours(tmpl.texture, rng, p_rest, n_rest, cm.slots[b], along)
        if wide:
            albedo = coat_detail(rng, albedo, u, b, n_rest)
        albedo[cm.accent[b]] = [0.95, 0.55, 0.12]
        if wide:
            lam = np.clip(hits.normal[jj, ii] @ (R @ lighting.sun), 0, None)
            shade3 = lighting.ambient_rgb + lighting.sun_rgb * lam[:, None]
            img[jj, ii] = np.clip(albedo * shade3, 0, 1)
        else:
            light = np.array([rng.uniform(-0.6, 0.6), rng.uniform(0.4, 1.0), rng.uniform(0.4, 1.0)])
            light /= np.linalg.norm(light)
            amb = rng.uniform(0.45, 0.6)
            shade = amb + (1.05 - amb) * np.clip(hits.normal[jj, ii] @ light, 0, None)
            img[jj, ii] = np.clip(albedo * shade[:, None], 0, 1)
    amodal = native.part >= 0
    occ_native = np.zeros((H, W), bool)
    occ_frac = 0.0
    if occluded and amodal.any():
        ys, xs = np.nonzero(amodal)
        box = (xs.min() * ss, ys.min() * ss, (xs.max() + 1) * ss, (ys.max() + 1) * ss)
        base = img
        for _try in range(8):
            img = base.copy()
            cover = draw_occluders(rng, img, box, int(rng.integers(1, 3)))
            occ_native = cover.reshape(H, ss, W, ss).mean((1, 3)) >= 0.5
            occ_frac = float((occ_native & amodal).sum() / amodal.sum())
            if 0.12 <= occ_frac <= 0.5:
                break
    image = img.reshape(H, ss, W, ss, 3).mean((1, 3))
    if wide:
        image = photo_noise(rng, image)
    image_u8 = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    mask = amodal & ~occ_native
    bones = np.where(mask, native.part + 1, 0).astype(np.uint8)
    parts = np.where(mask, cm.slots[np.clip(native.part, 0, None)], 0).astype(np.uint8)
    # --- keypoints
    kp3 = np.zeros((14, 3))
    kp2 = np.zeros((14, 3))
    present = np.zeros(14, bool)
    for k, name in enumerate(KEYPOINT_NAMES):
        d = tmpl.keypoints.get(name)
        if d is None:
            continue
        present[k] = True
        b, pj, cj = d.bone, tmpl.parents[d.bone + 1], d.bone + 1
        normal = None
        if d.kind == "joint":
            p_can = P[cj]
        elif d.kind == "along":
            p_can = P[pj] + d.t * (P[cj] - P[pj])
        else:
            q = rest[pj] + d.t * (rest[cj] - rest[pj])
            dirn = np.asarray(d.direction, float)
            p_r, n_r = _surface_point(mid_rest[b], cm.r_init[b], axes_rest[b], q, dirn)
            p_can = G[b] @ (p_r - rest[pj]) + P[pj]
            normal = R @ (G[b] @ n_r)
        p_cam = s * R @ p_can + t3
        uv = ndc_to_pixel(p_cam[:2], H, W)
        kp3[k] = p_cam
        inside = 0 <= uv[0] < W and 0 <= uv[1] < H
        vis = inside and not occ_native[int(uv[1]), int(uv[0])]
        vis = vis and not ray_occluded(p_cam, ell, {b})
        if normal is not None:
            vis = vis and normal[2] > 0.05
        kp2[k] = (uv[0], uv[1], float(vis))
    joints_cam = s * P @ R.T + t3
    gt = {
        "global_rot": grot.tolist(),
        "global_scale": float(s),
        "global_scale_param": float((s - 1.0) / 0.1),
        "global_trans": trans.tolist(),
        "bone_euler": euler.tolist(),
        "bone_scale": bone_scale.tolist(),
        "part_scale_xz": xz.tolist(),
        "part_scale_y": cy.tolist(),
        "rest_joints": rest.tolist(),
        "joints_3d": joints_cam.tolist(),
        "joints_2d": ndc_to_pixel(joints_cam[:, :2], H, W).tolist(),
        "keypoints_3d": kp3.tolist(),
        "keypoints_2d": kp2.tolist(),
        "keypoint_present": present.tolist(),
        "truncated": truncated,
        "occluder_fraction": occ_frac,
        "visible_fraction": float(mask.sum() / max(1, amodal.sum())),
        "truncated_fraction": 0.0,
    }
    return RenderedImage(image_u8, kp2, present, mask, amodal, parts, bones, gt)


# ---- writing ---------------------------------------------------------------------------------
def _atomic_bytes(path: Path, data: bytes) -> None:
    atomic_write_bytes(path, data, fsync=False)


def _png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def _round(x, nd: int = 6):
    if isinstance(x, float):
        return round(x, nd)
    if isinstance(x, list):
        return [_round(v, nd) for v in x]
    if isinstance(x, dict):
        return {k: _round(v, nd) for k, v in x.items()}
    return x


def _kps_entries(kp2: np.ndarray, w: int, h: int, wrapped: bool) -> list[dict]:
    out = []
    for k in range(14):
        if kp2[k, 2] <= 0:
            continue
        val = {
            "x": float(kp2[k, 0]) / w * 100.0,
            "y": float(kp2[k, 1]) / h * 100.0,
            "width": 0.5,
            "keypointlabels": [KEYPOINT_LABELS[k]],
        }
        if wrapped:
            out.append(
                {
                    "value": val,
                    "original_width": w,
                    "original_height": h,
                    "from_name": "kp-1",
                    "to_name": "img-1",
                    "type": "keypointlabels",
                }
            )
        else:
            out.append(val)
    return out


def _csv_bytes(rows: list[tuple[str, str, str]]) -> bytes:
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(["id", "img_url", "kps"])
    wr.writerows(rows)
    return buf.getvalue().encode()


def view_name(global_rot: list[float]) -> str:
    """'above' for elevation ≥ 30°, else front / left / back / right by the azimuth (0° = the
    head towards the camera, +90° = the animal's left side; 90° sectors)."""
    if np.degrees(global_rot[1]) >= 30.0:
        return "above"
    az = (np.degrees(global_rot[2]) + 45.0) % 360.0
    return ("front", "left", "back", "right")[int(az // 90.0)]


def _contact_sheet(
    images: list[tuple[np.ndarray, np.ndarray, bool, str]], thumb: int = 128, labels: bool = False
) -> bytes:
    """Thumbnails with their visible keypoints (occluded images framed in orange); with
    ``labels``, each thumbnail's view name (:func:`view_name`), ordered front, left, back,
    right, above."""
    if labels:
        order = ("front", "left", "back", "right", "above")
        images = sorted(images, key=lambda t: order.index(t[3]))
    cols = min(9, max(1, len(images)))
    rows = (len(images) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * thumb, rows * thumb), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for n, (img, kp2, occ, view) in enumerate(images):
        r, c = divmod(n, cols)
        f = thumb / img.shape[1]
        sheet.paste(
            Image.fromarray(img).resize((thumb, thumb), Image.Resampling.BILINEAR),
            (c * thumb, r * thumb),
        )
        for k in range(14):
            if kp2[k, 2] > 0:
                x, y = c * thumb + kp2[k, 0] * f, r * thumb + kp2[k, 1] * f
                col = (255, 40, 40) if k < 5 else (40, 220, 40) if k < 6 else (40, 120, 255)
                draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=col)
        if labels:
            draw.rectangle((c * thumb, r * thumb, c * thumb + 44, r * thumb + 12), fill=(0, 0, 0))
            draw.text((c * thumb + 2, r * thumb), view, fill=(255, 255, 255))
        if occ:
            draw.rectangle(
                (c * thumb, r * thumb, (c + 1) * thumb - 1, (r + 1) * thumb - 1),
                outline=(255, 150, 0),
                width=3,
            )
    return _png_bytes(np.asarray(sheet))


def generate(
    out_dir: str | Path,
    classes: list[str] | tuple[str, ...] | None = None,
    seed: int = 0,
    preset: str = "demo",
    n_clean: int | None = None,
    n_occluded: int | None = None,
    image_size: int | None = None,
    supersample: int = 2,
    contact_sheet: bool = True,
    split: str | None = None,
) -> Path:
    """Generate the benchmark under ``out_dir``; returns the manifest path.

    ``classes`` / ``n_clean`` / ``n_occluded`` / ``image_size`` default to the preset's values.
    ``split`` (train / dev / test) joins the keys of every image's seed, so the three splits
    draw from disjoint streams of the same ``seed``; None keeps the split-free stream.
    Raises ValueError for an unknown preset, class or split.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r} (expected one of {', '.join(PRESETS)})")
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (expected one of {', '.join(SPLITS)})")
    pr = PRESETS[preset]
    classes = tuple(classes) if classes else pr.classes
    unknown = [c for c in classes if c not in TEMPLATES]
    if unknown:
        raise ValueError(f"unknown class(es) {unknown}; templates: {', '.join(TEMPLATES)}")
    n_clean = pr.n_clean if n_clean is None else n_clean
    n_occ = pr.n_occluded if n_occluded is None else n_occluded
    size = pr.image_size if image_size is None else image_size
    out = Path(out_dir)
    written: list[Path] = []
    summary: dict[str, dict] = {}

    def put(rel: str, data: bytes) -> None:
        _atomic_bytes(out / rel, data)
        written.append(out / rel)

    for cls in classes:
        cm = _ClassModel(TEMPLATES[cls])
        rows: dict[str, list] = {"clean": [], "occluded": []}
        gts, sheet, azims = [], [], []
        vis_stats = {"clean": [], "occluded": []}
        for set_name, count, offset in (("clean", n_clean, 0), ("occluded", n_occ, n_clean)):
            occluded = set_name == "occluded"
            for i in range(count):
                image_id = str(offset + i)
                keys = (
                    ("synth", cls, set_name, i)
                    if split is None
                    else ("synth", split, cls, set_name, i)
                )
                rng = np.random.default_rng(derive_seed(seed, *keys))
                for _attempt in range(10):
                    r = render_instance(cm, rng, size, occluded, supersample, pr.scene)
                    nvis = int(r.keypoints_2d[:, 2].sum())
                    if nvis >= (3 if occluded else 4) and r.mask.sum() > 50:
                        break
                put(f"images/{cls}/input_{image_id}.png", _png_bytes(r.image))
                mdir = f"ground_truth/{cls}/masks"
                put(f"{mdir}/mask_{image_id}.png", _png_bytes(r.mask.astype(np.uint8) * 255))
                put(f"{mdir}/amodal_{image_id}.png", _png_bytes(r.amodal.astype(np.uint8) * 255))
                put(f"{mdir}/parts_{image_id}.png", _png_bytes(r.parts))
                put(f"{mdir}/bones_{image_id}.png", _png_bytes(r.bones))
                entries = _kps_entries(r.keypoints_2d, size, size, wrapped=occluded)
                cell = repr(entries) if occluded else json.dumps(entries)
                uri = f"synthetic://{preset}/{cls}/{image_id}"
                if split is not None:
                    uri = f"synthetic://{preset}/{split}/{cls}/{image_id}"
                rows[set_name].append((image_id, uri, cell))
                gts.append(
                    {"id": image_id, "set": set_name, "image_size": [size, size], **_round(r.gt)}
                )
                azims.append(r.gt["global_rot"][2])
                vis_stats[set_name].append(r.keypoints_2d[r.present, 2])
                sheet.append((r.image, r.keypoints_2d, occluded, view_name(r.gt["global_rot"])))
        put(f"annotations/{cls}.csv", _csv_bytes(rows["clean"]))
        put(f"annotations/{cls}_occ.csv", _csv_bytes(rows["occluded"]))
        sk = cm.sk
        sk.azimuth = [float(a) for a in azims]
        put(f"ground_truth/{cls}/skeleton.json", json.dumps(sk.to_json_dict(), indent=1).encode())
        meta = {
            "class": cls,
            "generator": GENERATOR_VERSION,
            "seed": seed,
            "preset": preset,
            **({} if split is None else {"split": split}),
            "template": {
                "names": cm.tmpl.names,
                "slots": cm.tmpl.slots,
                "keypoints": {k: v.__dict__ for k, v in cm.tmpl.keypoints.items()},
            },
            "images": gts,
        }
        put(f"ground_truth/{cls}/gt.json", json.dumps(_round(meta), indent=1).encode())
        if contact_sheet:
            put(f"contact/{cls}.png", _contact_sheet(sheet, labels=pr.scene == "wide"))
        summary[cls] = {"clean": n_clean, "occluded": n_occ}
        for set_name, v in vis_stats.items():
            if v:
                summary[cls][f"keypoint_visibility_{set_name}"] = round(
                    float(np.concatenate(v).mean()), 4
                )
        log.info("synthetic %s: %d clean + %d occluded", cls, n_clean, n_occ)
    files = {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(set(written))
    }
    manifest = {
        "generator": GENERATOR_VERSION,
        "seed": seed,
        "preset": preset,
        **({} if split is None else {"split": split}),
        "image_size": size,
        "supersample": supersample,
        "classes": summary,
        "counts": {"classes": len(classes), "images": len(classes) * (n_clean + n_occ)},
        "files": files,
    }
    put("manifest.json", json.dumps(manifest, indent=1, sort_keys=True).encode())
    return out / "manifest.json"
