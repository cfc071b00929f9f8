"""ResNet-18/34/50 with torchvision's layout (conv1, bn1, relu, maxpool, layer1-4, avgpool, fc).

Module names match torchvision's, so `analyze(torchvision.models.resnet18())` and
`analyze("resnet18")` produce the same rows. The CIFAR stem swaps the 7×7/2 convolution and the
max-pool for one 3×3/1 convolution. The modules take plain arguments (no spec), as torchvision's do,
so code export copies them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from cnnlab import limits
from cnnlab.checks import check_choice, check_int
from cnnlab.errors import ConfigError
from cnnlab.families.family import Family, SpecData
from cnnlab.families.options import CLASSES, WIDTH_DIVISOR, Option
from cnnlab.inputs import InputSpec
from cnnlab.pycode import source

DEPTHS = (18, 34, 50)
STEMS = ("imagenet", "cifar")
LAYERS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3)}


@dataclass(frozen=True)
class ResNetSpec(SpecData):
    """ResNet-18/34 (basic blocks) or ResNet-50 (bottlenecks), with an ImageNet or a CIFAR stem."""

    family: ClassVar[str] = "resnet"
    depth: int = 18
    stem: str = "imagenet"
    width_divisor: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("ResNet depth", self.depth, DEPTHS)
        check_choice("ResNet stem", self.stem, STEMS)
        object.__setattr__(self, "width_divisor",
                           check_int("width divisor", self.width_divisor, 1, limits.MAX_WIDTH_DIVISOR))
        if 64 // self.width_divisor < 1:
            raise ConfigError(f"width divisor {self.width_divisor} leaves ResNet's 64-channel stem "
                              "with no channel")


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
    def __init__(self, block: type[BasicBlock | Bottleneck], layers: tuple[int, int, int, int],
                 in_channels: int = 3, classes: int = 1000, base: int = 64, stem: str = "imagenet"):
        super().__init__()
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, base, kernel_size=7, stride=2, padding=3, bias=False)
            self.maxpool: nn.Module = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        else:
            self.conv1 = conv3x3(in_channels, base)
            self.maxpool = nn.Identity()
        self.bn1 = nn.BatchNorm2d(base)
        self.relu = nn.ReLU(inplace=True)
        self.in_channels = base
        self.layer1 = self._make_layer(block, base, layers[0], stride=1)
        self.layer2 = self._make_layer(block, base * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, base * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, base * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(base * 8 * block.expansion, classes)

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


def resnet_args(spec: ResNetSpec, inp: InputSpec) -> dict[str, object]:
    """The arguments of `ResNet` for `spec` (code export writes them out)."""
    return {"block": Bottleneck if spec.depth == 50 else BasicBlock, "layers": LAYERS[spec.depth],
            "in_channels": inp.channels, "classes": spec.classes, "base": 64 // spec.width_divisor,
            "stem": spec.stem}


def build_resnet(spec: ResNetSpec, inp: InputSpec) -> ResNet:
    return ResNet(**resnet_args(spec, inp))  # type: ignore[arg-type]


def resnet_code(spec: ResNetSpec, inp: InputSpec, model: nn.Module) -> tuple[str, str]:
    """The blocks and the network class as cnnlab builds them, and the call for `spec`."""
    args = resnet_args(spec, inp)
    call = f"ResNet({args.pop('block').__name__}, " + ", ".join(f"{k}={v!r}" for k, v in args.items()) + ")"
    return source(conv3x3, conv1x1, BasicBlock, Bottleneck, ResNet), call


FAMILY = Family(
    name="resnet", label="ResNet", spec=ResNetSpec, build=build_resnet, default_input=InputSpec(3, 224, 224),
    presets={f"resnet{d}": ResNetSpec(depth=d) for d in DEPTHS},
    options=(
        Option("depth", "Depth", "ResNet depth: 18 and 34 use basic blocks, 50 bottlenecks",
               choices=DEPTHS),
        Option("stem", "Stem", "imagenet: 7×7/2 conv + max-pool; cifar: one 3×3/1 conv", kind=str,
               choices=STEMS),
        WIDTH_DIVISOR,
        CLASSES,
    ),
    name_of=lambda spec: f"resnet{spec.depth}", model_help="resnet18 resnet34 resnet50", code=resnet_code,
    no_seq="adds each residual block's input to its output (a shortcut around a branch), and seq is a "
           "plain chain of layers",
)
