"""FC→conv: a classifier's fully connected layers rewritten as convolutions, weights copied.

The first linear layer sees the last feature map (C×H×W) flattened; it becomes a convolution with an
H×W kernel and the same weights, and each following linear layer a 1×1 convolution. On the input the
network was built for, the output is the FC network's, as an N×classes×1×1 map; on a larger input it
is a map of class scores, one per window of the training input's size (OverFeat's sliding window,
computed once). `class_score_map` runs it over a picture: every window's class scores, drawn by its
`.figure()`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from cnnlab.analysis import Summary, analyze
from cnnlab.errors import ConfigError, quoted
from cnnlab.spec import InputSpec, ModelConfig
from cnnlab.zoo import build

if TYPE_CHECKING:
    import plotly.graph_objects as go

# Layers that may sit between the linear layers of a classifier: they act element-wise, on any map.
ELEMENTWISE = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.Dropout, nn.Identity, nn.Flatten)


def fc_as_conv(model: nn.Module, input_shape: InputSpec | tuple[int, int, int]) -> nn.Sequential:
    """Rewrite `model` (an `nn.Sequential` that flattens a feature map into linear layers, as LeNet,
    AlexNet, VGG and `seq` networks do) for inputs of `input_shape`, the size it was built for.

    The feature layers are shared with `model`, not copied; the new convolutions hold copies of the
    linear layers' weights, on their device. Raises ConfigError for any other shape of network.
    """
    shape = input_shape.as_tuple() if isinstance(input_shape, InputSpec) else tuple(input_shape)
    if not isinstance(model, nn.Sequential):
        name = type(model).__name__
        why = (": a ResNet already ends in global average pooling and a single linear layer"
               if name == "ResNet" else " (it is not one chain of layers)")
        raise ConfigError(f"FC→conv rewrites networks that flatten a feature map into fully connected layers "
                          f"(LeNet, AlexNet, VGG, seq); {name} is not one{why}")
    feature_map = _map_before_first_linear(model, shape)
    converted, found = _convert(model, feature_map, head=[False])
    if not found:
        raise ConfigError(f"{type(model).__name__} has no fully connected layer to rewrite")
    return converted


def fc_as_conv_summary(config: ModelConfig, run_input: InputSpec | None = None,
                       levels: int | None = None) -> Summary:
    """The analysis of `config`'s network with FC→conv applied, run on `run_input` (default: the input it
    was built for). `classes` stays the class count; the output shape is the class-score map."""
    run_input = run_input or config.input
    if run_input.channels != config.input.channels:
        raise ConfigError(f"the larger input must keep the training input's {config.input.channels} "
                          f"channel(s), not {run_input.channels}")
    if run_input.height < config.input.height or run_input.width < config.input.width:
        raise ConfigError(f"the larger input {run_input} is smaller than the training input {config.input}; "
                          "a class-score map needs at least one window of the training size")
    converted = fc_as_conv(build(config), config.input)
    summary = analyze(converted, run_input, levels=levels)
    return replace(summary, model=f"{config.name} (FC as conv)", classes=config.arch.classes)


def _map_before_first_linear(model: nn.Module, shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """C×H×W of the last feature map before the first linear layer, from the engine's trace."""
    rows = analyze(model, shape).layers
    first = next((i for i, row in enumerate(rows) if row.type == "Linear"), None)
    if first is None:
        raise ConfigError(f"{type(model).__name__} has no fully connected layer to rewrite")
    maps = [row.output_shape for row in rows[:first] if len(row.output_shape) == 3]
    if not maps:
        raise ConfigError("FC→conv needs a feature map before the first fully connected layer")
    return maps[-1]


def _convert(seq: nn.Sequential, feature_map: tuple[int, int, int],
             head: list[bool]) -> tuple[nn.Sequential, bool]:
    """A copy of `seq` with every linear layer as a convolution; `head[0]` turns True at the first one."""
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    found = False
    for name, child in seq.named_children():
        if isinstance(child, nn.Linear):
            layers[name] = _linear_as_conv(child, feature_map if not head[0] else None)
            head[0] = found = True
        elif isinstance(child, nn.Flatten):
            continue  # the convolutions keep the map
        elif isinstance(child, nn.Sequential):
            layers[name], inner = _convert(child, feature_map, head)
            found = found or inner
        elif head[0] and not isinstance(child, ELEMENTWISE):
            raise ConfigError(f"FC→conv cannot rewrite layer {quoted(name)} ({type(child).__name__}) between "
                              "fully connected layers; only element-wise layers may sit there")
        else:
            layers[name] = child
    return nn.Sequential(layers), found


def _linear_as_conv(linear: nn.Linear, feature_map: tuple[int, int, int] | None) -> nn.Conv2d:
    """The first linear layer as a C×(H×W) convolution over `feature_map`, a later one as a 1×1."""
    c, h, w = feature_map if feature_map is not None else (linear.in_features, 1, 1)
    if c * h * w != linear.in_features:
        raise ConfigError(f"the first fully connected layer takes {linear.in_features} inputs, but the "
                          f"feature map before it is {c}×{h}×{w} = {c * h * w}")
    weight = linear.weight
    conv = nn.Conv2d(c, linear.out_features, kernel_size=(h, w), bias=linear.bias is not None,
                     device="meta", dtype=weight.dtype).to_empty(device=weight.device)  # no init: copied
    with torch.no_grad():
        conv.weight.copy_(weight.reshape(linear.out_features, c, h, w))
        if linear.bias is not None:
            conv.bias.copy_(linear.bias)
    conv.requires_grad_(weight.requires_grad)
    return conv


@dataclass(frozen=True)
class ClassScoreMap:
    """Class scores of the FC→conv network at every window of the training input's size over a larger
    picture: `scores[k, i, j]` is class k's score for the window whose top-left pixel is
    (i·jump, j·jump), `window` pixels high and wide."""

    image: np.ndarray  # C×H×W in [0, 1], as shown
    scores: np.ndarray  # classes × h × w
    window: tuple[int, int]
    jump: tuple[int, int]

    @property
    def argmax(self) -> np.ndarray:
        """The best class of each window (h × w)."""
        return self.scores.argmax(axis=0)

    def box(self, i: int, j: int) -> tuple[int, int, int, int]:
        """Window (i, j) as inclusive input pixels (top, left, bottom, right)."""
        top, left = i * self.jump[0], j * self.jump[1]
        return (top, left, top + self.window[0] - 1, left + self.window[1] - 1)

    def best(self, cls: int) -> tuple[int, int]:
        """The window where class `cls` scores highest."""
        i, j = np.unravel_index(int(self.scores[cls].argmax()), self.scores.shape[1:])
        return (int(i), int(j))

    def figure(self, cls: int) -> go.Figure:
        """Class `cls`'s score over the picture, its best window outlined, and the per-window argmax as a
        class map (the Build page's FC→conv view). Needs plotly."""
        from cnnlab.figures import class_map_figure

        return class_map_figure(self, cls)


def class_score_map(model: nn.Module, input_shape: InputSpec, image: torch.Tensor,
                    shown: torch.Tensor | None = None) -> ClassScoreMap:
    """`model` (built for `input_shape`) rewritten by `fc_as_conv` and run on `image` (C×H×W as fed, at
    least the training size): its class-score map. `shown` is the picture drawn (default `image`)."""
    c, h, w = image.shape
    if c != input_shape.channels or h < input_shape.height or w < input_shape.width:
        raise ConfigError(f"the picture ({c}×{h}×{w}) must have the training input's {input_shape.channels} "
                          f"channel(s) and be at least {input_shape.height}×{input_shape.width}")
    converted = fc_as_conv(model, input_shape).eval()
    jump = analyze(converted, (c, h, w)).layers[-1].jump
    with torch.no_grad():
        scores = converted(image.unsqueeze(0))[0].float().cpu().numpy()
    picture = (image if shown is None else shown).float().cpu().numpy()
    return ClassScoreMap(picture, scores, (input_shape.height, input_shape.width),
                         (int(jump[0]), int(jump[1])))


def mosaic(images: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """N×C×h×w images (N ≥ rows·cols) tiled into one C×(rows·h)×(cols·w) picture, row by row."""
    n, c, h, w = images.shape
    if n < rows * cols:
        raise ConfigError(f"a {rows}×{cols} mosaic needs {rows * cols} images, not {n}")
    tiles = images[:rows * cols].reshape(rows, cols, c, h, w)
    return tiles.permute(2, 0, 3, 1, 4).reshape(c, rows * h, cols * w)
