"""LeNet-5 as in the textbook: 5×5 convolutions, sigmoid, 2×2 average pooling, three FC layers."""

from collections import OrderedDict

from torch import nn

from cnnlab.spec import InputSpec, LeNetSpec
from cnnlab.zoo.common import feature_shape


def build_lenet(spec: LeNetSpec, inp: InputSpec) -> nn.Sequential:
    features = nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(inp.channels, 6, kernel_size=5, padding=2)),
        ("sigmoid1", nn.Sigmoid()),
        ("pool1", nn.AvgPool2d(kernel_size=2, stride=2)),
        ("conv2", nn.Conv2d(6, 16, kernel_size=5)),
        ("sigmoid2", nn.Sigmoid()),
        ("pool2", nn.AvgPool2d(kernel_size=2, stride=2)),
    ]))
    c, h, w = feature_shape(features, inp, "LeNet",
                            f"input {inp.height}×{inp.width} is too small; LeNet needs at least 12×12")
    return nn.Sequential(OrderedDict([
        *features.named_children(),
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(c * h * w, 120)),
        ("sigmoid3", nn.Sigmoid()),
        ("fc2", nn.Linear(120, 84)),
        ("sigmoid4", nn.Sigmoid()),
        ("fc3", nn.Linear(84, spec.classes)),
    ]))
