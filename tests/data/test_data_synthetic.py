"""Synthetic benchmark: raster geometry, LASSIE round trip, ground truth, determinism, CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from artic3d_core.data.loaders import load_class
from artic3d_core.data.synthetic import generate, load_ground_truth
from artic3d_core.data.synthetic.generator import _ClassModel, render_instance
from artic3d_core.data.synthetic.raster import Ellipsoids, ray_occluded, raycast
from artic3d_core.data.synthetic.templates import TEMPLATES
from artic3d_core.skeleton.skeleton import Skeleton, euler_to_matrix


def test_raycast_sphere_analytic():
    r = 0.5
    ell = Ellipsoids(np.zeros((1, 3)), np.eye(3)[None], np.full((1, 3), r))
    hits = raycast(ell, 200, 200)
    area = (hits.part == 0).sum()
    assert abs(area - np.pi * (r * 100) ** 2) / (np.pi * (r * 100) ** 2) < 0.01
    np.testing.assert_allclose(hits.depth[100, 100], r, atol=1e-3)  # front pole, z = +r
    np.testing.assert_allclose(hits.normal[100, 100], [0, 0, 1], atol=0.02)
    on = hits.part == 0
    np.testing.assert_allclose(np.linalg.norm(hits.local[on], axis=-1), 1.0, atol=1e-9)
    assert ray_occluded(np.array([0.0, 0, -1]), ell, set())
    assert not ray_occluded(np.array([0.0, 0, 1]), ell, set())
    assert not ray_occluded(np.array([0.0, 0, 0]), ell, set())  # inside → ignored
    assert not ray_occluded(np.array([0.8, 0, -1]), ell, set())


def test_templates_are_valid_skeletons():
    for name, t in TEMPLATES.items():
        sk = t.skeleton()
        sym = sk.bones_sym()
        assert sk.nb == len(t.slots) == len(t.limits), name
        assert all(sym[sym[b]] == b for b in range(sk.nb)), name
        assert sum(k in t.keypoints for k in ("lfuleg", "rbuleg", "leye", "muzzle", "tail")) == 5


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    generate(out, ["zebra"], seed=3, preset="demo", n_clean=3, n_occluded=2, image_size=128)
    return out


def test_lassie_round_trip_within_half_pixel(small_set):
    gts = {g.image_id: g for g in load_ground_truth(small_set, "zebra")}
    assert len(gts) == 5
    for dataset, sets in (("lassie", ("clean", "occluded")), ("e-lassie", ("clean",))):
        recs = load_class(dataset, small_set, "zebra", sets=sets)
        assert [r.set for r in recs] == ["clean"] * 3 + ["occluded"] * 2
        for r in recs:
            g = gts[r.image_id]
            assert r.set == g.set and r.image.shape == (128, 128, 3)
            np.testing.assert_array_equal(r.keypoints[:, 2], g.keypoints_2d[:, 2])
            vis = g.keypoints_2d[:, 2] > 0
            err = np.abs(r.keypoints[vis, :2] - g.keypoints_2d[vis, :2]).max()
            assert err < 0.5
    # the synthetic dataset attaches ground-truth masks
    recs = load_class("synthetic", small_set, "zebra", sets=("clean", "occluded"))
    for r in recs:
        assert r.mask is not None and r.part_mask is not None and r.mask.any()
        assert set(np.unique(r.part_mask)) <= {0, 1, 2, 3, 4, *range(9, 17)}
        vis = r.keypoints[:, 2] > 0
        # a visible keypoint lies on (or within 1 px of) the visible animal
        for x, y in r.keypoints[vis, :2]:
            j, i = int(y), int(x)
            assert r.mask[max(0, j - 1) : j + 2, max(0, i - 1) : i + 2].any()


def test_ground_truth_matches_the_model_parametrisation(small_set):
    g = load_ground_truth(small_set, "zebra")[0]
    sk = Skeleton(joints=g.rest_joints, parents=g.skeleton.parents)
    P, _ = sk.forward_kinematics(torch.tensor(g.bone_euler, dtype=torch.float32)[None])
    R = euler_to_matrix(torch.tensor(g.global_rot), "ZXY").numpy()
    cam = g.global_scale * P[0].double().numpy() @ R.T
    cam[:, :2] += g.global_trans
    np.testing.assert_allclose(cam, g.joints_3d, atol=1e-4)
    uv = np.stack(((1 + cam[:, 0]) * 64, (1 - cam[:, 1]) * 64), -1)
    np.testing.assert_allclose(uv, g.joints_2d, atol=1e-3)
    assert g.mask.shape == (128, 128) and (g.mask <= g.amodal).all()
    assert abs(g.global_rot[2]) > np.radians(50)  # around a side view


def test_same_seed_identical_files(small_set, tmp_path):
    generate(tmp_path, ["zebra"], seed=3, preset="demo", n_clean=3, n_occluded=2, image_size=128)
    a = json.loads((small_set / "manifest.json").read_text())
    b = json.loads((tmp_path / "manifest.json").read_text())
    assert a == b and len(a["files"]) == 5 * 5 + 5
    assert (small_set / "manifest.json").read_bytes() == (tmp_path / "manifest.json").read_bytes()
    generate(
        tmp_path / "s4", ["zebra"], seed=4, preset="demo", n_clean=1, n_occluded=0, image_size=128
    )
    c = json.loads((tmp_path / "s4" / "manifest.json").read_text())
    assert c["files"]["images/zebra/input_0.png"] != a["files"]["images/zebra/input_0.png"]


def test_occluded_variant_hides_more_keypoints():
    cm = _ClassModel(TEMPLATES["kangaroo"])
    vis = {}
    for occ in (False, True):
        rng = np.random.default_rng(11)
        v = [render_instance(cm, rng, 64, occ, 1).keypoints_2d[:, 2].mean() for _ in range(8)]
        vis[occ] = float(np.mean(v))
    assert vis[True] < vis[False] - 0.1


def test_cli_synth_and_fetch(tmp_path):
    from typer.testing import CliRunner

    from artic3d_cli.main import app

    runner = CliRunner()
    out = tmp_path / "s"
    res = runner.invoke(
        app,
        [
            "synth",
            "--out",
            str(out),
            "--classes",
            "penguin",
            "--seed",
            "1",
            "--set",
            "synth.n_clean=2",
            "--set",
            "synth.n_occluded=1",
            "--set",
            "synth.image_size=64",
        ],
    )
    assert res.exit_code == 0, res.output
    man = json.loads((out / "manifest.json").read_text())
    assert man["classes"]["penguin"]["clean"] == 2 and man["seed"] == 1
    assert (out / "contact" / "penguin.png").is_file()
    res = runner.invoke(app, ["synth", "--out", str(out), "--classes", "dragon"])
    assert res.exit_code == 2 and "dragon" in res.output
    # fetch: the synthetic URLs cannot be downloaded here → a clean failure naming the file
    (out / "images" / "penguin" / "input_1.png").unlink()
    res = runner.invoke(
        app, ["data", "fetch", "lassie", "--root", str(out), "--classes", "penguin"]
    )
    assert res.exit_code == 1
    assert "input_1.png" in res.output and "1 missing" in res.output


@pytest.mark.slow
def test_full_benchmark_time_and_determinism(tmp_path):
    t0 = time.perf_counter()
    m1 = generate(tmp_path / "a", seed=0, preset="full")
    elapsed = time.perf_counter() - t0
    assert elapsed < 300
    man = json.loads(m1.read_text())
    assert man["counts"] == {"classes": 6, "images": 270}
    for cls in man["classes"]:
        assert len(load_class("e-lassie", tmp_path / "a", cls)) == 45
    m2 = generate(tmp_path / "b", seed=0, preset="full")
    assert m1.read_bytes() == m2.read_bytes()


def test_full_and_demo_presets_keep_their_bytes(tmp_path):
    """Golden manifests (sha256 of every file) of the side-view presets: the wide preset's code
    paths leave them untouched."""
    import hashlib

    full = generate(tmp_path / "f", ["zebra", "penguin"], 0, "full", 3, 2, 96)
    demo = generate(tmp_path / "d", None, 5, "demo", 2, 1, 64)
    assert hashlib.sha256(full.read_bytes()).hexdigest().startswith("3a7160c06abfdd4e")
    assert hashlib.sha256(demo.read_bytes()).hexdigest().startswith("1478eadf176bc3d1")


@pytest.fixture(scope="module")
def wide_set(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wide")
    generate(out, ["badger", "flamingo"], 2, "wide", 3, 1, 96, split="dev")
    return out


def test_wide_preset_is_deterministic_and_reads_as_lassie(wide_set, tmp_path):
    again = generate(tmp_path, ["badger", "flamingo"], 2, "wide", 3, 1, 96, split="dev")
    assert again.read_bytes() == (wide_set / "manifest.json").read_bytes()
    man = json.loads(again.read_text())
    assert man["preset"] == "wide" and man["split"] == "dev"
    for cls in ("badger", "flamingo"):
        gts = {g.image_id: g for g in load_ground_truth(wide_set, cls)}
        recs = load_class("lassie", wide_set, cls, sets=("clean", "occluded"))
        assert [r.set for r in recs] == ["clean"] * 3 + ["occluded"]
        for r in recs:
            g = gts[r.image_id]
            np.testing.assert_array_equal(r.keypoints[:, 2], g.keypoints_2d[:, 2])
            vis = g.keypoints_2d[:, 2] > 0
            assert np.abs(r.keypoints[vis, :2] - g.keypoints_2d[vis, :2]).max() < 0.5
            assert (g.mask <= g.amodal).all() and g.amodal.any()
        assert (wide_set / "contact" / f"{cls}.png").is_file()


def test_splits_draw_disjoint_images(wide_set, tmp_path):
    from artic3d_core.data.synthetic.ground_truth import benchmark_identity

    test = generate(tmp_path, ["badger", "flamingo"], 2, "wide", 3, 1, 96, split="test")
    a = json.loads((wide_set / "manifest.json").read_text())["files"]
    b = json.loads(test.read_text())["files"]
    imgs = [k for k in a if k.startswith("images/")]
    assert len(imgs) == 8 and not {a[k] for k in imgs} & {b[k] for k in imgs}
    assert benchmark_identity(tmp_path) == ("test", "wide")
    with pytest.raises(ValueError, match="split"):
        generate(tmp_path / "x", ["badger"], 2, "wide", 1, 0, 64, split="validation")


def test_wide_cameras_cover_the_circle_and_view_names():
    from artic3d_core.data.synthetic.generator import view_name
    from artic3d_core.data.synthetic.scene import sample_wide_camera

    rng = np.random.default_rng(0)
    cams = np.degrees(np.array([sample_wide_camera(rng) for _ in range(2000)]))
    assert cams[:, 2].min() < -170 and cams[:, 2].max() > 170  # azimuth: the whole circle
    assert -10 <= cams[:, 1].min() < -9 and 44 < cams[:, 1].max() <= 45  # elevation
    names = [view_name(np.radians(c).tolist()) for c in cams]
    assert {"front", "back", "left", "right", "above"} == set(names)
    rad = np.radians
    assert view_name([0, rad(10), rad(5)]) == "front"
    assert view_name([0, rad(10), rad(178)]) == "back"
    assert view_name([0, rad(10), rad(90)]) == "left"
    assert view_name([0, rad(10), rad(-100)]) == "right"
    assert view_name([0, rad(40), rad(0)]) == "above"


def test_wide_front_view_shows_the_face_and_back_view_the_tail():
    """Azimuth 0 looks at the head (eyes visible, tail hidden), 180° at the rump."""
    from artic3d_core.data.records import KEYPOINT_NAMES

    cm = _ClassModel(TEMPLATES["badger"])
    vis = {}
    for az in (0.0, 180.0):
        from artic3d_core.data.synthetic import generator as gen

        orig = gen.sample_wide_camera
        gen.sample_wide_camera = lambda rng, a=az: np.radians([0.0, 10.0, a])
        try:
            r = render_instance(cm, np.random.default_rng(1), 96, False, 1, "wide")
        finally:
            gen.sample_wide_camera = orig
        vis[az] = dict(zip(KEYPOINT_NAMES, r.keypoints_2d[:, 2] > 0, strict=True))
    assert vis[0.0]["leye"] and vis[0.0]["reye"] and not vis[180.0]["leye"]
    assert vis[180.0]["tail"] and not vis[0.0]["tail"]


def test_ground_plane_and_cast_shadow_analytic():
    from artic3d_core.data.synthetic.scene import _shadowed, ground_height

    ell = Ellipsoids(np.array([[0.0, 0.5, 0.0]]), np.eye(3)[None], np.array([[0.2, 0.3, 0.2]]))
    assert ground_height(ell, np.array([0.0, 1.0, 0.0])) == pytest.approx(0.2)
    up = np.array([0.0, 1.0, 0.0])
    pts = np.array([[0.0, 0.1, 0.0], [0.19, 0.1, 0.0], [0.25, 0.1, 0.0], [0.0, 0.9, 0.0]])
    np.testing.assert_array_equal(_shadowed(pts, up, ell), [True, True, False, False])
    slanted = np.array([1.0, 1.0, 0.0]) / np.sqrt(2)  # sun at 45°: the shadow moves to −x
    shifted = np.array([[-0.3, 0.1, 0.0], [0.3, 0.1, 0.0]])
    np.testing.assert_array_equal(_shadowed(shifted, slanted, ell), [True, False])


def test_lattice_noise_interpolates_its_lattice():
    from artic3d_core.data.synthetic.texture import lattice_noise

    grid = np.random.default_rng(4).random((8, 8))
    uv = np.array([[0.0, 0.0], [3.0, 5.0], [9.0, 1.0], [0.5, 0.0]])
    got = lattice_noise(np.random.default_rng(4), uv, size=8)
    np.testing.assert_allclose(got[:3], [grid[0, 0], grid[3, 5], grid[1, 1]])
    assert got[3] == pytest.approx((grid[0, 0] + grid[1, 0]) / 2)


def test_cli_synth_wide_split(tmp_path):
    from typer.testing import CliRunner

    from artic3d_cli.main import app

    out = tmp_path / "w"
    args = ["synth", "--out", str(out), "--classes", "flamingo", "--preset", "wide"]
    args += ["--split", "dev", "--set", "synth.n_clean=1", "--set", "synth.n_occluded=0"]
    res = CliRunner().invoke(app, [*args, "--set", "synth.image_size=64"])
    assert res.exit_code == 0, res.output
    man = json.loads((out / "manifest.json").read_text())
    assert (man["preset"], man["split"], man["counts"]["images"]) == ("wide", "dev", 1)
    res = CliRunner().invoke(app, [*args[:-4], "--split", "holdout"])
    assert res.exit_code == 2 and "holdout" in res.output
