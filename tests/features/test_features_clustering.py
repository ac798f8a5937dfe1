"""k-means, CRF, clustering, PCA and part centres: known answers on small synthetic inputs."""

import numpy as np
import pytest
import torch

from artic3d_core.features.clustering import cluster_features, part_centres, pca_project
from artic3d_core.features.config import CRFConfig, FeaturesConfig
from artic3d_core.features.crf import crf_colors, crf_labels, mean_field
from artic3d_core.features.kmeans import kmeans, sq_dists


def test_kmeans_recovers_separated_centres():
    rng = np.random.default_rng(0)
    true = np.array([[0, 0], [10, 0], [0, 10]], np.float32)
    x = np.concatenate([c + rng.normal(0, 0.3, (200, 2)) for c in true]).astype(np.float32)
    c = kmeans(x, 3, niter=50, nredo=3, seed=0)
    d = np.linalg.norm(c[:, None] - true[None], axis=-1).min(0)
    assert d.max() < 0.2
    assert np.array_equal(c, kmeans(x, 3, niter=50, nredo=3, seed=0))  # seeded


def test_kmeans_fewer_points_than_k_and_empty():
    c = kmeans(np.ones((2, 3), np.float32), 8, 10, 1, 0)
    assert c.shape == (8, 3)
    with pytest.raises(ValueError, match="non-empty"):
        kmeans(np.zeros((0, 3), np.float32), 8, 10, 1, 0)


def _two_region_image(n=64):
    img = torch.zeros(1, 3, n, n)
    img[:, 0, :, : n // 2] = 1.0  # red left, black right
    return img


def test_sq_dists_exact_and_independent_of_batch_and_threads():
    """Known answers (zero at the centres, float64 reference), each row independent of the
    chunking, and the same under OMP_NUM_THREADS 1 and 2 (the BLAS form differed by ~4e-6,
    so Dask workers and a sequential run produced different masks)."""
    import os
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 13)).astype(np.float32)
    c = x[:12]
    d = sq_dists(x, c)
    assert d.dtype == np.float32 and d.shape == (3000, 12)
    assert np.all(d[np.arange(12), np.arange(12)] == 0)
    ref = ((x[:, None].astype(np.float64) - c[None]) ** 2).sum(-1)
    np.testing.assert_allclose(d, ref, rtol=1e-5, atol=1e-5)
    assert np.array_equal(d, sq_dists(x, c, chunk_elems=1000))
    code = (
        "import numpy as np, sys; from artic3d_core.features.kmeans import sq_dists; "
        "x = np.random.default_rng(0).normal(size=(20000, 13)).astype(np.float32); "
        "sys.stdout.buffer.write(sq_dists(x, x[:12] * 0.5).tobytes())"
    )
    outs = [
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n},
            capture_output=True,
            check=True,
        ).stdout
        for n in ("1", "2")
    ]
    assert outs[0] == outs[1] and len(outs[0]) == 20000 * 12 * 4


def test_crf_snaps_noisy_unary_to_colour_edge():
    n = 64
    img = _two_region_image(n)
    g = torch.Generator().manual_seed(0)
    p_left = torch.zeros(1, 1, n, n)
    p_left[..., : n // 2 + 6] = 0.6  # the unary boundary is 6 px off and noisy
    p_left = (p_left + 0.35 * torch.randn(1, 1, n, n, generator=g)).clamp(0.01, 0.99)
    unary = torch.cat([-torch.log(p_left), -torch.log(1 - p_left)], 1)
    raw_err = (unary.argmin(1)[0] != (torch.arange(n) >= n // 2).long()[None]).float().mean()
    lab = crf_labels(unary, img, CRFConfig(grid=64))
    truth = (torch.arange(n) >= n // 2).long().expand(n, n)
    err = (lab[0] != truth).float().mean()
    assert err < 0.02 < raw_err


def test_crf_downsampled_grid_and_marginals():
    img = _two_region_image(128)
    unary = torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(1))
    q = mean_field(unary, img, CRFConfig(grid=32))
    assert q.shape == (1, 3, 128, 128)
    assert torch.allclose(q.sum(1), torch.ones(1, 128, 128), atol=1e-5)
    with pytest.raises(ValueError, match="do not match"):
        mean_field(unary, img[..., :64], CRFConfig())


def test_crf_colour_defect_variant_shrinks_contrast():
    img = _two_region_image(8)
    fixed = crf_colors(img, "fixed")
    ref = crf_colors(img, "reference")
    assert fixed[0, 0, 0, 0] - fixed[0, 0, 0, -1] == pytest.approx(255.0)
    assert ref[0, 0, 0, 0] - ref[0, 0, 0, -1] == pytest.approx(0.229 * 255, rel=1e-3)


def test_part_centres_known_values():
    lab = torch.zeros(1, 10, 10, dtype=torch.long)
    lab[0, 2:4, 6:8] = 1  # centroid x=6.5, y=2.5
    pc = part_centres(lab, 3)
    assert pc[0, 0].tolist() == pytest.approx([0.65, 0.25, 1.0])
    assert pc[0, 1].tolist() == [0.0, 0.0, 0.0]


def test_cluster_features_separates_planted_foreground():
    """Keys: a planted foreground (two 'parts') that is salient, a background that is not."""
    B, D, h = 3, 16, 16
    g = torch.Generator().manual_seed(0)
    base = torch.nn.functional.normalize(torch.randn(3, D, generator=g), dim=1)
    feats = base[0][None, :, None, None].repeat(B, 1, h, h).clone()
    fg = torch.zeros(B, h, h, dtype=torch.bool)
    fg[:, 4:12, 4:12] = True
    feats.permute(0, 2, 3, 1)[:, 4:12, 4:8] = base[1]
    feats.permute(0, 2, 3, 1)[:, 4:12, 8:12] = base[2]
    feats = feats + 0.01 * torch.randn(feats.shape, generator=g)
    sal = fg.float() * 0.9 + 0.05
    images = torch.zeros(B, 3, 64, 64)
    images[:, :, 16:48, 16:32] = 1.0  # the CRF's colour edges follow the planted parts
    images[:, 1, 16:48, 32:48] = 1.0
    cfg = FeaturesConfig(n_clusters=2, kmeans_niter=20, kmeans_nredo=2)
    res = cluster_features(feats, sal, images, cfg)
    assert torch.equal(res.is_fg_lr, fg)
    up = torch.nn.functional.interpolate(fg[:, None].float(), size=(64, 64))[:, 0] > 0
    iou = ((res.labels > 0) & up).sum() / ((res.labels > 0) | up).sum()
    assert iou > 0.9
    left = res.labels[:, 24:40, 20:28]
    right = res.labels[:, 24:40, 36:44]
    assert left.unique().numel() == 1 and right.unique().numel() == 1
    assert left[0, 0, 0] != right[0, 0, 0]
    assert res.part_cent.shape == (B, 2, 3)


def test_pca_projection_is_seeded_and_shaped():
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(2, 32, 8, 8, generator=g)
    masks = torch.ones(2, 8, 8, dtype=torch.long)
    cent = torch.randn(4, 32, generator=g)
    cfg = FeaturesConfig(pca_dim=5)
    a, pa = pca_project(feats, masks, cent, cfg)
    b, pb = pca_project(feats, masks, cent, cfg)
    assert a.shape == (2, 5, 8, 8) and pa.shape == (4, 5)
    assert torch.equal(a, b) and torch.equal(pa, pb)
    # the first component carries the most variance among fg patches
    var = a.permute(0, 2, 3, 1).reshape(-1, 5).var(0)
    assert var[0] >= var[1:].max()


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_crf_labels_chunked_on_device_equal_one_batch(device):
    """The CRF of labels_from_unary runs in chunks of batch_size on the given device; the
    labels (back on the CPU) equal one whole-batch CPU pass."""
    from artic3d_core.features.clustering import labels_from_unary

    g = torch.Generator().manual_seed(0)
    B, k, h, S = 5, 3, 8, 32
    d_fg = torch.rand(B, k, h, h, generator=g).numpy()
    is_fg = (torch.rand(B, h, h, generator=g) > 0.4).numpy()
    images = torch.rand(B, 3, S, S, generator=g)
    whole = FeaturesConfig(batch_size=B, crf=CRFConfig(grid=16))
    ref = labels_from_unary(d_fg, is_fg, images, whole)
    chunked = whole.model_copy(update={"batch_size": 2})
    out = labels_from_unary(d_fg, is_fg, images, chunked, device=device)
    assert out.device.type == "cpu" and out.shape == (B, S, S)
    assert torch.equal(out, ref)
    assert len(out.unique()) > 1  # not a degenerate all-one-label case
