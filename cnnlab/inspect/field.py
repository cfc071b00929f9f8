"""The effective receptive field (Luo et al., NeurIPS 2016): where a unit's gradient really lands.

For one unit (row, column) of a layer, the sum over its channels is differentiated with respect to the
input by real autograd; the absolute gradient, summed over input channels and averaged over the images,
normalised to sum to 1, is the heatmap. The model runs in eval mode (batch norm's batch statistics
would couple every position) and, by default, in float64: in float32 the products of many small
weights along long paths underflow and the field's tails vanish (docs/SEE.md, tests/test_inspect_field.py).
The images go through in chunks sized by `limits.MAX_FIELD_BYTES`, so the peak memory does not grow with
their number; a request whose single image would not fit is refused.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from cnnlab import limits
from cnnlab.analysis.tracer import trace
from cnnlab.errors import ConfigError
from cnnlab.inspect.layers import SpatialLayer, capture
from cnnlab.units import format_bytes

if TYPE_CHECKING:
    import plotly.graph_objects as go

DTYPE = torch.float64
FRACTIONS = (0.5, 0.95)


@dataclass(frozen=True)
class EffectiveField:
    """A unit's effective field: `heatmap` H×W (sums to 1, or all zeros if no image moves the unit)."""

    layer: str
    unit: tuple[int, int]
    box: tuple[int, int, int, int]
    heatmap: np.ndarray
    side50: int | None
    side95: int | None
    area_ratio95: float | None
    images: int

    @property
    def dead(self) -> bool:
        """True when the unit's gradient is zero on every image (e.g. a ReLU that never fires)."""
        return self.side50 is None

    def figure(self, image: np.ndarray, title: str | None = None, scale: str = "linear") -> go.Figure:
        """The See page's picture: `image` (C×H×W in [0, 1]) with this field over it (heat linear in the
        share of the peak, or its square root: `scale`), its colour bar and the theoretical box. Needs
        plotly."""
        from cnnlab.figures import field_figure

        return field_figure(image, self, title or f"{self.layer}, unit {self.unit}: effective field",
                            scale=scale)


def prepared(model: nn.Module, dtype: torch.dtype = DTYPE) -> nn.Module:
    """An eval-mode copy of `model` in `dtype` with frozen parameters (only the input needs a gradient);
    `model` itself when it already is one."""
    if getattr(model, "_cnnlab_prepared", None) == dtype:
        return model
    net = copy.deepcopy(model).to(dtype).eval().requires_grad_(False)
    net._cnnlab_prepared = dtype
    return net


def effective_field(model: nn.Module, images: torch.Tensor, layer: SpatialLayer,
                    unit: tuple[int, int] | None = None, dtype: torch.dtype = DTYPE,
                    crop: bool = True, memory: int = limits.MAX_FIELD_BYTES,
                    progress: Callable[[float], None] | None = None) -> EffectiveField:
    """The effective field of `unit` (default: the centre) of `layer` over `images` (N×C×H×W, as fed).

    With `crop`, the network runs only on the part of the images that the unit's box covers (see
    `crop_window`); the result is the same, the work smaller. `crop=False` runs on the whole images.
    The images go through in chunks of `chunk_size` images, planned to hold at most `memory` bytes;
    `progress` is told the share of images done after each.
    """
    unit = layer.check_unit(unit)
    net = prepared(model, dtype)
    device = next(net.parameters(), torch.empty(0)).device
    height, width = images.shape[-2:]
    window = crop_window(layer, unit, (height, width)) if crop and _local(net) else ((0, height), (0, width))
    (top, bottom), (left, right) = window
    chunk = chunk_size(net, layer, tuple(images.shape[1:]), dtype, memory)
    row, col = unit[0] - top // layer.jump[0], unit[1] - left // layer.jump[1]
    total_grad = torch.zeros((bottom - top, right - left), dtype=torch.float64)
    for first in range(0, len(images), chunk):
        part = images[first:first + chunk, :, top:bottom, left:right]
        x = part.to(device=device, dtype=dtype, copy=True).requires_grad_(True)
        with torch.enable_grad():
            out = capture(net, x, [layer], keep_graph=True)[layer.name]
            (grad,) = torch.autograd.grad(out[:, :, row, col].sum(), x)
        total_grad += grad.abs().sum(dim=(0, 1)).double().cpu()
        del x, out, grad
        if progress is not None:
            progress(min(first + chunk, len(images)) / len(images))
    magnitude = np.zeros((height, width), dtype=np.float64)
    magnitude[top:bottom, left:right] = (total_grad / len(images)).numpy()
    total = magnitude.sum()
    heatmap = magnitude / total if total > 0 else magnitude
    centre = layer.centre(unit)
    sides = [centred_side(heatmap, centre, f) if total > 0 else None for f in FRACTIONS]
    ratio = None if sides[1] is None else sides[1] ** 2 / (layer.rf[0] * layer.rf[1])
    return EffectiveField(layer.name, unit, layer.box(unit), heatmap, sides[0], sides[1], ratio, len(images))


def image_bytes(model: nn.Module, layer: SpatialLayer, input_shape: tuple[int, int, int],
                dtype: torch.dtype = DTYPE) -> int:
    """Estimated bytes one whole image of `input_shape` costs in the effective-field pass up to `layer`:
    the input and every leaf module's output up to the layer's end (what backward keeps), three times
    (the gradients flowing back, and the temporaries of the CPU convolutions' backward). A cropped pass
    costs less. Measured costs per image are 0.24 to 1.0 of it (docs/SEE.md)."""
    calls, _, _ = trace(model, tuple(input_shape))
    seen: Counter[str] = Counter()
    end = len(calls)
    for index, call in enumerate(calls):
        seen[call.name] += 1
        if call.name == layer.module and seen[call.name] == layer.call:
            end = index + 1
            inside = f"{layer.module}." if layer.module else ""
            while inside and end < len(calls) and calls[end].name.startswith(inside):
                end += 1
            break
    values = math.prod(input_shape) + sum(
        call.output.numel() for call in calls[1:end]
        if call.output is not None and next(call.module.children(), None) is None)
    return 3 * values * torch.empty((), dtype=dtype).element_size()


def chunk_size(model: nn.Module, layer: SpatialLayer, input_shape: tuple[int, int, int],
               dtype: torch.dtype = DTYPE, memory: int = limits.MAX_FIELD_BYTES) -> int:
    """How many images of `input_shape` one pass may take within `memory` bytes; a ConfigError when
    not even one fits."""
    need = image_bytes(model, layer, input_shape, dtype)
    if need > memory:
        raise ConfigError(f"one image's effective field at {layer.name} needs about {format_bytes(need)}, "
                          f"over the limit of {format_bytes(memory)} (limits.MAX_FIELD_BYTES); choose "
                          f"an earlier layer or a smaller input")
    return max(1, memory // need)


def crop_window(layer: SpatialLayer, unit: tuple[int, int],
                size: tuple[int, int]) -> tuple[tuple[int, int], ...]:
    """Per axis, the rows (columns) [start, end) of the input that `unit` needs: its box, widened to
    start on a multiple of the layer's jump (so every layer's grid of units stays aligned), and running
    to the image's edge where the box reaches it (so the padding there is the same). Every unit the
    chosen one depends on has its field inside the box, so it sees the same pixels in the crop as in
    the whole image."""
    box = layer.box(unit)
    window = []
    for axis in range(2):
        first, last, jump, side = box[axis], box[axis + 2], layer.jump[axis], size[axis]
        start = 0 if first <= 0 else first // jump * jump
        window.append((start, side if last >= side - 1 else last + 1))
    return tuple(window)


def _local(model: nn.Module) -> bool:
    """Whether cropping is exact: no adaptive pooling that keeps a map (its windows depend on the map's
    size; a global pool ends the map and is harmless)."""
    adaptive = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
    return all(not isinstance(m, adaptive) or m.output_size in (1, (1, 1)) for m in model.modules())


def centred_side(heatmap: np.ndarray, centre: tuple[float, float], fraction: float) -> int:
    """The side of the smallest square centred at `centre` (input coordinates) that holds `fraction` of
    the heatmap's mass. A square of side s covers the pixels lying wholly inside [c - s/2, c + s/2]
    on each axis (so around a whole-pixel centre only odd sides gain pixels)."""
    height, width = heatmap.shape
    table = np.zeros((height + 1, width + 1))
    table[1:, 1:] = heatmap.cumsum(0).cumsum(1)
    reach = max(abs(centre[0]) + height, abs(centre[1]) + width)
    sides = np.arange(1, 2 * math.ceil(reach) + 3)

    def span(c: float, size: int) -> tuple[np.ndarray, np.ndarray]:
        low = np.clip(np.ceil(c - sides / 2 + 0.5), 0, size)
        high = np.clip(np.floor(c + sides / 2 - 0.5) + 1, 0, size)
        return low.astype(int), np.maximum(high.astype(int), low.astype(int))

    (top, bottom), (left, right) = span(centre[0], height), span(centre[1], width)
    mass = table[bottom, right] - table[top, right] - table[bottom, left] + table[top, left]
    return int(sides[np.argmax(mass >= fraction * heatmap.sum() - 1e-12)])
