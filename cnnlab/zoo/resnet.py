"""ResNet-18/34/50 with torchvision's layout (conv1, bn1, relu, maxpool, layer1-4, avgpool, fc).

Module names match torchvision's, so `analyze(torchvision.models.resnet18())` and
`analyze("resnet18")` produce the same rows. The CIFAR stem swaps the 7×7/2 convolution and the
max-pool for one 3×3/1 convolution.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlab.spec import InputSpec, ResNetSpec

LAYERS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3)}


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions and an identity (or 1×1 projection) shortcut."""

    expansion = 1

    def __init__(self, in_channels: int, width: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = conv3x3(in_channels, width, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(width, width)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += x if self.downsample is None else self.downsample(x)  # in place, as torchvision does
        return self.relu(out)


class Bottleneck(nn.Module):
    """1×1 reduce, 3×3 (carrying the stride, as torchvision does), 1×1 expand ×4, plus a shortcut."""

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = conv1x1(in_channels, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, width * self.expansion)
        self.bn3 = nn.BatchNorm2d(width * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += x if self.downsample is None else self.downsample(x)  # in place, as torchvision does
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, spec: ResNetSpec, inp: InputSpec):
        super().__init__()
        block = Bottleneck if spec.depth == 50 else BasicBlock
        base = 64 // spec.width_divisor
        if spec.stem == "imagenet":
            self.conv1 = nn.Conv2d(inp.channels, base, kernel_size=7, stride=2, padding=3, bias=False)
            self.maxpool: nn.Module = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        else:
            self.conv1 = conv3x3(inp.channels, base)
            self.maxpool = nn.Identity()
        self.bn1 = nn.BatchNorm2d(base)
        self.relu = nn.ReLU(inplace=True)
        self.in_channels = base
        counts = LAYERS[spec.depth]
        self.layer1 = self._make_layer(block, base, counts[0], stride=1)
        self.layer2 = self._make_layer(block, base * 2, counts[1], stride=2)
        self.layer3 = self._make_layer(block, base * 4, counts[2], stride=2)
        self.layer4 = self._make_layer(block, base * 8, counts[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(base * 8 * block.expansion, spec.classes)

    def _make_layer(self, block: type[BasicBlock | Bottleneck], width: int, count: int,
                    stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.in_channels != width * block.expansion:
            downsample = nn.Sequential(conv1x1(self.in_channels, width * block.expansion, stride),
                                       nn.BatchNorm2d(width * block.expansion))
        layers = [block(self.in_channels, width, stride, downsample)]
        self.in_channels = width * block.expansion
        layers += [block(self.in_channels, width) for _ in range(1, count)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def build_resnet(spec: ResNetSpec, inp: InputSpec) -> ResNet:
    return ResNet(spec, inp)
