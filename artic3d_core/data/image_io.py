"""Robust image reading: any common file → (H, W, 3) float32 RGB in [0, 1].

Handles EXIF orientation, grayscale, palette, CMYK / YCbCr / LAB, 16-bit and 32-bit integer and
float images (scaled to [0, 1] by their bit depth, not truncated). Transparency (RGBA, LA,
palette with a transparent index) is composited on a neutral grey (:data:`NEUTRAL`), and the
alpha is returned by :func:`read_photo` as a foreground hint. Images whose longer side exceeds
``max_side`` are downscaled before anything else reads them (JPEG decodes at a reduced size
directly). A JPEG body stored under a ``.png`` name (what the LASSIE downloader writes) is read
by content. Missing, unreadable or truncated files raise :class:`ImageReadError` naming the
file and the reason.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from artic3d_core.data.records import DataError

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_SIDE",
    "NEUTRAL",
    "ImageReadError",
    "Photo",
    "read_image",
    "read_photo",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif")
MAX_SIDE = 2048  # longer side of a read image; a phone photo (4000 px) is downscaled on reading
NEUTRAL = 0.5  # the grey transparent pixels are composited on
# decoding limit: a file that claims more pixels than this is refused before it is decoded
_MAX_PIXELS = 400_000_000


class ImageReadError(DataError):
    """An image file that is missing, unreadable or truncated (the message names it)."""


@dataclass
class Photo:
    """A read image: ``rgb`` (H, W, 3) float32 [0, 1]; ``alpha`` (H, W) float32 [0, 1] or None
    (opaque file); ``scale`` = read size / stored size (< 1 when downscaled, 1 otherwise)."""

    rgb: np.ndarray
    alpha: np.ndarray | None
    scale: float


def _to_float(img: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """PIL image → ((H, W, 3) float64 RGB in [0, 1] before compositing, (H, W) alpha or None)."""
    mode = img.mode
    alpha = None
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
        elif mode == "P":
            img = img.convert("RGB")
        if img.mode in ("RGBA", "LA", "RGBa", "La", "PA"):
            rgba = np.asarray(img.convert("RGBA"), dtype=np.float64) / 255.0
            arr, alpha = rgba[..., :3], rgba[..., 3]
        else:
            if img.mode != "RGB":
                img = img.convert("RGB")  # L, 1, CMYK, YCbCr, LAB
            arr = np.asarray(img, dtype=np.float64) / 255.0
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    return np.clip(arr, 0.0, 1.0), alpha


def _open_reduced(im: Image.Image, max_side: int) -> Image.Image:
    """Decode ``im``, at most ``max_side`` on the longer side (JPEG: decoded at a reduced size)."""
    if max(im.size) > max_side and im.format == "JPEG":
        im.draft(im.mode, (max_side, max_side))  # DCT scaling: a quarter-size decode is cheap
    im.load()  # decode now: truncated files fail here, not later
    im = ImageOps.exif_transpose(im)
    if max(im.size) > max_side:
        f = max_side / max(im.size)
        size = (max(1, round(im.size[0] * f)), max(1, round(im.size[1] * f)))
        if im.mode not in ("RGB", "RGBA", "L", "LA", "I", "F"):
            im = im.convert("RGBA" if "A" in im.mode or "transparency" in im.info else "RGB")
        im = im.resize(
            size, Image.Resampling.BOX if im.mode in ("I", "F") else Image.Resampling.LANCZOS
        )
    return im


def read_photo(path: str | Path, max_side: int | None = MAX_SIDE) -> Photo:
    """Read ``path`` → :class:`Photo` (EXIF rotation applied, downscaled to ``max_side``
    (None: never; for loaders whose annotations are in pixels of the stored file), transparency composited on :data:`NEUTRAL` grey with the alpha kept).

    Raises ImageReadError (missing file, not an image, truncated/corrupt data, empty image,
    more than 400 megapixels)."""
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: image file not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                stored = im.size
                w, h = stored
                if w * h > _MAX_PIXELS:
                    raise ImageReadError(f"{path}: image too large ({w}x{h} px)")
                im = _open_reduced(im, max_side or max(stored))
                arr, alpha = _to_float(im)
    except ImageReadError:
        raise
    except UnidentifiedImageError:
        raise ImageReadError(f"{path}: not a readable image (unknown or corrupt format)") from None
    except Image.DecompressionBombError as exc:
        raise ImageReadError(f"{path}: image too large ({exc})") from None
    except PermissionError:
        raise ImageReadError(f"{path}: no permission to read the file") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageReadError(f"{path}: truncated or corrupt image ({exc})") from None
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageReadError(f"{path}: empty image ({arr.shape[1]}x{arr.shape[0]})")
    if alpha is not None:
        arr = arr * alpha[..., None] + NEUTRAL * (1.0 - alpha[..., None])
        alpha = None if alpha.min() >= 1.0 else alpha.astype(np.float32)
    rgb = np.ascontiguousarray(arr, dtype=np.float32)
    return Photo(rgb, alpha, float(max(rgb.shape[:2]) / max(stored)))


def read_image(path: str | Path, max_side: int | None = None) -> np.ndarray:
    """Read ``path`` → (H, W, 3) float32 RGB in [0, 1] (:func:`read_photo` without the alpha;
    full size unless ``max_side`` is given)."""
    return read_photo(path, max_side).rgb
