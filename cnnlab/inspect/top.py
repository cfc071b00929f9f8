"""The dataset images that excite one channel of a layer most, with where (which unit) they do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from cnnlab.errors import ConfigError
from cnnlab.inspect.layers import SpatialLayer, capture
from cnnlab.spec import check_int

BATCH = 64


@dataclass(frozen=True)
class TopImage:
    index: int  # position in the sample
    activation: float
    unit: tuple[int, int]  # where in the map the channel peaks
    box: tuple[int, int, int, int]  # that unit's theoretical field


def top_images(model: nn.Module, images: torch.Tensor, layer: SpatialLayer, channel: int,
               k: int = 8, progress: Callable[[float], None] | None = None) -> list[TopImage]:
    """The `k` images (of `images`, as fed) whose maximum activation of `channel` in `layer` is highest;
    `progress` is told the share of images done after each batch."""
    channels = layer.shape[0]
    if not 0 <= channel < channels:
        raise ConfigError(f"channel {channel} is outside {layer.name}'s {channels} channels "
                          f"(0 to {channels - 1})")
    k = check_int("number of top images", k, 1, len(images))
    peaks, where = [], []
    with torch.no_grad():
        for batch in images.split(BATCH):
            out = capture(model.eval(), batch, [layer])[layer.name][:, channel].flatten(1)
            value, position = out.max(dim=1)
            peaks.append(value)
            where.append(position)
            if progress is not None:
                progress(sum(map(len, peaks)) / len(images))
    peaks, where = torch.cat(peaks), torch.cat(where)
    best = torch.argsort(peaks, descending=True, stable=True)[:k]
    width = layer.shape[2]
    result = []
    for i in best.tolist():
        unit = divmod(int(where[i]), width)
        result.append(TopImage(i, float(peaks[i]), unit, layer.box(unit)))
    return result
