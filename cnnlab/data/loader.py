"""Batches straight from device-resident tensors: no worker processes, no per-sample PIL pipeline.

The whole uint8 dataset moves to the device once (Fashion-MNIST is 47 MB); each batch is gathered,
converted to float and resized there.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from cnnlab.errors import ConfigError, quoted

if TYPE_CHECKING:
    from cnnlab.data import TensorData


class DeviceLoader:
    """Iterate (x float32 N x C x H x W in [0, 1] or normalised, y int64 N) batches on `device`.

    With `shuffle`, each epoch has a new order drawn from a generator seeded with `seed`, so a run is
    reproducible. `resize` scales images to resize × resize (bilinear; antialiased when shrinking).
    `normalize` is per-channel (mean, std), e.g. `channel_stats` of the training split, for every split.
    """

    def __init__(self, data: TensorData, batch_size: int, device: str | torch.device, *, shuffle: bool,
                 resize: int | None = None, normalize: tuple[torch.Tensor, torch.Tensor] | None = None,
                 seed: int = 0, channels_last: bool = False) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch size must be a whole number of at least 1, got {quoted(batch_size)}")
        self.device = torch.device(device)
        pin = self.device.type == "cuda" and torch.cuda.is_available()
        images = data.images.pin_memory() if pin else data.images
        self.images = images.to(self.device, non_blocking=pin)
        self.labels = data.labels.to(self.device, non_blocking=pin)
        self.num_examples = len(self.labels)
        self.batch_size, self.shuffle = batch_size, shuffle
        self.channels_last = channels_last
        height, width = self.images.shape[-2:]
        self.size = None if resize is None or (resize, resize) == (height, width) else (resize, resize)
        self.antialias = self.size is not None and resize < min(height, width)
        self.generator = torch.Generator().manual_seed(seed)
        self.mean = self.std = None
        if normalize is not None:
            self.mean, self.std = (t.to(self.device).view(1, -1, 1, 1) for t in normalize)

    def __len__(self) -> int:
        return math.ceil(self.num_examples / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = None
        if self.shuffle:
            order = torch.randperm(self.num_examples, generator=self.generator).to(self.device)
        for batch in range(len(self)):
            start = batch * self.batch_size
            end = min(start + self.batch_size, self.num_examples)
            if order is None:
                images, labels = self.images[start:end], self.labels[start:end]
            else:
                index = order[start:end]
                images, labels = self.images.index_select(0, index), self.labels.index_select(0, index)
            yield self._prepare(images), labels

    def _prepare(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float().div_(255)
        if self.size is not None:
            x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False,
                              antialias=self.antialias)
        if self.mean is not None:
            x = x.sub_(self.mean).div_(self.std)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x


def channel_stats(data: TensorData) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation of a split's pixels in [0, 1], for `normalize`."""
    values = data.images.float().div_(255).transpose(0, 1).reshape(data.images.shape[1], -1)
    return values.mean(dim=1), values.std(dim=1).clamp_min(1e-6)
