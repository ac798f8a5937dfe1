"""The stage runner (docs/method.md §7): joint stages over all images, then per-instance stages.

One public function per phase (``fit_joint``, ``fit_instance``) plus ``run_stage`` for one
stage. Checkpoints: ``<dir>/stage_<ii>_<name>.pt`` after every stage and ``progress.json``
listing finished stages; a re-run resumes after the last finished stage. Every stage seeds its
own generator from (seed, phase, stage, instance), so a resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from artic3d_core import losses as L
from artic3d_core.atomic import atomic_write, atomic_write_text, file_sha256
from artic3d_core.losses.config import LossesConfig
from artic3d_core.model.articulated import ArticulatedModel, PosedMesh
from artic3d_core.model.template import sphere_template
from artic3d_core.optim.config import StageSpec
from artic3d_core.render import backend as rb
from artic3d_core.seeding import GeneratorGroup, derive_seed

log = logging.getLogger(__name__)


@dataclass
class FitInputs:
    """Per-class optimisation inputs (B images).

    images: (B, 3, H, W) in [0, 1]; masks: (B, H', W') int part labels (0 = background);
    masks_lr: (B, h, w) labels at the feature grid; feat_img: (B, D, h, w); part_cent: (C, 3) or
    (B, C, 3) (x, y, present) in crop units; prompt: text for guidance.
    """

    images: torch.Tensor
    masks: torch.Tensor
    masks_lr: torch.Tensor
    feat_img: torch.Tensor
    part_cent: torch.Tensor
    prompt: str = "A photo of an animal"

    def select(self, k: int | list[int]) -> FitInputs:
        """The inputs of image ``k`` (batch 1) or of the images ``k`` (a list), in order."""
        idx = [k] if isinstance(k, int) else list(k)
        pc = self.part_cent[idx] if self.part_cent.ndim == 3 else self.part_cent
        return FitInputs(
            self.images[idx], self.masks[idx], self.masks_lr[idx], self.feat_img[idx], pc,
            self.prompt,
        )  # fmt: skip

    def fg_at(self, size: int) -> torch.Tensor:
        """(B, size, size) float foreground (area-resized)."""
        fg = (self.masks > 0).float()[:, None]
        if fg.shape[-1] != size:
            fg = F.interpolate(fg, size=(size, size), mode="area")
        return fg[:, 0]

    def images_at(self, size: int) -> torch.Tensor:
        if self.images.shape[-1] == size:
            return self.images
        return F.interpolate(self.images, size=(size, size), mode="area")


@dataclass
class StageResult:
    """One stage's loss history (name → per-iteration values) and its cost: wall ``seconds``,
    ``iters``, render ``image_size``, ``mesh_level`` and ``batch`` (instances optimised together:
    B in a joint stage, K in an instance stage). A ``resumed`` stage was loaded from its
    checkpoint: ``seconds`` are those it took when it ran (None when they were not recorded).

    K instances fitted together: ``rows`` holds each instance's own history (``history`` their
    mean); :meth:`row` gives instance j's result, with its share ``seconds / K`` of the time."""

    name: str
    history: dict[str, list[float]] = field(default_factory=dict)
    rows: list[dict[str, list[float]]] | None = None
    seconds: float | None = 0.0
    resumed: bool = False
    phase: str = "joint"
    iters: int = 0
    image_size: int = 0
    mesh_level: int = 0
    batch: int = 0

    @classmethod
    def of(cls, stage: StageSpec, instances: torch.Tensor, **kw) -> StageResult:
        """An empty result carrying ``stage``'s cost figures for ``instances``."""
        return cls(
            stage.name, phase=stage.phase, iters=stage.iters, image_size=stage.image_size,
            mesh_level=stage.mesh_level, batch=int(instances.numel()), **kw,
        )  # fmt: skip

    def final(self) -> dict[str, float]:
        return {k: v[-1] for k, v in self.history.items() if v}

    def final_record(self) -> dict[str, float] | list[dict[str, float]]:
        """The final losses as ``progress.json`` keeps them (one dict per row when stacked)."""
        if self.rows is None:
            return self.final()
        return [{k: v[-1] for k, v in r.items() if v} for r in self.rows]

    def restore_final(self, rec: dict[str, float] | list[dict[str, float]]) -> None:
        """Set the history of a resumed stage from :meth:`final_record`'s output."""
        if isinstance(rec, list):
            self.rows = [{k: [v] for k, v in r.items()} for r in rec]
            self.history = _mean_rows(self.rows)
        else:
            self.history = {k: [v] for k, v in rec.items()}

    def row(self, j: int) -> StageResult:
        """Instance j's result of a stacked stage (itself when not stacked)."""
        if self.rows is None:
            return self
        k = len(self.rows)
        secs = None if self.seconds is None else self.seconds / k
        return dataclasses.replace(self, history=self.rows[j], rows=None, seconds=secs)

    def timing(self) -> dict[str, Any]:
        """The JSON-able cost record of the stage (``summary.json`` ``timing`` entries)."""
        secs = None if self.seconds is None else round(self.seconds, 4)
        return {
            "phase": self.phase, "seconds": secs, "iters": self.iters,
            "image_size": self.image_size, "mesh_level": self.mesh_level, "batch": self.batch,
            "resumed": self.resumed,
        }  # fmt: skip


class GuidanceMissingError(RuntimeError):
    """A guided method reached a guided stage without a guidance object."""


def _atomic_save(obj, path: Path) -> None:
    atomic_write(path, lambda t: torch.save(obj, t))


def _atomic_json(obj, path: Path) -> None:
    atomic_write_text(path, json.dumps(obj, indent=1), fsync=False)


def stage_checkpoint(ckpt_dir: Path, index: int, stage: StageSpec) -> Path:
    return Path(ckpt_dir) / f"stage_{index:02d}_{stage.name}.pt"


# ---- losses ------------------------------------------------------------------------------------
def _truncation(stage: StageSpec, j: int, f_instance: int) -> int:
    if "sil" not in stage.weights:
        return 10
    return j % 10 if stage.phase == "joint" else f_instance + j % (10 - f_instance)


def _vert_part(model: ArticulatedModel, mesh: PosedMesh) -> torch.Tensor:
    V = mesh.template.shape[0]
    return torch.arange(model.nb, device=mesh.verts.device).repeat_interleave(V)


BATCHED_LOSSES = frozenset({"sil", "instance", "lap", "norm", "text_init", "text", "guidance"})


def compute_losses(
    model: ArticulatedModel,
    mesh: PosedMesh,
    inputs: FitInputs,
    stage: StageSpec,
    instances: torch.Tensor,
    sigma: float,
    stop_at: int,
    loss_cfg: LossesConfig,
    prior_level: int,
    cache: dict | None = None,
) -> dict[str, torch.Tensor]:
    """Every weighted loss of ``stage`` except the guidance term (docs/method.md §6): scalars,
    or for a stacked model (K instances fitted together) (K,) vectors, one value per instance,
    each the value that instance's own fit computes. ``cache``: a dict kept for one stage's
    iterations, holding what does not change between them (see :func:`_shared_deformation`)."""
    w = stage.weights
    per = model.rows is not None
    if per and set(w) - BATCHED_LOSSES:
        raise ValueError(
            f"stage {stage.name}: {sorted(set(w) - BATCHED_LOSSES)} cannot be fitted for several "
            f"instances at once (batched instance stages take {sorted(BATCHED_LOSSES)}); set "
            "optim.instance_batch: 1"
        )
    out: dict[str, torch.Tensor] = {}
    sk = model.skeleton
    if "sil" in w:
        sil = rb.soft_silhouette(
            mesh.flat_verts, mesh.faces, stage.image_size, sigma, sigma, stage.faces_per_pixel,
            rasteriser=stage.rasteriser or "auto",
        )  # fmt: skip
        out["sil"] = L.silhouette_loss(sil, inputs.fg_at(stage.image_size), per)
    if "feat" in w:
        out["feat"] = L.semantic_chamfer_loss(
            mesh.verts_2d, _vert_part(model, mesh), model.feat_verts, inputs.feat_img,
            inputs.masks_lr > 0, stage.w_xy, loss_cfg.feat_vertex_term, stage.feat_grid or loss_cfg.feat_grid,
        )  # fmt: skip
    if "part_cent" in w:
        out["part_cent"] = L.part_centre_loss(
            mesh.joints_2d, sk.parents, sk.part_dino, inputs.part_cent, loss_cfg.part_cent_weight
        )
    if "can_prior" in w:
        out["can_prior"] = L.canonical_prior(mesh.joints_can, sk.joints_sym())
    if "pose_prior" in w:
        out["pose_prior"] = L.pose_prior(
            model.bone_rot[instances], model.bone_scale, loss_cfg.pose_prior_scale,
            loss_cfg.pose_prior_axis1, loss_cfg.pose_prior_axis2, loss_cfg.pose_prior_root_axis2,
        )  # fmt: skip
    if "global_prior" in w:
        out["global_prior"] = L.global_prior(
            model.global_rot[instances], loss_cfg.global_prior_elev
        )
    if "cam_anchor" in w:
        out["cam_anchor"] = L.camera_anchor(
            model.global_rot[instances, 2], model.azimuth_init[instances]
        )
    needs_prior = {"shape_prior", "instance", "lap", "norm"} & set(w)
    if needs_prior:
        X5, F5 = sphere_template(prior_level, mesh.verts.device)
        deformed: dict[int, torch.Tensor] = {}  # F_b(X5; s) by s, each evaluated once

        def deformation(s: int) -> torch.Tensor:
            if s not in deformed:
                deformed[s] = model.deformation(X5, s)
            return deformed[s]

        if "shape_prior" in w:
            out["shape_prior"] = L.shape_prior(deformation(10), loss_cfg.shape_prior_inner)
        if "instance" in w:
            d_base = _shared_deformation(model, X5, cache)
            out["instance"] = L.instance_prior(deformation(stop_at), d_base, per)
        if "lap" in w or "norm" in w:
            parts = X5 + deformation(stop_at if stage.phase == "instance" else 10)
            if "lap" in w:
                out["lap"] = L.laplacian_loss(parts, F5, per)
            if "norm" in w:
                out["norm"] = L.normal_consistency_loss(parts, F5, per)
    if "inflat" in w:
        Fp = mesh.faces_per_part
        out["inflat"] = L.inflation_loss(mesh.verts[0, 0], mesh.faces[:Fp], loss_cfg.inflat_eps)
    if "text_init" in w:
        uv = _per_mesh(model.uv_vertex_colors(mesh), mesh)
        with torch.no_grad():
            target = model.sampled_vertex_colors(mesh, inputs.images)
        out["text_init"] = L.texture_init_loss(uv, target, per)
    if "text" in w:
        uv = _per_mesh(model.uv_vertex_colors(mesh), mesh)
        rgb, _, _ = rb.hard_rgb(
            mesh.flat_verts.detach(), mesh.faces, uv, stage.image_size,
            rasteriser=stage.rasteriser or "auto",
        )  # fmt: skip
        S = stage.image_size
        out["text"] = L.texture_loss(rgb, inputs.images_at(S), inputs.fg_at(S) > 0.5, per)
    return out


def _shared_deformation(model: ArticulatedModel, X: torch.Tensor, cache: dict | None):
    """F_b(X; f_instance − 1) without gradient: the shared layers' deformation that the
    instance prior anchors to. While those layers are frozen (the instance phase) it is the
    same every iteration, so it is computed once per stage into ``cache``."""
    frozen = not any(p.requires_grad for p in model.parts.shared_parameters())
    key = ("shared_deformation", X.shape[0])
    if frozen and cache is not None and key in cache:
        return cache[key]
    with torch.no_grad():
        d = model.deformation(X, model.cfg.f_instance - 1)
    if frozen and cache is not None:
        cache[key] = d
    return d


def _per_mesh(colors: torch.Tensor, mesh: PosedMesh) -> torch.Tensor:
    """UV colours (N, 3) shared by the batch, or (B, N, 3) per instance → (B, N, 3)."""
    B = mesh.verts.shape[0]
    return colors if colors.ndim == 3 else colors[None].expand(B, -1, -1)


def update_feat_verts(model: ArticulatedModel, mesh: PosedMesh, inputs: FitInputs) -> None:
    """EMA of per-part features from the images at the vertex projections (docs/method.md §6.2)."""
    with torch.no_grad():
        grid = (mesh.verts_2d * 2 - 1)[:, None]
        f = F.grid_sample(inputs.feat_img, grid, align_corners=True)[:, :, 0]  # (B,D,N)
        fg = F.grid_sample((inputs.masks_lr > 0).float()[:, None], grid, align_corners=True)[
            :, 0, 0
        ]
        avg = (f * fg[:, None]).sum(0) / fg.sum(0).clamp_min(1e-6)  # (D,N)
        V = mesh.template.shape[0]
        per_part = avg.T.reshape(model.nb, V, -1).mean(1)
        m = model.cfg.feat_ema
        model.feat_verts.mul_(m).add_((1 - m) * per_part)


# ---- one stage ---------------------------------------------------------------------------------
def _mean_rows(rows: list[dict[str, list[float]]]) -> dict[str, list[float]]:
    """Per-iteration means over the rows' histories."""
    keys = rows[0].keys() if rows else ()
    return {k: [sum(v) / len(rows) for v in zip(*(r[k] for r in rows), strict=True)] for k in keys}


def stage_generator(seed: int | list[int], stage: StageSpec) -> torch.Generator | GeneratorGroup:
    """The stage's random stream: seeded from (seed, phase, stage); for a list of per-instance
    seeds (K instances fitted together) one stream per instance, each the one that instance's
    own fit would use."""
    if isinstance(seed, int):
        return torch.Generator().manual_seed(derive_seed(seed, stage.phase, stage.name))
    return GeneratorGroup([stage_generator(s, stage) for s in seed])


def run_stage(
    model: ArticulatedModel,
    inputs: FitInputs,
    stage: StageSpec,
    instances: torch.Tensor,
    seed: int | list[int],
    loss_cfg: LossesConfig | None = None,
    prior_level: int = 5,
    guidance=None,
    guidance_views=None,
    progress: bool = True,
    guidance_cfg=None,
) -> StageResult:
    """Run one stage in place on ``model`` for ``instances`` (joint: all; instance: [k]).

    ``guidance`` (a ``Guidance``) is required when the stage weights contain ``guidance``
    (the optimiser adds ``guidance.loss(renders, prompt)``); ``guidance_views(generator)`` →
    random views (docs/method.md §5). Returns the loss history.

    A stacked model (K instances, :meth:`ArticulatedModel.stack_instances`) takes ``instances``
    = its rows and ``seed`` = the K per-instance seeds: one optimisation whose objective is the
    sum of the K instances' objectives, so each instance's gradient, Adam state (Adam is
    element-wise) and random draws are those of its own fit.
    """
    loss_cfg = loss_cfg or LossesConfig()
    t0 = time.perf_counter()
    res = StageResult.of(stage, instances)
    if stage.iters == 0:
        return res
    gen = stage_generator(seed, stage)
    stacked = model.rows is not None
    if stage.phase == "joint" and "pose_prior" in stage.weights:
        model.recentre_rest_pose()
    params = model.param_groups(stage.params)
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError(f"stage {stage.name}: nothing to optimise in {stage.params}")
    opt = torch.optim.Adam(params, lr=stage.lr)
    depth = torch.tensor(model.skeleton.bone_depth(), device=model.bone_rot.device)
    sigma = stage.sigma
    guided = "guidance" in stage.weights
    if guided and guidance is None:
        raise GuidanceMissingError(
            f"stage {stage.name} has a 'guidance' weight but no guidance was given"
        )
    rows: list[dict[str, list[float]]] = [{} for _ in instances] if stacked else []
    cache: dict = {}
    bar = tqdm(range(stage.iters), desc=stage.name, disable=not progress, leave=False)
    for j in bar:
        if stage.decay and j >= stage.iters // 2 and j % 30 == 0:
            sigma = max(1e-7, 0.1 * sigma)
        s = _truncation(stage, j, model.cfg.f_instance)
        mesh = model(stage.mesh_level, s, stage.deform, gen, instances)
        terms = compute_losses(
            model, mesh, inputs, stage, instances, sigma, s, loss_cfg, prior_level, cache
        )
        if guided:
            terms["guidance"] = _guidance_term(
                model, stage, instances, guidance, guidance_views, inputs, gen, s, guidance_cfg
            )
        total = sum(stage.weights[k] * v for k, v in terms.items())
        opt.zero_grad(set_to_none=True)
        (total.sum() if stacked else total).backward()
        if "pose_prior" in stage.weights and model.bone_rot.grad is not None:
            model.bone_rot.grad[..., 0] = 0
            if stage.lev in (1, 2):
                deep = depth > stage.lev
                model.bone_rot.grad[:, deep] = 0
                if model.part_codes.grad is not None:
                    model.part_codes.grad[deep] = 0
        opt.step()
        if "feat" in stage.weights and stage.phase == "joint":
            update_feat_verts(
                model, mesh.__class__(**{**mesh.__dict__, "verts": mesh.verts.detach()}), inputs
            )
        terms["total"] = total
        if stacked:
            for k, v in terms.items():
                for r, x in zip(rows, v.detach().tolist(), strict=True):
                    r.setdefault(k, []).append(x)
            vals = {k: float(v.detach().mean()) for k, v in terms.items()}
        else:
            vals = {k: float(v.detach()) for k, v in terms.items()}
        for k, v in vals.items():
            res.history.setdefault(k, []).append(v)
        if progress:
            bar.set_postfix({k: f"{v:.3g}" for k, v in vals.items()})
    if stacked:
        res.rows = rows
    res.seconds = time.perf_counter() - t0
    log.info(
        "stage %s (%s, batch %d): %d iters in %.2f s", stage.name, stage.phase, res.batch,
        stage.iters, res.seconds,
    )  # fmt: skip
    return res


def _guidance_term(
    model, stage, instances, guidance, guidance_views, inputs, gen, s, guidance_cfg=None
) -> torch.Tensor:
    """Render the instance's UV-textured mesh in random views and call ``guidance.loss``.

    Pose exploration (docs/method.md §6.13): ``guidance.pose_exploration`` = ``instances`` (paper:
    between instance k and a random other instance) or ``rest`` (reference: between the rest pose
    and k). ``guidance.guided_params`` gates which groups the guidance gradient reaches (texture,
    parts, bones); the stage's ``params`` decide which of those are optimised.

    A stacked model renders every row's views in one batch and calls the guidance once with a
    generator group (row j's views, pose, jitter and noise come from row j's stream, in the
    order its own fit draws them); the result is then (K,), each row's guidance loss.
    """
    from artic3d_core.guidance.config import GuidanceConfig
    from artic3d_core.guidance.views import explore_pose, gate_gradient

    cfg = guidance_cfg or GuidanceConfig()
    stacked = isinstance(gen, GeneratorGroup)
    gens = gen.generators if stacked else [gen]
    ks = [int(k) for k in instances] if stacked else [int(instances[0])]
    bone_rot = gate_gradient(model.bone_rot, "bones", cfg)
    views, poses = [], []
    for k, g in zip(ks, gens, strict=True):
        views.append(rb.RenderViews.from_any(guidance_views(g)))
        poses.append(explore_pose(bone_rot, k, g, cfg.pose_exploration))
    n = len(views[0])
    inst = instances if stacked else instances[:1]
    mesh = model(stage.mesh_level, s, True, gen, inst, bone_rot=torch.stack(poses))
    K = len(ks)
    v = mesh.verts_can.reshape(K, -1, 3)
    if not {"parts", "bones"} & set(cfg.guided_params):
        v = v.detach()
    v = v - v.mean(1, keepdim=True)
    colors = _per_mesh(gate_gradient(model.uv_vertex_colors(mesh), "texture", cfg), mesh)
    rgb, _ = rb.layered_rgb(
        v.repeat_interleave(n, 0), mesh.faces, colors.repeat_interleave(n, 0), stage.image_size,
        stage.sigma, stage.faces_per_pixel, rb.RenderViews.cat(views),
        rasteriser=stage.rasteriser or "auto",
    )  # fmt: skip
    if not stacked:
        return guidance.loss(rgb.clamp(0, 1), inputs.prompt, generator=gen)
    out = guidance.compute(rgb.clamp(0, 1), inputs.prompt, generator=gen)
    if out.per_image is None:
        raise ValueError(
            f"guidance {guidance.name!r} gives no per-image losses, so it cannot guide several "
            "instances at once; set optim.instance_batch: 1"
        )
    return out.per_image.reshape(K, n).sum(1)


# ---- phases ------------------------------------------------------------------------------------
def resume_signature(model, inputs: FitInputs, seed: int) -> str:
    """What a checkpoint folder was made from: the model's starting state (names, shapes,
    values), the seed and the input tensors. A resume with another signature starts over (a
    folder reused for another skeleton or image set must not be half-loaded); the stages are
    compared one by one (a finished stage counts only if its spec is unchanged)."""
    import hashlib

    h = hashlib.sha256()
    for k, v in model.state_dict().items():
        h.update(f"{k}:{tuple(v.shape)};".encode())
        h.update(v.detach().float().cpu().contiguous().numpy().tobytes())
    h.update(str(seed).encode())
    for t in (inputs.images, inputs.masks, inputs.masks_lr, inputs.feat_img, inputs.part_cent):
        if isinstance(t, torch.Tensor):
            h.update(str(tuple(t.shape)).encode())
            h.update(t.detach().float().cpu().contiguous().numpy().tobytes())
    h.update(str(inputs.prompt).encode())
    return h.hexdigest()[:16]


@dataclass
class _Progress:
    """``progress.json`` of a checkpoint folder: per finished stage its spec (``repr``), the
    sha256 of its checkpoint, its final loss values and its wall seconds (None where the file
    does not record them), so that a resumed stage still reports what it cost."""

    specs: list[str] = field(default_factory=list)
    sha256: list[str | None] = field(default_factory=list)
    final: list[dict[str, float] | list[dict[str, float]]] = field(default_factory=list)
    seconds: list[float | None] = field(default_factory=list)


def _load_progress(ckpt_dir: Path, signature: str | None = None) -> _Progress:
    """The finished stages recorded in ``ckpt_dir`` (none when the folder was made from other
    inputs, or its progress file is unreadable: the phase then starts over)."""
    p = Path(ckpt_dir) / "progress.json"
    if not p.is_file():
        return _Progress()
    try:
        d = json.loads(p.read_text())
        n = len(d["finished"])
        specs = [str(s) for s in d.get("specs", [])][:n]
        sha = list(d.get("sha256", []))[: len(specs)]
        final = list(d.get("final", []))[: len(specs)]
        seconds = [float(x) if isinstance(x, int | float) else None for x in d.get("seconds", [])][
            : len(specs)
        ]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        log.warning("%s: unreadable progress file (%s); starting this phase over", p, exc)
        return _Progress()
    if signature is not None and d.get("signature") != signature:
        log.warning(
            "%s: checkpoints were made from other inputs, model or stages (signature %s, now "
            "%s); starting this phase over",
            p,
            d.get("signature"),
            signature,
        )
        return _Progress()
    sha += [None] * (len(specs) - len(sha))
    final += [{}] * (len(specs) - len(final))
    seconds += [None] * (len(specs) - len(seconds))
    return _Progress(specs, sha, final, seconds)


def load_verified_checkpoint(path: Path, sha256: str | None, device) -> dict | None:
    """The checkpoint at ``path`` if it is present, matches ``sha256`` (when recorded), loads
    with ``weights_only`` and holds only finite values; otherwise None, with one log line
    saying what is wrong (the caller recomputes the stage)."""
    path = Path(path)
    if not path.is_file():
        log.warning("%s: checkpoint missing; recomputing from the stage before", path)
        return None
    if sha256 is not None and file_sha256(path) != sha256:
        log.warning("%s: checkpoint does not match its recorded sha256; recomputing it", path)
        return None
    try:
        state = torch.load(path, map_location=device, weights_only=True)
        tensors = state["model"]
    except Exception as exc:  # any unreadable file is recomputed, whatever the loader raised
        log.warning("%s: unreadable checkpoint (%s); recomputing it", path, str(exc)[:200])
        return None
    bad = [
        k
        for k, v in tensors.items()
        if torch.is_tensor(v) and v.is_floating_point() and not bool(torch.isfinite(v).all())
    ]
    if bad:
        log.warning("%s: non-finite values in %s; recomputing it", path, ", ".join(bad[:5]))
        return None
    return state


def _run_phase(
    model, inputs, stages, instances, ckpt_dir, seed, loss_cfg, prior_level, progress,
    guidance=None, guidance_views=None, state_keys=None, guidance_cfg=None,
) -> list[StageResult]:  # fmt: skip
    sig = resume_signature(model, inputs, seed) if ckpt_dir is not None else None
    done = _load_progress(ckpt_dir, sig) if ckpt_dir is not None else _Progress()
    # resumable: the longest prefix of stages whose specs match the finished ones ...
    n_done = 0
    while n_done < min(len(done.specs), len(stages)) and done.specs[n_done] == repr(stages[n_done]):
        n_done += 1
    # ... back to the last one whose checkpoint verifies
    while n_done > 0:
        i = n_done - 1
        path = stage_checkpoint(ckpt_dir, i, stages[i])
        state = load_verified_checkpoint(path, done.sha256[i], model.bone_rot.device)
        if state is not None:
            model.load_state_dict(state["model"], strict=False)
            log.info("resumed after stage %s from %s", stages[i].name, path)
            break
        n_done -= 1
    results = [
        StageResult.of(st, instances, seconds=done.seconds[i], resumed=True)
        for i, st in enumerate(stages[:n_done])
    ]
    for r, fin in zip(results, done.final, strict=False):
        r.restore_final(fin)
    record = _Progress(
        done.specs[:n_done], done.sha256[:n_done], done.final[:n_done], done.seconds[:n_done]
    )
    for i in range(n_done, len(stages)):
        st = stages[i]
        res = run_stage(
            model, inputs, st, instances, seed, loss_cfg, prior_level, guidance, guidance_views,
            progress, guidance_cfg,
        )  # fmt: skip
        results.append(res)
        if ckpt_dir is None:
            continue
        sd = model.state_dict()
        if state_keys is not None:
            sd = {k: v for k, v in sd.items() if state_keys(k)}
        path = stage_checkpoint(ckpt_dir, i, st)
        _atomic_save({"model": sd, "stage": st.name, "history": res.history}, path)
        record.specs.append(repr(st))
        record.sha256.append(file_sha256(path))
        record.final.append(res.final_record())
        record.seconds.append(res.seconds)
        _atomic_json(
            {
                "finished": [s.name for s in stages[: i + 1]],
                "specs": record.specs,
                "sha256": record.sha256,
                "final": record.final,
                "seconds": record.seconds,
                "signature": sig,
            },
            Path(ckpt_dir) / "progress.json",
        )
    return results


def fit_joint(
    model: ArticulatedModel,
    inputs: FitInputs,
    stages: list[StageSpec],
    ckpt_dir: Path | None = None,
    seed: int = 0,
    loss_cfg: LossesConfig | None = None,
    prior_level: int = 5,
    progress: bool = True,
) -> list[StageResult]:
    """Joint stages (docs/method.md §7.1) on all B images at once; in place on ``model``."""
    stages = [s for s in stages if s.phase == "joint"]
    inst = torch.arange(model.n_instances, device=model.bone_rot.device)
    return _run_phase(model, inputs, stages, inst, ckpt_dir, seed, loss_cfg, prior_level, progress)


def instance_state_keys(key: str) -> bool:
    """State saved per instance: part MLPs and the texture (docs/method.md §7.2 outputs)."""
    return key.startswith("parts.") or key == "text_img"


def _frozen_copy(joint: ArticulatedModel) -> ArticulatedModel:
    """A copy of the joint model with its shared MLP layers frozen: where the per-instance
    stages start (docs/method.md §7.2)."""
    import copy

    m = copy.deepcopy(joint)
    m.parts.freeze_shared(True)
    return m


def fit_instance(
    joint_model: ArticulatedModel,
    k: int,
    inputs: FitInputs,
    stages: list[StageSpec],
    ckpt_dir: Path | None = None,
    seed: int = 0,
    loss_cfg: LossesConfig | None = None,
    prior_level: int = 5,
    guidance=None,
    guidance_views=None,
    progress: bool = True,
    guidance_cfg=None,
) -> tuple[ArticulatedModel, list[StageResult]]:
    """Per-instance stages (docs/method.md §7.2) for image ``k`` on a copy of the joint model with
    the shared MLP layers frozen. Returns (instance model, results); camera/pose are not
    optimised."""
    m = _frozen_copy(joint_model)
    stages = [s for s in stages if s.phase == "instance"]
    inst = torch.tensor([k], device=m.bone_rot.device)
    res = _run_phase(
        m, inputs.select(k), stages, inst, ckpt_dir, instance_seed(seed, k), loss_cfg,
        prior_level, progress, guidance, guidance_views, instance_state_keys, guidance_cfg,
    )  # fmt: skip
    return m, res


def instance_seed(seed: int, k: int) -> int:
    """The seed of instance ``k``'s per-instance stages."""
    return derive_seed(seed, "instance", k)


def fit_instances(
    joint_model: ArticulatedModel,
    ks: list[int],
    inputs: FitInputs,
    stages: list[StageSpec],
    seeds: list[int],
    ckpt_dir: Path | None = None,
    loss_cfg: LossesConfig | None = None,
    prior_level: int = 5,
    guidance=None,
    guidance_views=None,
    progress: bool = True,
    guidance_cfg=None,
) -> list[tuple[ArticulatedModel, list[StageResult]]]:
    """The per-instance stages of images ``ks`` fitted together (docs/method.md §7.2): one
    stacked copy of the joint model, K rows of instance parameters, one optimisation per stage.
    ``seeds[j]`` is what :func:`fit_instance` would get for ``ks[j]``: each returned
    (model, results) equals that call's, up to float summation order. ``ckpt_dir`` holds the
    chunk's stacked checkpoints (a resumed chunk equals an uninterrupted one)."""
    if len(seeds) != len(ks):
        raise ValueError(f"{len(seeds)} seeds for {len(ks)} instances")
    m = _frozen_copy(joint_model)
    m.stack_instances(ks)
    stages = [s for s in stages if s.phase == "instance"]
    inst = torch.tensor(ks, device=m.bone_rot.device)
    res = _run_phase(
        m, inputs.select(ks), stages, inst, ckpt_dir, [instance_seed(s, k) for s, k in zip(seeds, ks, strict=True)],
        loss_cfg, prior_level, progress, guidance, guidance_views, instance_state_keys, guidance_cfg,
    )  # fmt: skip
    return [(_instance_model(joint_model, m, j), [r.row(j) for r in res]) for j in range(len(ks))]


def _instance_model(joint: ArticulatedModel, stacked: ArticulatedModel, j: int) -> ArticulatedModel:
    """Row j of a stacked fit as the model :func:`fit_instance` makes: the joint model with row
    j's instance parameters and instance k = rows[j]'s pose and camera rows."""
    m = _frozen_copy(joint)
    k = int(stacked.rows[j])
    with torch.no_grad():
        for name in ("W_hi", "b_hi", "U_hi"):
            getattr(m.parts, name).copy_(getattr(stacked.parts, name)[j])
        m.text_img.copy_(stacked.text_img[j])
        for name in ("bone_rot", "global_rot", "global_trans", "global_scale"):
            getattr(m, name)[k] = getattr(stacked, name)[k]
    return m
