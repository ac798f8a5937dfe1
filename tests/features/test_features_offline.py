"""Offline (weight-free) and oracle backends on a toy class with ground truth; pictures."""

import numpy as np
import pytest
import torch

from artic3d_core.features.config import FeaturesConfig
from artic3d_core.features.extract import GroundTruthMasks, extract_features, rough_foreground
from artic3d_core.features.picture import save_cluster_overlays


@pytest.fixture(scope="module")
def toy(make_toy_class):
    imgs, parts = make_toy_class(6, 128, "striped", seed=0)
    return torch.from_numpy(imgs).permute(0, 3, 1, 2), parts


def _iou(a, b):
    return [(x & y).sum() / (x | y).sum() for x, y in zip(a, b, strict=False)]


def test_offline_foreground_on_toy_class(toy, tmp_path):
    x, parts = toy
    cfg = FeaturesConfig(mask_size=128)
    cfg.offline.work_size = 128
    r = extract_features(x, "offline", cfg)
    iou = _iou(r.masks.numpy() > 0, parts > 0)
    assert np.mean(iou) > 0.9, iou
    assert r.backend == "offline" and r.weights is None
    assert r.feat_img.shape == (6, 20, 64, 64) and r.feat_part.shape == (8, 20)
    assert r.part_cent[..., 2].sum() > 0
    paths = save_cluster_overlays(x[:2], r.masks[:2], tmp_path)
    assert [p.name for p in paths] == ["mask_0.png", "mask_1.png"] and paths[0].stat().st_size > 0
    fg = rough_foreground(x, "offline", cfg)
    assert np.mean(_iou(fg.numpy(), parts > 0)) > 0.9
    # deterministic within one process (GrabCut's OpenCV RNG is re-seeded every call)
    r2 = extract_features(x, "offline", cfg)
    assert torch.equal(r.masks, r2.masks) and torch.equal(r.feat_img, r2.feat_img)


def test_oracle_backend_reproduces_ground_truth(toy):
    x, parts = toy
    cfg = FeaturesConfig(mask_size=128)
    gt = GroundTruthMasks(masks=parts > 0, part_masks=parts)
    r = extract_features(x, "oracle", cfg, gt=gt)
    assert r.backend == "oracle"
    assert np.array_equal(r.masks.numpy() > 0, parts > 0)
    assert len(np.unique(r.masks.numpy())) == 5  # background + 4 toy parts


def test_content_mask_finds_crop_padding():
    from artic3d_core.features.offline import content_mask

    rgb = np.zeros((40, 50, 3), np.float32)
    rgb[5:30, 12:50] = 0.02  # a dark photo (darker than a penguin's black is not needed)
    rgb[10, 20] = 0.0  # a black pixel inside the photo stays photo
    m = content_mask(rgb)
    assert m[5:30, 12:50].all() and m.sum() == 25 * 38


def test_reflect_fill_mirrors_the_photo_into_the_padding():
    import cv2

    from artic3d_core.features.offline import reflect_fill

    rng = np.random.default_rng(0)
    img = np.zeros((64, 64, 3), np.float32)
    img[10:50, 5:30] = rng.random((40, 25, 3)) * 0.9 + 0.05
    want = cv2.copyMakeBorder(
        np.ascontiguousarray(img[10:50, 5:30]), 10, 14, 5, 34, cv2.BORDER_REFLECT_101
    )  # the right padding (34) is wider than the photo (25): reflected more than once
    assert np.array_equal(reflect_fill(img), want)
    full = rng.random((16, 16, 3)).astype(np.float32) + 0.1
    assert reflect_fill(full) is full  # no padding: unchanged
    line = np.zeros((8, 8, 3), np.float32)
    line[:, 3] = 0.5  # a one-pixel-wide photo
    assert np.allclose(reflect_fill(line), 0.5)


def test_padding_does_not_reach_the_descriptors_near_the_photo_edge():
    """A flat grey photo in a padded crop: with the padding mirrored, the pixels next to the
    photo's edge have the interior's descriptors (no gradient, no local contrast); with the
    zero padding inside the filters they look like a strong edge."""
    from artic3d_core.features.offline import reflect_fill, segmentation_descriptors

    img = np.zeros((96, 96, 3), np.float32)
    img[:, 20:] = 0.5
    inside = (slice(40, 56), slice(22, 26))  # 2-5 px from the photo's left edge
    filled = segmentation_descriptors(reflect_fill(img))
    zero = segmentation_descriptors(img)
    centre = filled[48, 60]
    assert np.abs(filled[inside] - centre).max() < 1e-3
    assert np.abs(zero[inside][..., 6:8] - zero[48, 60, 6:8]).max() > 10  # gradient energy


def test_labels_on_mask_fills_unlabelled_foreground():
    from artic3d_core.features.offline import labels_on_mask

    lab = np.zeros((1, 4, 4), np.int64)
    lab[0, :, :2] = 1
    lab[0, :, 2:3] = 2
    fg = np.zeros((1, 8, 8), bool)
    fg[0, 1:7, 0:8] = True  # wider than the labels: the last columns take the nearest label
    out = labels_on_mask(lab, fg)
    assert (out[0][~fg[0]] == 0).all()
    assert (out[0, 1:7, :4] == 1).all() and (out[0, 1:7, 4:] == 2).all()


def test_offline_ignores_clutter_that_recurs_in_the_ring(make_toy_class):
    """Crop-like toy: the animal centred at half the crop side, big recurring clutter blobs
    of one colour in every image (also inside the central box) must stay background."""
    import cv2

    imgs, parts = make_toy_class(6, 128, "spotted", seed=3)
    rng = np.random.default_rng(0)
    x = np.zeros((6, 256, 256, 3), np.float32)
    gt = np.zeros((6, 256, 256), bool)
    for i in range(6):
        bg = np.full((256, 256, 3), (0.3, 0.55, 0.25), np.float32)
        bg += rng.normal(0, 0.02, bg.shape).astype(np.float32)
        for _ in range(12):  # canopy-like blobs everywhere, in the same style across images
            c = (int(rng.integers(0, 256)), int(rng.integers(0, 256)))
            cv2.circle(bg, c, int(rng.integers(12, 30)), (0.1, 0.35, 0.12), -1)
        fg = cv2.resize(parts[i], (128, 128), interpolation=cv2.INTER_NEAREST) > 0
        tile = bg[64:192, 64:192]
        bg[64:192, 64:192] = np.where(fg[..., None], imgs[i], tile)
        x[i] = np.clip(bg, 0, 1)
        gt[i, 64:192, 64:192] = fg
    cfg = FeaturesConfig(mask_size=256)
    r = extract_features(torch.from_numpy(x).permute(0, 3, 1, 2), "offline", cfg)
    iou = _iou(r.masks.numpy() > 0, gt)
    assert np.mean(iou) > 0.85, iou


def test_self_training_keeps_the_previous_mask_when_the_new_one_collapses():
    from artic3d_core.features.offline import _unless_collapsed

    old = np.zeros((32, 32), bool)
    old[8:24, 8:24] = True  # 256 px
    shrunk = np.zeros_like(old)
    shrunk[8:12, 8:20] = True  # 48 px < 25 %
    trimmed = old.copy()
    trimmed[8:12] = False  # 192 px: a legitimate correction
    assert _unless_collapsed(np.zeros_like(old), old) is old
    assert _unless_collapsed(shrunk, old) is old
    assert _unless_collapsed(trimmed, old) is trimmed


def test_main_object_fills_small_holes_and_keeps_the_ground_between_legs():
    from artic3d_core.features.offline import _main_object

    # a body with two legs that cross at the bottom: the enclosed ground is a large hole;
    # a 2×2 speck inside the body is a segmentation error
    fg = np.zeros((64, 64), bool)
    fg[10:24, 8:56] = True  # body, 672 px
    for y in range(24, 56):  # legs from the body's ends converging to x = 32
        t = (y - 24) / 31
        for x0 in (round(10 + 20 * t), round(52 - 20 * t)):
            fg[y, x0 - 2 : x0 + 3] = True
    fg[15:17, 20:22] = False  # the speck
    clutter = np.zeros_like(fg)
    clutter[58:62, 2:6] = True  # a separate blob outside the box
    box = np.zeros_like(fg)
    box[8:40, 8:56] = True
    out = _main_object(fg | clutter, box, hole_fraction=0.02)
    assert out[15:17, 20:22].all()  # the speck is filled
    assert not out[40, 32]  # the ground between the legs is not
    assert not out[58:62, 2:6].any()  # only the component in the box
    assert _main_object(fg, box, hole_fraction=1.0)[40, 32]  # hole_fraction 1 fills every hole


def test_ensemble_is_the_per_pixel_majority_of_single_seed_runs(toy):
    from artic3d_core.features.offline import offline_foreground

    x, parts = toy
    cfg = FeaturesConfig(mask_size=128).offline
    cfg.work_size = 128
    cfg.pu_samples = 2000  # few training pixels: the seeds really disagree
    single = [offline_foreground(x, cfg, seed) for seed in (5, 6, 7)]
    assert any((a.fg_full != single[0].fg_full).any() for a in single[1:])
    cfg.ensemble = 3
    ens = offline_foreground(x, cfg, 5)
    votes = np.sum([r.fg_full for r in single], 0)
    assert np.array_equal(ens.fg_full, votes >= 2)
    assert np.allclose(ens.fg_prob, np.mean([r.fg_prob for r in single], 0))
    assert ens.fg.shape == single[0].fg.shape and np.array_equal(ens.desc, single[0].desc)
    assert np.mean(_iou(ens.fg_full, parts > 0)) > 0.9
    cfg.ensemble = 1
    assert np.array_equal(offline_foreground(x, cfg, 5).fg_full, single[0].fg_full)


def test_segmentation_runs_at_its_own_size_and_returns_work_size_features(toy):
    from artic3d_core.features.offline import offline_foreground

    x, parts = toy  # 128² crops
    cfg = FeaturesConfig(mask_size=128).offline
    cfg.work_size, cfg.segment_size = 64, 96
    o = offline_foreground(x, cfg, 0)
    assert o.desc.shape == (6, 9, 64, 64) and o.fg.shape == o.fg_prob.shape == (6, 64, 64)
    assert o.fg_full.shape == (6, 128, 128) and o.fg_prob.dtype == np.float32
    assert np.mean(_iou(o.fg_full, parts > 0)) > 0.85
    # the work-size mask is the refined mask resized, whatever the segmentation grid
    small = np.stack([m.reshape(64, 2, 64, 2).mean((1, 3)) > 0.5 for m in o.fg_full])
    assert (o.fg != small).mean() < 0.01
    # a segmentation grid finer than the crops is capped at the crops' size
    cfg.segment_size = 128
    a = offline_foreground(x, cfg, 0)
    cfg.segment_size = 384
    assert np.array_equal(offline_foreground(x, cfg, 0).fg_full, a.fg_full)


def test_keep_thin_parts_restores_an_attached_tail_but_not_a_leak_or_a_stray_strip():
    from artic3d_core.features.offline import keep_thin_parts

    body = np.zeros((100, 100), bool)
    body[40:60, 20:60] = True  # the voted body
    union = body.copy()
    union[48:51, 60:80] = True  # a 3 px tail attached to the body, found by one run
    union[20:40, 30:50] = True  # a 20 px leak into the background, found by one run
    union[85:88, 10:40] = True  # a thin strip that does not touch the body
    out = keep_thin_parts(body, union, 0.1)  # opening diameter 11 px
    assert out[48:51, 60:80].all()  # the tail is back
    assert not out[20:39, 30:50].any()  # the leak is not (its rim may be thin: 1 row allowed)
    assert not out[85:88, 10:40].any()
    assert (out & ~union).sum() == 0 and (body & ~out).sum() == 0
    assert np.array_equal(keep_thin_parts(body, body, 0.1), body)


def test_grabcut_image_is_bgr_at_gain_zero_and_scaled_lab_otherwise():
    import cv2

    from artic3d_core.features.offline import grabcut_image

    rng = np.random.default_rng(0)
    rgb = rng.uniform(0, 1, (8, 8, 3)).astype(np.float32)
    bgr = grabcut_image(rgb, 0.0)
    assert bgr.dtype == np.uint8
    np.testing.assert_array_equal(bgr, (rgb * 255).round().astype(np.uint8)[..., ::-1])
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    for g in (1.0, 3.0):
        out = grabcut_image(rgb, g).astype(np.float32)
        want = np.stack([2.55 * lab[..., 0], 128 + g * lab[..., 1], 128 + g * lab[..., 2]], -1)
        np.testing.assert_allclose(out, want.clip(0, 255), atol=0.51)
    # a grey and a tinted grey of one lightness: the gain multiplies their chroma distance
    grey = np.full((1, 2, 3), 0.5, np.float32)
    grey[0, 1] = cv2.cvtColor(
        np.array(
            [[[cv2.cvtColor(grey[:, :1], cv2.COLOR_RGB2LAB)[0, 0, 0], 6.0, -4.0]]], np.float32
        ),
        cv2.COLOR_LAB2RGB,
    )[0, 0]
    d1, d3 = (np.abs(np.diff(grabcut_image(grey, g).astype(float), axis=1)).sum() for g in (1, 3))
    assert d3 == pytest.approx(3 * d1, rel=0.15)


def test_relative_chroma_subtracts_each_images_own_mask_median():
    from artic3d_core.features.offline import relative_chroma

    ab = np.zeros((2, 4, 4, 2), np.float32)
    ab[0] += [5.0, -3.0]  # image 0's tint
    ab[0, 0, 0] = [20.0, 20.0]  # a background pixel of another tint
    ab[1] += [-2.0, 7.0]
    fg = np.zeros((2, 4, 4), bool)
    fg[0, 1:, 1:] = True
    fallback = np.zeros((4, 4), bool)
    fallback[:2, :2] = True  # image 1 has an empty mask: its median comes from here
    rel = relative_chroma(ab, fg, fallback)
    np.testing.assert_allclose(rel[0, 1:, 1:], 0)
    np.testing.assert_allclose(rel[0, 0, 0], [15.0, 23.0])
    np.testing.assert_allclose(rel[1], 0)


def test_crop_scales_equal_to_the_configured_one_change_nothing(toy):
    from artic3d_core.data.crop import CropInfo
    from artic3d_core.features.offline import offline_foreground

    x, _ = toy
    cfg = FeaturesConfig(mask_size=128)
    cfg.offline.work_size = 128
    cfg.offline.self_train_rounds = 1
    a = offline_foreground(x, cfg.offline, 0)
    b = offline_foreground(x, cfg.offline, 0, crops=[CropInfo(cfg.offline.crop_scale)] * 6)
    assert np.array_equal(a.fg_full, b.fg_full) and np.array_equal(a.fg_prob, b.fg_prob)
    with pytest.raises(ValueError, match="5 crop records for 6 images"):
        offline_foreground(x, cfg.offline, 0, crops=[CropInfo(2.0)] * 5)


def test_whole_photo_crop_geometry():
    """A crop at scale 1 is the whole photo padded to a square: the box prior covers most of
    it and the background ring is the photo's own border band as well as the crop's."""
    from artic3d_core.features.config import OfflineConfig
    from artic3d_core.features.offline import crop_geometry

    cfg = OfflineConfig()  # crop_scale 2, box_margin 0.2, border 0.08
    rgb = np.zeros((100, 100, 3), np.float32)
    rgb[20:80] = 0.5  # a landscape photo 100 × 60 padded above and below
    box, ring = crop_geometry(rgb, cfg, 1.0)
    assert box[5:95, 5:95].all() and not box[:5].any()  # half-width min(0.6, 0.45)
    assert ring[20:28, 40].all() and ring[72:80, 40].all()  # the photo's top and bottom bands
    assert not ring[28:72, 8:92].any()
    box2, ring2 = crop_geometry(rgb, cfg, 2.0)  # a crop-protocol crop: the configured geometry
    assert box2[20:80, 20:80].all() and not box2[19, 50] and not box2[50, 80]
    assert not ring2[20:28, 40].any() and ring2[50, :8].all()


def test_salient_object_replaces_an_estimate_that_misses_it():
    """The class model's estimate covers < saliency_fallback of the image's salient object: the
    object and the saliency replace it; an estimate that finds the object is kept."""
    from artic3d_core.features.config import OfflineConfig
    from artic3d_core.features.offline import _salient_unless_found

    cfg = OfflineConfig(saliency="on", saliency_fallback=0.25)
    box = np.ones((40, 40), bool)
    sal = np.zeros((40, 40), np.float32)
    sal[10:30, 10:30] = 0.8  # the salient object, 400 px
    prob = np.full((40, 40), 0.3, np.float32)
    missed = np.zeros((40, 40), bool)
    missed[0:5, 0:5] = True  # a corner patch: covers none of it
    est, p = _salient_unless_found(missed, prob, sal, box, cfg)
    assert (est == (sal > 0.5)).all() and np.array_equal(p, sal)
    found = np.zeros((40, 40), bool)
    found[10:30, 10:16] = True  # 120 px of the object = 0.3 ≥ 0.25
    est, p = _salient_unless_found(found, prob, sal, box, cfg)
    assert est is found and p is prob
    est, p = _salient_unless_found(missed, prob, np.zeros_like(sal), box, cfg)  # nothing salient
    assert est is missed and p is prob


def test_saliency_finds_an_instance_unlike_its_class(make_toy_class):
    """Five brown animals and a white one: the class model learns 'brown'; the white animal's
    own boundary connectivity still says where it is."""
    from artic3d_core.features.offline import offline_foreground

    imgs, parts = make_toy_class(6, 128, "plain", seed=0)
    rng = np.random.default_rng(5)
    white = np.clip(0.92 + rng.normal(0, 0.02, (128, 128, 3)), 0, 1).astype(np.float32)
    imgs = imgs.copy()
    imgs[5] = np.where((parts[5] > 0)[..., None], white, imgs[5])
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2)
    iou = {}
    for mode in ("off", "on"):
        cfg = FeaturesConfig(mask_size=128)
        cfg.offline.work_size = 128
        cfg.offline.saliency = mode
        cfg.offline.saliency_weight = 0.0
        r = offline_foreground(x, cfg.offline, 0)
        iou[mode] = np.array(_iou(r.fg_full, parts > 0))
    assert iou["on"][5] > 0.82 and iou["on"][5] > iou["off"][5] + 0.05, iou
    assert iou["on"].mean() > 0.88, iou


def test_saliency_auto_applies_to_image_folder_photos_only(toy):
    """With ``saliency: auto`` the annotated datasets' crops (boxes from keypoints or masks)
    keep the geometry prior alone (bit for bit); the image folder's photos take the saliency
    prior, whatever their box came from."""
    from artic3d_core.data.crop import CropInfo
    from artic3d_core.features.offline import offline_foreground, saliency_images

    def info(sources):
        return [CropInfo(box_source=s) for s in sources]

    x, _ = toy
    cfg = FeaturesConfig(mask_size=128)
    cfg.offline.work_size = 128
    cfg.offline.self_train_rounds = 1
    assert cfg.offline.saliency == "auto"
    src = ["keypoints", "user", "alpha", "saliency", "estimate", "whole"]
    assert saliency_images(cfg.offline, info(src)).tolist() == [False] + [True] * 5
    assert not saliency_images(cfg.offline, info(["mask"] * 6)).any()
    assert not saliency_images(cfg.offline, info([None] * 6)).any()  # not recorded
    off = cfg.model_copy(deep=True)
    off.offline.saliency = "off"
    a = offline_foreground(x, off.offline, 0)
    b = offline_foreground(x, cfg.offline, 0, crops=info(["keypoints", "mask"] * 3))
    assert np.array_equal(a.fg_full, b.fg_full) and np.array_equal(a.fg_prob, b.fg_prob)
    src = ["keypoints"] * 5 + ["estimate"]
    c = offline_foreground(x, cfg.offline, 0, crops=info(src))
    assert not np.array_equal(a.fg_prob[5], c.fg_prob[5])
    with pytest.raises(ValueError, match="5 crop records for 6 images"):
        offline_foreground(x, cfg.offline, 0, crops=info(src[:5]))


def test_unrecognised_instance_is_rescaled_to_its_own_split():
    """A classifier nowhere confident on an image (animal ≈ 0.3, background ≈ 0.08, no pixel
    > 0.9) is rescaled so that the animal lies above the threshold and its background below; an
    image the classifier recognises is returned as it is."""
    from artic3d_core.features.offline import _estimate, rescale_unrecognised

    rng = np.random.default_rng(0)
    animal = np.zeros((64, 64), bool)
    animal[20:44, 10:54] = True
    prob = np.where(animal, 0.3, 0.08) + rng.uniform(-0.02, 0.02, (64, 64))
    prob = prob.astype(np.float32)
    box = np.ones((64, 64), bool)
    assert not _estimate(prob, box, 0.5).any()  # below the threshold everywhere
    out = rescale_unrecognised(prob, 0.5, 0.1)
    assert out.dtype == prob.dtype and out[animal].min() > 0.5 and out[~animal].max() < 0.5
    assert np.array_equal(_estimate(out, box, 0.5), animal)
    gain = (out / prob)[out < 1]  # one gain (clipped at 1): the ranking of pixels is kept
    assert np.allclose(gain, gain[0]) and (out[out >= 1] == 1).all()
    assert rescale_unrecognised(prob, 0.5, 0.0) is prob  # off
    known = np.where(animal, 0.95, 0.08).astype(np.float32)  # confident on the animal
    assert rescale_unrecognised(known, 0.5, 0.1) is known
    lifted = np.where(animal, 0.85, 0.6).astype(np.float32)  # own split above the threshold
    assert rescale_unrecognised(lifted, 0.5, 0.1) is lifted
