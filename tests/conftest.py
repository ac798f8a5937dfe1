"""Suite-wide setup: offline by default, Prefect state in a temp home, `gpu` tests skipped on CPU;
the optimiser's toy scene (``toy_scene_factory``) shared by the runner and resume tests."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from artic3d_core.env import DEFAULTS

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from artic3d_core.model.articulated import ArticulatedModel
    from artic3d_core.skeleton.skeleton import Skeleton

for _k, _v in DEFAULTS.items():
    os.environ.setdefault(_k, _v)
if "PREFECT_HOME" not in os.environ:
    # a private Prefect home per test run, removed at exit (none is left behind in /tmp)
    _home = tempfile.mkdtemp(prefix="artic3d-prefect-")
    os.environ["PREFECT_HOME"] = _home
    atexit.register(shutil.rmtree, _home, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


# ---------------------------------------------------------------------------------------------
# The optimiser's toy scene: ground truth rendered from a known model (the runner and resume
# tests). The hand-made quadruped (artic3d_core.skeleton.toy), posed per instance with known
# Euler offsets and cameras; GT silhouettes, part labels and 'oracle' features (one-hot part
# identity, projected to ``feat_dim``) are rendered from the undeformed ellipsoid parts of the
# model itself. Imports stay inside the builder so that collecting the suite stays light.


@dataclass
class ToyScene:
    """GT for B instances: masks (B, S, S) int labels 0..nb, silhouettes (B, S, S) float,
    images (B, 3, S, S), feat_img (B, D, 64, 64), masks_lr (B, 64, 64), feat_part (nb, D),
    part_cent (nb, 3), gt_model (the generating model), gt_verts_2d (B, nb·V, 2) at level 3,
    gt_visible (B, nb·V) bool."""

    skeleton: Skeleton
    images: torch.Tensor
    masks: torch.Tensor
    silhouettes: torch.Tensor
    masks_lr: torch.Tensor
    feat_img: torch.Tensor
    feat_part: torch.Tensor
    part_cent: torch.Tensor
    gt_model: ArticulatedModel
    gt_verts_2d: torch.Tensor
    gt_visible: torch.Tensor


def make_toy_scene(
    n_instances: int = 6,
    image_size: int = 64,
    seed: int = 0,
    pose_std: float = 0.3,
    feat_dim: int = 20,
) -> ToyScene:
    """Render a toy ground truth (no deformation; parts are ellipsoids)."""
    import torch
    import torch.nn.functional as F

    from artic3d_core.model.articulated import ArticulatedModel
    from artic3d_core.model.config import ModelConfig
    from artic3d_core.render import backend as rb
    from artic3d_core.skeleton.toy import quadruped_skeleton

    g = torch.Generator().manual_seed(seed)
    sk = quadruped_skeleton()
    nb = sk.nb
    az = ((torch.rand(n_instances, generator=g) * 2 - 1) * 1.2).tolist()
    sk.azimuth = az
    model = ArticulatedModel(sk, n_instances, ModelConfig(feat_dim=feat_dim), seed=seed)
    with torch.no_grad():
        rot = torch.randn(n_instances, nb, 3, generator=g) * pose_std
        rot[..., 0] = 0  # axis 0 frozen in the method
        model.bone_rot.copy_(rot)
        model.global_rot[:, 0] = torch.randn(n_instances, generator=g) * 0.1
        model.global_rot[:, 1] = torch.randn(n_instances, generator=g) * 0.15
        model.global_scale.copy_(torch.randn(n_instances, generator=g) * 0.5)
        model.global_trans.add_(torch.randn(n_instances, 2, generator=g) * 0.05)
        mesh = model(level=3, deform=False)
        labels = rb.part_labels(mesh.flat_verts, mesh.faces, mesh.faces_per_part, image_size)
        hi = rb.part_labels(mesh.flat_verts, mesh.faces, mesh.faces_per_part, 64)
        basis = torch.linalg.qr(torch.randn(feat_dim, feat_dim, generator=g))[0][: nb + 1]
        feat_part = basis[1:]
        feat_img = basis[hi].permute(0, 3, 1, 2).contiguous()
        colors = torch.rand(nb, 3, generator=g).repeat_interleave(mesh.flat_verts.shape[1] // nb, 0)
        rgb, _, _ = rb.hard_rgb(
            mesh.flat_verts, mesh.faces, colors.expand(n_instances, -1, -1), image_size
        )
        vis = rb.vertex_visibility(mesh.flat_verts, mesh.faces, 128)
        cent = torch.zeros(nb, 3)
        ys, xs = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
        for b in range(nb):
            m = (hi == b + 1).float()
            n = m.sum((1, 2))
            present = n > 0
            if present.any():
                cx = ((m * xs).sum((1, 2)) / n.clamp_min(1))[present].mean() / 63
                cy = ((m * ys).sum((1, 2)) / n.clamp_min(1))[present].mean() / 63
                cent[b] = torch.tensor([float(cx), float(cy), 1.0])
    return ToyScene(
        skeleton=sk,
        images=rgb,
        masks=labels,
        silhouettes=(labels > 0).float(),
        masks_lr=hi,
        feat_img=F.normalize(feat_img, dim=1),
        feat_part=feat_part,
        part_cent=cent,
        gt_model=model,
        gt_verts_2d=mesh.verts_2d,
        gt_visible=vis,
    )


@pytest.fixture(scope="session")
def toy_scene_factory():
    """:func:`make_toy_scene`, for tests that build a scene of their own size and seed."""
    return make_toy_scene
