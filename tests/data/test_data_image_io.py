"""Every ordinary image file reads correctly; every unreadable one fails naming the file.

The table lists one case per row: a writer that puts the file on disk and the expected read
(shape, a pixel's value, the alpha)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from artic3d_core.data.image_io import NEUTRAL, ImageReadError, read_image, read_photo

RED = (200, 0, 0)


def _rgb(w=10, h=6, colour=RED) -> Image.Image:
    return Image.new("RGB", (w, h), colour)


def _exif(p: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise for display
    img = Image.new("RGB", (20, 10), (255, 0, 0))
    img.paste((0, 0, 255), (0, 0, 4, 10))  # a blue left edge → the top edge once rotated
    img.save(p, exif=exif, quality=95)


def _cmyk(p: Path) -> None:
    Image.new("CMYK", (10, 6), (0, 255, 255, 0)).save(p)  # pure red


def _palette(p: Path, transparent: bool = False) -> None:
    img = Image.new("P", (10, 6), 1)
    img.putpalette([0, 0, 0, 200, 0, 0] + [0] * 762)
    img.putpixel((0, 0), 0)
    img.save(p, **({"transparency": 0} if transparent else {}))


def _gray16(p: Path) -> None:
    Image.fromarray((np.arange(60).reshape(6, 10) * 1000).astype(np.uint16)).save(p)


def _rgb16(p: Path) -> None:
    a = np.zeros((6, 10, 3), np.uint16)
    a[..., 2] = 51400  # red in BGR order for OpenCV: 51400 / 65535 ≈ 0.784
    cv2.imwrite(str(p), a)


def _gray(p: Path) -> None:
    Image.fromarray(np.full((6, 10), 75, np.uint8), "L").save(p)


def _la(p: Path) -> None:
    a = np.zeros((6, 10, 2), np.uint8)
    a[..., 0], a[..., 1] = 255, 0
    a[:, 5:, 1] = 255
    Image.fromarray(a, "LA").save(p)


def _rgba(p: Path) -> None:
    a = np.zeros((6, 10, 4), np.uint8)
    a[..., 0] = 200
    a[:, 5:, 3] = 255  # the left half transparent, the right half opaque red
    Image.fromarray(a, "RGBA").save(p)


def _fmt(fmt: str, **kw) -> Callable[[Path], None]:
    return lambda p: _rgb().save(p, format=fmt, **kw)


def _huge(p: Path) -> None:
    _rgb(3000, 1000).save(p, quality=90)


def _jpeg_body(p: Path) -> None:
    _rgb(colour=(0, 0, 255)).save(p, format="JPEG")


# name, writer, expected (H, W), pixel (row, col), its RGB (atol 0.02), alpha at that pixel
CASES = [
    ("exif.jpg", _exif, (20, 10), (0, 5), (0, 0, 1), None),
    ("cmyk.jpg", _cmyk, (6, 10), (3, 5), (1, 0, 0), None),
    ("palette.png", _palette, (6, 10), (3, 5), (200 / 255, 0, 0), None),
    ("palette.gif", _palette, (6, 10), (0, 0), (0, 0, 0), None),
    ("palette_alpha.png", lambda p: _palette(p, True), (6, 10), (0, 0), (NEUTRAL,) * 3, 0.0),
    ("gray16.png", _gray16, (6, 10), (1, 2), (12000 / 65535,) * 3, None),
    ("rgb16.png", _rgb16, (6, 10), (2, 2), (51400 / 65535, 0, 0), None),
    ("gray.png", _gray, (6, 10), (2, 2), (75 / 255,) * 3, None),
    ("la.png", _la, (6, 10), (2, 2), (NEUTRAL,) * 3, 0.0),
    ("rgba.png", _rgba, (6, 10), (2, 2), (NEUTRAL,) * 3, 0.0),
    ("rgba_opaque_half.png", _rgba, (6, 10), (2, 7), (200 / 255, 0, 0), 1.0),
    ("lossless.webp", _fmt("WEBP", lossless=True), (6, 10), (3, 5), (200 / 255, 0, 0), None),
    ("photo.tif", _fmt("TIFF"), (6, 10), (3, 5), (200 / 255, 0, 0), None),
    ("photo.bmp", _fmt("BMP"), (6, 10), (3, 5), (200 / 255, 0, 0), None),
    ("huge.jpg", _huge, (683, 2048), (300, 1000), (200 / 255, 0, 0), None),
    ("jpeg body.png", _jpeg_body, (6, 10), (0, 0), (0, 0, 1), None),
    ("ünïcödé 馬.jpg", _fmt("JPEG", quality=95), (6, 10), (3, 5), (200 / 255, 0, 0), None),
]


@pytest.mark.parametrize(
    ("name", "write", "shape", "at", "rgb", "alpha"), CASES, ids=[c[0] for c in CASES]
)
def test_every_ordinary_file_reads(tmp_path, name, write, shape, at, rgb, alpha):
    p = tmp_path / name
    write(p)
    photo = read_photo(p)
    assert photo.rgb.shape == (*shape, 3) and photo.rgb.dtype == np.float32
    assert 0.0 <= photo.rgb.min() and photo.rgb.max() <= 1.0
    np.testing.assert_allclose(photo.rgb[at], rgb, atol=0.02)
    if alpha is None:
        assert photo.alpha is None
    else:
        assert photo.alpha is not None and photo.alpha[at] == pytest.approx(alpha)
    assert photo.scale == pytest.approx(max(shape) / max(Image.open(p).size))
    # read_image is the same read without the alpha, at full size unless asked
    if name != "huge.jpg":
        np.testing.assert_array_equal(read_image(p), photo.rgb)


def _truncated(p: Path) -> None:
    Image.new("RGB", (64, 64), (10, 20, 30)).save(p.with_suffix(".tmp"), format="JPEG", quality=95)
    data = p.with_suffix(".tmp").read_bytes()
    p.write_bytes(data[: len(data) // 2])


# name, writer, the reason in the message
BAD = [
    ("missing.png", lambda p: None, "image file not found"),
    ("text.png", lambda p: p.write_text("hello"), "not a readable image"),
    ("empty.jpg", lambda p: p.write_bytes(b""), "not a readable image"),
    ("trunc.jpg", _truncated, "truncated or corrupt"),
    ("folder.jpg", lambda p: p.mkdir(), "image file not found"),
]


@pytest.mark.parametrize(("name", "write", "reason"), BAD, ids=[b[0] for b in BAD])
def test_unreadable_files_fail_naming_file_and_reason(tmp_path, name, write, reason):
    p = tmp_path / name
    write(p)
    with pytest.raises(ImageReadError, match=reason) as err:
        read_photo(p)
    assert str(err.value).startswith(f"{p}: ")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_permissions(tmp_path):
    p = tmp_path / "locked.png"
    _rgb().save(p)
    p.chmod(0)
    with pytest.raises(ImageReadError, match="no permission"):
        read_photo(p)
