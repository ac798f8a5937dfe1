"""Boundary-connectivity saliency on pictures whose answer is known by construction."""

import numpy as np

from artic3d_core.features.background_connectivity import boundary_saliency


def _picture(size: int = 96, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Textured green ground, a brown body (ellipse) with two legs reaching the bottom edge."""
    rng = np.random.default_rng(seed)
    img = np.empty((size, size, 3), np.float32)
    img[:] = (0.30, 0.55, 0.25)
    img += rng.normal(0, 0.02, img.shape).astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size] / size
    body = ((yy - 0.45) / 0.18) ** 2 + ((xx - 0.5) / 0.3) ** 2 < 1
    legs = ((np.abs(xx - 0.32) < 0.03) | (np.abs(xx - 0.68) < 0.03)) & (yy > 0.45)
    animal = body | legs
    img[animal] = (0.55, 0.35, 0.2)
    return img.clip(0, 1), body, legs & ~body


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_an_animal_touching_the_border_with_its_legs_is_salient():
    img, body, legs = _picture()
    animal = body | legs
    b = boundary_saliency(img, n_segments=150)
    assert _iou(b.saliency > 0.5, body) > 0.7  # superpixels of ~60 px quantise the outline
    assert b.saliency[body].mean() > 0.6 and b.saliency[~animal].mean() < 0.2
    # thin legs on the border share superpixels with the ground: in between, never background
    assert b.saliency[legs].mean() > 1.5 * b.saliency[~animal].mean()
    # the ground is background by connectivity, the body is not
    assert b.background[~animal].mean() > 0.9 and b.background[body].mean() < 0.3


def test_the_crop_padding_is_neither_photo_nor_border_length():
    """A photo inside zero padding gets the saliency it gets alone; the padding gets 0."""
    img, _, _ = _picture(80)
    alone = boundary_saliency(img, n_segments=120)
    crop = np.zeros((128, 128, 3), np.float32)
    crop[24:104, 24:104] = img
    photo = np.zeros((128, 128), bool)
    photo[24:104, 24:104] = True
    padded = boundary_saliency(crop, photo, n_segments=120)
    np.testing.assert_allclose(padded.saliency[24:104, 24:104], alone.saliency, atol=1e-6)
    assert (padded.saliency[~photo] == 0).all() and (padded.labels[~photo] == -1).all()
    assert (padded.background[~photo] == 1).all()


def test_a_uniform_photo_has_no_salient_region():
    img = np.full((64, 64, 3), 0.5, np.float32)
    b = boundary_saliency(img, n_segments=60)
    assert b.saliency.max() < 0.05


def test_real_horse_photos_against_their_masks():
    """Five Weizmann horse photos (tests/fixtures/weizmann-horse): on every photo the horse is
    more salient than its surroundings, and the saliency > 0.5 region overlaps the hand-made
    mask (the prior alone; the offline backend adds the class model and GrabCut)."""
    from pathlib import Path

    from PIL import Image

    root = Path(__file__).parents[1] / "fixtures" / "weizmann-horse"
    ious = []
    for p in sorted((root / "images").glob("*.jpg")):
        img = np.asarray(Image.open(p).convert("RGB"), np.float32) / 255
        gt = np.asarray(Image.open(root / "masks" / f"{p.stem}.png")) > 127
        sal = boundary_saliency(img).saliency
        assert sal[gt].mean() > 1.2 * sal[~gt].mean(), p.name
        ious.append(_iou(sal > 0.5, gt))
    assert len(ious) == 5 and min(ious) > 0.3 and np.mean(ious) > 0.45, ious
