"""A PNG of a unit's fields on an image: the theoretical box, the effective-field heatmap and its colour
bar (Pillow)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from cnnlab import heat
from cnnlab.inspect.field import EffectiveField

MIN_SIDE = 448  # pixels: small inputs are scaled up by a whole factor
PADDING_GREY = 200
HEAT = np.array([255, 40, 0], dtype=np.float32)
OPACITY = 0.8  # of the heat at the peak
BOX = (0, 200, 255)
BAR = (16, 24, 80)  # the colour bar's gap, width and label space, in pixels
BAR_MARGIN = 20  # above and below the bar


def field_png(image: np.ndarray, field: EffectiveField, scale: str = "linear") -> bytes:
    """`image` (C×H×W in [0, 1]) with `field`'s heatmap blended in (each pixel's share of the peak, or its
    square root: `scale`) and its box drawn; the part of the box outside the image is drawn over grey
    padding. A colour bar on the right labels the shares of the peak."""
    channels, height, width = image.shape
    top, left, bottom, right = field.box
    y0, x0 = min(top, 0), min(left, 0)
    y1, x1 = max(bottom + 1, height), max(right + 1, width)
    rgb = np.repeat(image[:1], 3, 0) if channels != 3 else image
    canvas = np.full((y1 - y0, x1 - x0, 3), PADDING_GREY, dtype=np.float32)
    alpha = (OPACITY * heat.drawn(field.heatmap, scale))[..., None]
    canvas[-y0:-y0 + height, -x0:-x0 + width] = rgb.transpose(1, 2, 0) * 255 * (1 - alpha) + HEAT * alpha
    scale_by = max(1, MIN_SIDE // max(canvas.shape[:2]))
    side = (canvas.shape[1] * scale_by, canvas.shape[0] * scale_by)
    picture = Image.fromarray(canvas.clip(0, 255).astype(np.uint8)).resize(side, Image.NEAREST)
    img = Image.new("RGB", (side[0] + sum(BAR), side[1]), "white")
    img.paste(picture, (0, 0))
    draw = ImageDraw.Draw(img)
    draw.rectangle(((left - x0) * scale_by, (top - y0) * scale_by, (right - x0 + 1) * scale_by - 1,
                    (bottom - y0 + 1) * scale_by - 1), outline=BOX, width=max(2, scale_by // 2))
    _colour_bar(draw, side[0] + BAR[0], side[1], scale)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def _colour_bar(draw: ImageDraw.ImageDraw, x: int, height: int, scale: str) -> None:
    """The heat over white from 0 (bottom) to the peak (top), the shares labelled beside it."""
    low, high = height - BAR_MARGIN, BAR_MARGIN
    for y in range(high, low + 1):
        level = (low - y) / (low - high)  # the drawn value, 0..1
        colour = 255 * (1 - OPACITY * level) + HEAT * OPACITY * level
        draw.line((x, y, x + BAR[1] - 1, y), fill=tuple(int(round(c)) for c in colour))
    for value, label in zip(*heat.ticks(scale), strict=True):
        y = round(low - value * (low - high))
        draw.line((x + BAR[1], y, x + BAR[1] + 4, y), fill="black")
        draw.text((x + BAR[1] + 7, y - 6), label, fill="black")
    draw.text((x - 4, 2), "√ share" if scale == "sqrt" else "share", fill="black")
