"""AlexNet as in the textbook: one tower, 11×11/4 stem, overlapping 3×3/2 max-pools, dropout FC layers."""

from collections import OrderedDict

from torch import nn

from cnnlab.spec import AlexNetSpec, InputSpec
from cnnlab.zoo.common import feature_shape


def build_alexnet(spec: AlexNetSpec, inp: InputSpec) -> nn.Sequential:
    features = nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(inp.channels, 96, kernel_size=11, stride=4, padding=1)),
        ("relu1", nn.ReLU()),
        ("pool1", nn.MaxPool2d(kernel_size=3, stride=2)),
        ("conv2", nn.Conv2d(96, 256, kernel_size=5, padding=2)),
        ("relu2", nn.ReLU()),
        ("pool2", nn.MaxPool2d(kernel_size=3, stride=2)),
        ("conv3", nn.Conv2d(256, 384, kernel_size=3, padding=1)),
        ("relu3", nn.ReLU()),
        ("conv4", nn.Conv2d(384, 384, kernel_size=3, padding=1)),
        ("relu4", nn.ReLU()),
        ("conv5", nn.Conv2d(384, 256, kernel_size=3, padding=1)),
        ("relu5", nn.ReLU()),
        ("pool3", nn.MaxPool2d(kernel_size=3, stride=2)),
    ]))
    c, h, w = feature_shape(features, inp, "AlexNet",
                            f"input {inp.height}×{inp.width} is too small; AlexNet needs at least 65×65")
    return nn.Sequential(OrderedDict([
        *features.named_children(),
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(c * h * w, spec.fc_width)),
        ("relu6", nn.ReLU()),
        ("dropout1", nn.Dropout(spec.dropout)),
        ("fc2", nn.Linear(spec.fc_width, spec.fc_width)),
        ("relu7", nn.ReLU()),
        ("dropout2", nn.Dropout(spec.dropout)),
        ("fc3", nn.Linear(spec.fc_width, spec.classes)),
    ]))
