"""CLIP similarity: preprocessing, self-similarity 100 with random weights, timing (slow)."""

from __future__ import annotations

import time

import pytest
import torch

from artic3d_core.eval.clip_similarity import (
    OPENAI_CLIP_MEAN,
    CLIPScorer,
    clip_azimuths,
    clip_preprocess,
    clip_similarity,
    masked_image,
)
from artic3d_core.weights import WeightsConfig


@pytest.fixture(scope="module")
def tiny_scorer() -> CLIPScorer:
    torch.set_num_threads(1)
    return CLIPScorer.from_config(WeightsConfig(profile="tiny"), device="cpu")


def _image(seed: int = 0, size: int = 64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(3, size, size, generator=g)


def test_preprocess_resizes_and_normalises():
    img = torch.tensor(OPENAI_CLIP_MEAN).view(1, 3, 1, 1).expand(2, 3, 100, 150)
    out = clip_preprocess(img, 224)
    assert out.shape == (2, 3, 224, 224)
    torch.testing.assert_close(out, torch.zeros_like(out), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="B, 3, H, W"):
        clip_preprocess(torch.zeros(3, 10, 10))


def test_masked_image_and_azimuths():
    img = torch.zeros(3, 2, 2)
    mask = torch.tensor([[True, False], [False, True]])
    out = masked_image(img, mask, (1.0, 0.5, 0.0))
    assert out[:, 0, 1].tolist() == [1.0, 0.5, 0.0] and out[:, 0, 0].tolist() == [0, 0, 0]
    az = clip_azimuths(36)
    assert az.shape == (36,) and az[1] == 10.0 and az[-1] == 350.0


def test_self_similarity_is_100_with_random_weights(tiny_scorer):
    ref = masked_image(_image(0), _image(1)[0] > 0.3)
    calls = []

    def render_views(azim: torch.Tensor, elev: float) -> torch.Tensor:
        calls.append((azim.clone(), elev))
        return ref[None].expand(len(azim), -1, -1, -1)

    res = clip_similarity(render_views, ref, "zebra", tiny_scorer)
    assert res.s1 == pytest.approx(100.0, abs=1e-3)
    assert -100.0 <= res.s2 <= 100.0
    assert res.prompt == "A photo of zebra"
    assert res.weights.random and res.weights.profile == "tiny"
    ((azim, elev),) = calls
    assert len(azim) == 36 and elev == 30.0


def test_different_images_score_below_100_and_text_matters(tiny_scorer):
    ref = _image(0)

    def other(azim: torch.Tensor, elev: float) -> torch.Tensor:
        return torch.stack([_image(int(a) + 7) for a in azim])

    res = clip_similarity(other, ref, "zebra", tiny_scorer, n_azimuths=4)
    assert res.s1 < 99.9
    assert res.per_view_s1.shape == (4,)
    zebra = tiny_scorer.embed_texts(["A photo of zebra"])
    horse = tiny_scorer.embed_texts(["A photo of horse"])
    assert float((zebra @ horse.T).item()) < 0.9999


def test_render_function_with_wrong_output_is_named(tiny_scorer):
    with pytest.raises(ValueError, match="render_views must return"):
        clip_similarity(lambda a, e: torch.zeros(3, 3, 8, 8), _image(), "zebra", tiny_scorer)


@pytest.mark.slow
def test_full_size_random_clip_one_instance_under_60s():
    """Acceptance: 36 renders through a random full-size ViT-B/32 on CPU take < 60 s."""
    t0 = time.perf_counter()
    scorer = CLIPScorer.from_config(WeightsConfig(profile="full-random"), device="cpu")
    t_load = time.perf_counter() - t0
    ref = _image(0, 512)

    def render_views(azim: torch.Tensor, elev: float) -> torch.Tensor:  # stand-in renderer
        return ref[None].expand(len(azim), -1, -1, -1).clone()

    res = clip_similarity(render_views, ref, "zebra", scorer)
    print(f"full-random CLIP: load {t_load:.1f}s, eval {res.seconds:.1f}s")
    assert res.s1 == pytest.approx(100.0, abs=1e-3)
    assert res.seconds < 60.0
