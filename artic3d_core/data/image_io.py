"""Robust image reading: any common file → (H, W, 3) float32 RGB in [0, 1].

Handles EXIF orientation, grayscale, palette, RGBA/LA (alpha dropped, like OpenCV's reader in
the reference code), CMYK / YCbCr / LAB, 16-bit and 32-bit integer and float images. A JPEG
body stored under a ``.png`` name (what the LASSIE downloader writes) is read by content.
Missing, unreadable or truncated files raise :class:`ImageReadError` naming the file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from artic3d_core.data.records import DataError

__all__ = ["IMAGE_SUFFIXES", "ImageReadError", "read_image"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif")


class ImageReadError(DataError):
    """An image file that is missing, unreadable or truncated (the message names it)."""


def _to_float_rgb(img: Image.Image) -> np.ndarray:
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        arr = np.asarray(img, dtype=np.float64) / 65535.0
    elif mode == "I":
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max(initial=0) <= 65535 else float(2**32 - 1)
        arr = np.clip(arr, 0, None) / top
    elif mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        if arr.max(initial=0) > 1.0:
            arr = arr / 255.0
    else:
        if mode == "P" and "transparency" in img.info:
            img = img.convert("RGBA")
        if img.mode != "RGB":
            img = img.convert("RGB")  # L, 1, LA, RGBA (alpha dropped), CMYK, YCbCr, LAB
        arr = np.asarray(img, dtype=np.float64) / 255.0
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    return np.ascontiguousarray(np.clip(arr, 0.0, 1.0), dtype=np.float32)


def read_image(path: str | Path) -> np.ndarray:
    """Read ``path`` → (H, W, 3) float32 RGB in [0, 1], EXIF rotation applied.

    Raises ImageReadError (missing file, not an image, truncated/corrupt data, empty image).
    """
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: image file not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                im.load()  # decode now: truncated files fail here, not later
                im = ImageOps.exif_transpose(im)
                arr = _to_float_rgb(im)
    except UnidentifiedImageError:
        raise ImageReadError(f"{path}: not a readable image (unknown or corrupt format)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"{path}: truncated or corrupt image ({exc})") from None
    except Image.DecompressionBombError as exc:
        raise ImageReadError(f"{path}: image too large ({exc})") from None
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageReadError(f"{path}: empty image ({arr.shape[1]}x{arr.shape[0]})")
    return arr
