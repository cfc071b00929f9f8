"""Feature maps of one image and the kernels of convolutions, as plain arrays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from cnnlab import limits
from cnnlab.errors import ConfigError, quoted
from cnnlab.inspect.layers import SpatialLayer, capture
from cnnlab.spec import check_int

if TYPE_CHECKING:
    import plotly.graph_objects as go


@dataclass(frozen=True)
class FeatureMaps:
    """The first channels of one layer's output for one image: `maps` n×H×W of a C×H×W output."""

    layer: str
    shape: tuple[int, int, int]
    maps: np.ndarray

    def figure(self, columns: int = 8) -> go.Figure:
        """The channels in a grid, each scaled to its own range (the See page's). Needs plotly."""
        from cnnlab.figures import feature_maps_figure

        return feature_maps_figure(self, columns)


@dataclass(frozen=True)
class Kernels:
    """A convolution's kernels: `weights` Cout×3×kh×kw for an RGB input layer, else Cout×kh×kw."""

    layer: str
    weights: np.ndarray

    def figure(self, columns: int = 16) -> go.Figure:
        """The kernels as small pictures (the See page's). Needs plotly."""
        from cnnlab.figures import kernels_figure

        return kernels_figure(self.weights, self.layer, columns)


def feature_maps(model: nn.Module, image: torch.Tensor, layers: list[SpatialLayer],
                 channels: int = 8) -> list[FeatureMaps]:
    """Each layer's output on `image` (C×H×W, as fed), its first `channels` channels, in one forward."""
    channels = check_int("channels shown", channels, 1, limits.MAX_FEATURE_CHANNELS)
    with torch.no_grad():
        outputs = capture(model.eval(), image.unsqueeze(0), layers)
    return [FeatureMaps(layer.name, tuple(outputs[layer.name].shape[1:]),
                        outputs[layer.name][0, :channels].float().cpu().numpy()) for layer in layers]


def conv_layers(model: nn.Module) -> list[str]:
    """Qualified names of the model's 2-D convolutions, in definition order."""
    return [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]


def kernels(model: nn.Module, name: str) -> Kernels:
    """A convolution's kernels: Cout×3×kh×kw for an RGB input layer (one colour image per output
    channel), else Cout×kh×kw averaged over its input channels."""
    module = dict(model.named_modules()).get(name)
    if not isinstance(module, nn.Conv2d):
        raise ConfigError(f"{quoted(name)} is not a convolution of this model; convolutions: "
                          f"{', '.join(conv_layers(model)) or 'none'}")
    weight = module.weight.detach().float().cpu()
    if weight.shape[1] == 3 and module.groups == 1:
        return Kernels(name, weight.numpy())
    return Kernels(name, weight.mean(dim=1).numpy())
