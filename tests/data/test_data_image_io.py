"""Robust image reading: modes, EXIF rotation, bad files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from artic3d_core.data.image_io import ImageReadError, read_image


def _check(arr, h, w):
    assert arr.shape == (h, w, 3) and arr.dtype == np.float32
    assert 0.0 <= arr.min() and arr.max() <= 1.0


def test_modes(tmp_path):
    g = np.tile(np.arange(0, 250, 25, dtype=np.uint8), (6, 1))  # 6×10
    Image.fromarray(g, "L").save(tmp_path / "gray.png")
    a = read_image(tmp_path / "gray.png")
    _check(a, 6, 10)
    np.testing.assert_allclose(a[0, 3], [75 / 255] * 3, atol=1e-6)
    rgba = np.zeros((6, 10, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 0
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    np.testing.assert_allclose(
        read_image(tmp_path / "rgba.png")[0, 0], [200 / 255, 0, 0], atol=1e-6
    )
    g16 = (np.arange(60).reshape(6, 10) * 1000).astype(np.uint16)
    Image.fromarray(g16).save(tmp_path / "g16.png")
    a16 = read_image(tmp_path / "g16.png")
    _check(a16, 6, 10)
    np.testing.assert_allclose(a16[1, 2, 0], 12000 / 65535, atol=1e-6)
    Image.new("CMYK", (10, 6), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg")  # pure red
    c = read_image(tmp_path / "cmyk.jpg")
    _check(c, 6, 10)
    assert c[3, 5, 0] > 0.9 and c[3, 5, 1] < 0.1
    Image.new("P", (10, 6)).save(tmp_path / "pal.gif")
    _check(read_image(tmp_path / "pal.gif"), 6, 10)
    # a JPEG body stored under .png (what the LASSIE downloader writes)
    Image.new("RGB", (10, 6), (0, 0, 255)).save(tmp_path / "jpeg_body.png", format="JPEG")
    assert read_image(tmp_path / "jpeg_body.png")[0, 0, 2] > 0.9


def test_exif_rotation(tmp_path):
    img = Image.new("RGB", (20, 10), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise for display
    img.save(tmp_path / "rot.jpg", exif=exif)
    assert read_image(tmp_path / "rot.jpg").shape == (20, 10, 3)


def test_bad_files(tmp_path):
    with pytest.raises(ImageReadError, match=r"missing\.png: image file not found"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "text.png").write_text("hello")
    with pytest.raises(ImageReadError, match=r"text\.png: not a readable image"):
        read_image(tmp_path / "text.png")
    Image.new("RGB", (64, 64), (10, 20, 30)).save(tmp_path / "full.jpg", quality=95)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "trunc.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match=r"trunc\.jpg: truncated or corrupt"):
        read_image(tmp_path / "trunc.jpg")
