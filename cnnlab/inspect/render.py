"""A PNG of a unit's fields on an image: the theoretical box and the effective-field heatmap (Pillow)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from cnnlab.inspect.field import EffectiveField

MIN_SIDE = 448  # pixels: small inputs are scaled up by a whole factor
PADDING_GREY = 200
HEAT = np.array([255, 40, 0], dtype=np.float32)
BOX = (0, 200, 255)


def field_png(image: np.ndarray, field: EffectiveField) -> bytes:
    """`image` (C×H×W in [0, 1]) with `field`'s heatmap blended in and its box drawn; the part of the
    box outside the image is drawn over grey padding."""
    channels, height, width = image.shape
    top, left, bottom, right = field.box
    y0, x0 = min(top, 0), min(left, 0)
    y1, x1 = max(bottom + 1, height), max(right + 1, width)
    rgb = np.repeat(image[:1], 3, 0) if channels != 3 else image
    canvas = np.full((y1 - y0, x1 - x0, 3), PADDING_GREY, dtype=np.float32)
    picture = rgb.transpose(1, 2, 0) * 255
    peak = field.heatmap.max()
    if peak > 0:
        alpha = (0.8 * np.sqrt(field.heatmap / peak))[..., None]  # square root: the tails stay visible
        picture = picture * (1 - alpha) + HEAT * alpha
    canvas[-y0:-y0 + height, -x0:-x0 + width] = picture
    scale = max(1, MIN_SIDE // max(canvas.shape[:2]))
    img = Image.fromarray(canvas.clip(0, 255).astype(np.uint8)).resize(
        (canvas.shape[1] * scale, canvas.shape[0] * scale), Image.NEAREST)
    draw = ImageDraw.Draw(img)
    draw.rectangle(((left - x0) * scale, (top - y0) * scale, (right - x0 + 1) * scale - 1,
                    (bottom - y0 + 1) * scale - 1), outline=BOX, width=max(2, scale // 2))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()
