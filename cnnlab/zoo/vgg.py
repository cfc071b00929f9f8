"""VGG from a block table: each block is `num_convs` 3×3 convolutions (+BN) with ReLU, then a 2×2 max-pool."""

import math
from collections import OrderedDict

from torch import nn

from cnnlab.spec import InputSpec, VGGSpec
from cnnlab.zoo.common import feature_shape


def vgg_block(num_convs: int, in_channels: int, out_channels: int, batch_norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(num_convs):
        layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU(inplace=True))
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def build_vgg(spec: VGGSpec, inp: InputSpec) -> nn.Sequential:
    """Blocks, then flatten and the three FC layers, all as top-level children (the textbook's rows)."""
    blocks = []
    in_channels = inp.channels
    for i, (num_convs, out_channels) in enumerate(spec.scaled_blocks(), 1):
        blocks.append((f"block{i}", vgg_block(num_convs, in_channels, out_channels, spec.batch_norm)))
        in_channels = out_channels
    features = nn.Sequential(OrderedDict(blocks))
    most = int(math.log2(min(inp.height, inp.width)))
    hint = f"input {inp.height}×{inp.width} supports at most {most} pooling blocks"
    c, h, w = feature_shape(features, inp, "VGG", hint)
    return nn.Sequential(OrderedDict([
        *blocks,
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(c * h * w, spec.fc_width)),
        ("relu1", nn.ReLU(inplace=True)),
        ("dropout1", nn.Dropout(spec.dropout)),
        ("fc2", nn.Linear(spec.fc_width, spec.fc_width)),
        ("relu2", nn.ReLU(inplace=True)),
        ("dropout2", nn.Dropout(spec.dropout)),
        ("fc3", nn.Linear(spec.fc_width, spec.classes)),
    ]))
