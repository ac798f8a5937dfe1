"""``crops.png``: a contact sheet of the crops the pipeline will work on, one thumbnail per
image, framed in the colour of its box source and captioned with the image id and the source,
so that a user sees at a glance which crops cut the animal or hold none."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from artic3d_core.data.records import ImageRecord

__all__ = ["SOURCE_COLOURS", "box_source", "crop_sheet"]

# frame colour per box source (artic3d_core.data.folder.BOX_SOURCES; annotated datasets:
# "keypoints", "mask"); the whole-image fallback is red: the crop was not placed on the animal
SOURCE_COLOURS: dict[str, tuple[int, int, int]] = {
    "user": (40, 160, 40),
    "keypoints": (40, 160, 40),
    "mask": (40, 160, 40),
    "alpha": (40, 120, 255),
    "saliency": (40, 120, 255),
    "estimate": (230, 160, 0),
    "whole": (220, 30, 30),
}


def box_source(rec: ImageRecord) -> str:
    """Where ``rec``'s crop box came from: the folder loader's ``meta['box_source']``, else
    "keypoints" (visible keypoints), "mask" (an annotated mask) or "whole" (the whole image)."""
    src = rec.meta.get("box_source")
    if src:
        return str(src)
    if (rec.keypoints[:, 2] > 0).any():
        return "keypoints"
    return "mask" if rec.mask is not None and rec.crop_scale != 1.0 else "whole"


def crop_sheet(
    images: torch.Tensor,
    ids: list[str],
    sources: list[str],
    thumb: int = 128,
    cols: int = 8,
    frame: int = 3,
) -> np.ndarray:
    """(B, 3, S, S) crops in [0, 1], B ids and box sources → (H, W, 3) uint8 sheet: ``cols``
    thumbnails of ``thumb`` px per row, a ``frame``-px border in :data:`SOURCE_COLOURS` (grey
    for an unknown source) and a caption "<id> · <source>" under each."""
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"crop_sheet: expected crops (B, 3, S, S), got {tuple(images.shape)}")
    n = images.shape[0]
    if n == 0 or len(ids) != n or len(sources) != n:
        raise ValueError(f"crop_sheet: {n} crops, {len(ids)} ids, {len(sources)} sources")
    small = F.interpolate(images.float(), size=(thumb, thumb), mode="area").clamp(0, 1)
    small = (small * 255).round().byte().permute(0, 2, 3, 1).numpy()
    cols = max(1, min(cols, n))
    rows = (n + cols - 1) // cols
    cell_w, cell_h = thumb + 2 * frame + 4, thumb + 2 * frame + 16
    sheet = Image.new("RGB", (cols * cell_w, rows * cell_h), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for i in range(n):
        r, c = divmod(i, cols)
        x0, y0 = c * cell_w + 2, r * cell_h + 2
        colour = SOURCE_COLOURS.get(sources[i], (128, 128, 128))
        draw.rectangle(
            (x0, y0, x0 + thumb + 2 * frame - 1, y0 + thumb + 2 * frame - 1), fill=colour
        )
        sheet.paste(Image.fromarray(small[i]), (x0 + frame, y0 + frame))
        caption = f"{ids[i]} · {sources[i]}"
        while len(caption) > 4 and draw.textlength(caption) > cell_w - 4:
            caption = caption[: len(caption) - 2] + "…"
        draw.text((x0, y0 + thumb + 2 * frame + 1), caption, fill=(0, 0, 0))
    return np.asarray(sheet)
