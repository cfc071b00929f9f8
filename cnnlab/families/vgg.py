"""VGG from a block table: each block is `num_convs` 3×3 convolutions (+BN) with ReLU, then a 2×2 max-pool.

Model strings: a preset (`vgg11` ... `vgg19`) or blocks as `vgg:1x64,1x128,2x256` (num_convs x channels).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from torch import nn

from cnnlab import limits
from cnnlab.checks import check_bool, check_fraction, check_int
from cnnlab.errors import ConfigError, quoted
from cnnlab.families.alexnet import classifier
from cnnlab.families.family import Family, SpecData
from cnnlab.families.options import CLASSES, FC_WIDTH, WIDTH_DIVISOR, Option
from cnnlab.families.seq import SeqSpec
from cnnlab.inputs import InputSpec
from cnnlab.pycode import source

# The VGG paper's configurations A, B, D and E as (num_convs, out_channels) blocks.
VGG_BLOCKS: dict[str, tuple[tuple[int, int], ...]] = {
    "vgg11": ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512)),
    "vgg13": ((2, 64), (2, 128), (2, 256), (2, 512), (2, 512)),
    "vgg16": ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)),
    "vgg19": ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512)),
}
# ASCII digits only, and at most nine of them: larger numbers exceed every cap anyway.
_BLOCK = re.compile(r"^\s*([0-9]{1,9})\s*[x×]\s*([0-9]{1,9})\s*$")


@dataclass(frozen=True)
class VGGSpec(SpecData):
    """VGG as blocks of (num_convs, out_channels) 3x3 convolutions, each block ending in a 2x2 max-pool."""

    family: ClassVar[str] = "vgg"
    blocks: tuple[tuple[int, int], ...] = VGG_BLOCKS["vgg11"]
    width_divisor: int = 1
    fc_width: int = 4096
    batch_norm: bool = False
    dropout: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        blocks = self.blocks
        if not isinstance(blocks, list | tuple) or not blocks:
            raise ConfigError(f"VGG needs a non-empty list of blocks, got {quoted(blocks)}")
        if len(blocks) > limits.MAX_BLOCKS:
            raise ConfigError(f"VGG has {len(blocks)} blocks; cnnlab caps it at {limits.MAX_BLOCKS}")
        divisor = check_int("width divisor", self.width_divisor, 1, limits.MAX_WIDTH_DIVISOR)
        checked = []
        for i, block in enumerate(blocks, 1):
            if not isinstance(block, list | tuple) or len(block) != 2:
                raise ConfigError(f"VGG block {i} must be a pair (num_convs, out_channels), got "
                                  f"{quoted(block)}")
            convs = check_int(f"VGG block {i}: number of convolutions", block[0], 1,
                              limits.MAX_CONVS_PER_BLOCK)
            channels = check_int(f"VGG block {i}: output channels", block[1], 1, limits.MAX_CHANNELS)
            if channels // divisor < 1:
                raise ConfigError(f"VGG block {i}: {channels} channels divided by width divisor "
                                  f"{divisor} leaves no channel")
            checked.append((convs, channels))
        object.__setattr__(self, "blocks", tuple(checked))
        object.__setattr__(self, "width_divisor", divisor)
        object.__setattr__(self, "fc_width", check_int("FC width", self.fc_width, 1, limits.MAX_FC_WIDTH))
        object.__setattr__(self, "batch_norm", check_bool("batch norm", self.batch_norm))
        object.__setattr__(self, "dropout", check_fraction("dropout", self.dropout))

    def scaled_blocks(self) -> tuple[tuple[int, int], ...]:
        """Blocks with the width divisor applied (the textbook's `small_conv_arch`)."""
        return tuple((n, c // self.width_divisor) for n, c in self.blocks)

    def to_data(self) -> dict[str, Any]:
        return {**super().to_data(), "blocks": [list(b) for b in self.blocks]}

    @classmethod
    def from_data(cls, values: dict[str, Any]) -> VGGSpec:
        blocks = values.get("blocks")
        if isinstance(blocks, list):
            values = {**values, "blocks": tuple(tuple(b) if isinstance(b, list) else b for b in blocks)}
        return cls(**values)


def parse_vgg_blocks(text: str) -> tuple[tuple[int, int], ...]:
    """Parse '1x64,1x128,2x256' into ((1, 64), (1, 128), (2, 256))."""
    if not str(text).strip():
        raise ConfigError("VGG needs at least one block, e.g. vgg:1x64,1x128")
    blocks = []
    for i, token in enumerate(str(text).split(","), 1):
        match = _BLOCK.match(token)
        if not match:
            raise ConfigError(f"VGG block {i} {quoted(token.strip())} is not of the form "
                              "NUM_CONVSxOUT_CHANNELS (e.g. 2x256)")
        blocks.append((int(match.group(1)), int(match.group(2))))
    return tuple(blocks)


def format_vgg_blocks(blocks: tuple[tuple[int, int], ...]) -> str:
    return ",".join(f"{n}x{c}" for n, c in blocks)


def name_of(spec: VGGSpec) -> str:
    """The preset's name when the blocks are a preset's, else the block string."""
    return next((name for name, blocks in VGG_BLOCKS.items() if blocks == spec.blocks),
                "vgg:" + format_vgg_blocks(spec.blocks))


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


class VGG(nn.Sequential):
    """Blocks, then flatten and the three FC layers, all as top-level children (the textbook's rows).

    `features` is the flattened size of the last block's output (it depends on the input size).
    """

    def __init__(self, blocks: tuple[tuple[int, int], ...], in_channels: int, features: int,
                 batch_norm: bool = False, fc_width: int = 4096, dropout: float = 0.5, classes: int = 10):
        super().__init__()
        for i, (num_convs, out_channels) in enumerate(blocks, 1):
            self.add_module(f"block{i}", vgg_block(num_convs, in_channels, out_channels, batch_norm))
            in_channels = out_channels
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(features, fc_width)
        self.relu1 = nn.ReLU(inplace=True)
        self.dropout1 = nn.Dropout(dropout)
        self.fc2 = nn.Linear(fc_width, fc_width)
        self.relu2 = nn.ReLU(inplace=True)
        self.dropout2 = nn.Dropout(dropout)
        self.fc3 = nn.Linear(fc_width, classes)


def vgg_args(spec: VGGSpec, inp: InputSpec) -> dict[str, Any]:
    """The arguments of `VGG` for `spec` at `inp` (code export writes them out)."""
    c, h, w = _feature_shape(spec, inp)
    return {"blocks": spec.scaled_blocks(), "in_channels": inp.channels, "features": c * h * w,
            "batch_norm": spec.batch_norm, "fc_width": spec.fc_width, "dropout": spec.dropout,
            "classes": spec.classes}


def build_vgg(spec: VGGSpec, inp: InputSpec) -> VGG:
    return VGG(**vgg_args(spec, inp))


def vgg_code(spec: VGGSpec, inp: InputSpec, model: nn.Module) -> tuple[str, str]:
    """torchvision's style: the block table, the block builder and the network class."""
    args = vgg_args(spec, inp)
    table = f"BLOCKS = {args.pop('blocks')!r}  # (3×3 convolutions, output channels) per block\n"
    call = "VGG(BLOCKS, " + ", ".join(f"{k}={v!r}" for k, v in args.items()) + ")"
    return f"{table}\n\n{source(vgg_block, VGG)}", call


def _feature_shape(spec: VGGSpec, inp: InputSpec) -> tuple[int, int, int]:
    """The blocks' output shape; a block whose pool gets a 1×1 map raises a ConfigError naming it and
    how many pooling blocks the input supports (3×3 convolutions with padding 1 keep the size)."""
    h, w = inp.height, inp.width
    blocks = spec.scaled_blocks()
    for position, _ in enumerate(blocks, 1):
        if min(h, w) < 2:
            most = int(math.log2(min(inp.height, inp.width)))
            raise ConfigError(f"VGG block{position} ({position} of {len(blocks)}): max-pool 2×2 on a "
                              f"{h}×{w} map; input {inp.height}×{inp.width} supports at most {most} "
                              "pooling blocks")
        h, w = h // 2, w // 2
    return blocks[-1][1], h, w


def to_seq(spec: VGGSpec) -> SeqSpec:
    """The blocks' layers one after another, then the classifier (the block grouping is lost)."""
    conv = ",bn,relu" if spec.batch_norm else ",relu"
    features = ",".join(",".join([f"c3-{c}p1{conv}"] * n) + ",m2" for n, c in spec.scaled_blocks())
    return SeqSpec.parse(f"{features},{classifier(spec.fc_width, spec.dropout)},fc{spec.classes}")


def parse(text: str) -> VGGSpec:
    return VGGSpec(blocks=parse_vgg_blocks(text))


FAMILY = Family(
    name="vgg", label="VGG", spec=VGGSpec, build=build_vgg, default_input=InputSpec(1, 224, 224),
    presets={name: VGGSpec(blocks=blocks) for name, blocks in VGG_BLOCKS.items()},
    options=(
        WIDTH_DIVISOR,
        FC_WIDTH,
        Option("batch_norm", "Batch norm", "batch norm after every convolution", kind=bool),
        CLASSES,
    ),
    name_of=name_of, model_help="vgg11 vgg13 vgg16 vgg19, or blocks as vgg:1x64,1x128,2x256 "
                                "(num_convs x out_channels)",
    parse=parse, to_seq=to_seq, code=vgg_code,
)
