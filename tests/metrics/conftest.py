"""Shared fixtures: metric rows as an evaluation run would write them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from artic3d_core.metrics.schema import MetricRow, RunContext
from artic3d_core.weights import WeightsInfo

RANDOM_SD = WeightsInfo("sd", "tiny", "random (seed 0)", "random:abc", True)
REAL_DINO = WeightsInfo("dino", "real", "/w/dino.safetensors", "sha256:1234", False)
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def make_ctx(dataset="lassie", set_="clean", cls="zebra", method="artic3d", **kw) -> RunContext:
    base = dict(
        dataset=dataset,
        set=set_,
        cls=cls,
        method=method,
        params_hash="p0",
        device="cpu",
        feature_backend="dino",
        weights=(RANDOM_SD,),
        run_id="run-1",
        git_rev="deadbeef",
    )
    base.update(kw)
    return RunContext(**base)


@pytest.fixture
def ctx_factory():
    """``ctx_factory(**overrides) -> RunContext`` (random SD weights, DINO features)."""
    return make_ctx


@pytest.fixture
def t0() -> datetime:
    return T0


@pytest.fixture
def sample_rows() -> list[MetricRow]:
    """Rows for every table: LASSIE/E-LASSIE PCK, Pascal PCK, CLIP, synthetic metrics."""
    rows = []
    t = T0
    for set_, val in (("clean", 64.2), ("occluded", 61.0)):
        ctx = make_ctx(set_=set_)
        rows.append(
            ctx.row("pck", val, images=30, pairs=870, threshold=0.1, crop_scale=2.0, timestamp=t)
        )
        rows.append(ctx.row("pck_reference", val - 5, images=30, pairs=870, timestamp=t))
    real = make_ctx(cls="tiger", method="hi-lassie", weights=(REAL_DINO,), run_id="run-2")
    rows.append(real.row("pck", 63.0, images=30, pairs=870, timestamp=t))
    pascal = make_ctx(dataset="pascal_part", cls="horse", feature_backend="oracle", run_id="run-3")
    rows.append(pascal.row("pck", 44.0, images=20, pairs=380, crop_scale=1.5, timestamp=t))
    rows.append(pascal.row("sil_iou", 71.5, images=20, timestamp=t))
    clip = make_ctx(set_="occluded", cls="giraffe", run_id="run-4")
    clip_w = WeightsInfo("clip", "full-random", "random (seed 0)", "random:c", True)
    rows.append(clip.row("clip_s1", 85.1, images=45, extra_weights=(clip_w,), timestamp=t))
    rows.append(clip.row("clip_s2", 30.2, images=45, extra_weights=(clip_w,), timestamp=t))
    syn = make_ctx(dataset="synthetic", cls="kangaroo", feature_backend="oracle", run_id="run-5")
    for metric, val in (
        ("pck", 55.5),
        ("mask_iou", 80.25),
        ("kp3d_err_rel", 7.5),
        ("azim_err_deg", 12.0),
    ):
        rows.append(syn.row(metric, val, images=12, timestamp=t + timedelta(seconds=1)))
    return rows
