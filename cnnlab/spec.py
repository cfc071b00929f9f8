"""Architecture and input specs: plain, validated, JSON-round-trippable data.

A spec says *what* network to build; `cnnlab.zoo` turns it into an `nn.Module`.
Every constructor validates, so a spec that exists is a spec that makes sense.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, ClassVar

from cnnlab import limits
from cnnlab.errors import ConfigError

# The VGG paper's configurations A, B, D and E as (num_convs, out_channels) blocks.
VGG_BLOCKS: dict[str, tuple[tuple[int, int], ...]] = {
    "vgg11": ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512)),
    "vgg13": ((2, 64), (2, 128), (2, 256), (2, 512), (2, 512)),
    "vgg16": ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)),
    "vgg19": ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512)),
}
RESNET_DEPTHS = (18, 34, 50)
RESNET_STEMS = ("imagenet", "cifar")


def check_int(what: str, value: Any, low: int, high: int) -> int:
    """Return `value` if it is a whole number in [low, high]; else raise a ConfigError naming `what`."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ConfigError(f"{what} must be a whole number, got {value!r}")
    if value < low:
        raise ConfigError(f"{what} must be at least {low}, got {value}")
    if value > high:
        raise ConfigError(f"{what} is {value}; cnnlab caps it at {high}")
    return value


def _check_dropout(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ConfigError(f"dropout must be a number in [0, 1), got {value!r}")
    return float(value)


def _check_bool(what: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{what} must be true or false, got {value!r}")
    return value


@dataclass(frozen=True)
class InputSpec:
    """One input image: channels x height x width."""

    channels: int
    height: int
    width: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", check_int("input channels", self.channels, 1,
                                                       limits.MAX_INPUT_CHANNELS))
        for side in ("height", "width"):
            object.__setattr__(self, side, check_int(f"input {side}", getattr(self, side),
                                                     limits.MIN_INPUT_SIDE, limits.MAX_INPUT_SIDE))

    @classmethod
    def parse(cls, text: str) -> InputSpec:
        """Parse 'CxHxW' (e.g. '3x224x224')."""
        match = _INPUT.match(str(text).lower())
        if not match:
            raise ConfigError(f"input {text!r} is not of the form CxHxW (e.g. 1x28x28)")
        return cls(*(int(p) for p in match.groups()))

    @classmethod
    def from_list(cls, values: Any) -> InputSpec:
        if not isinstance(values, list | tuple) or len(values) != 3:
            raise ConfigError(f"input must be a list [C, H, W], got {values!r}")
        return cls(*values)

    def as_tuple(self) -> tuple[int, int, int]:
        return (self.channels, self.height, self.width)

    def __str__(self) -> str:
        return f"{self.channels}x{self.height}x{self.width}"


@dataclass(frozen=True)
class LeNetSpec:
    """The textbook LeNet-5: sigmoid activations and average pooling."""

    family: ClassVar[str] = "lenet"
    classes: int = 10

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", check_int("classes", self.classes, 2, limits.MAX_CLASSES))


@dataclass(frozen=True)
class AlexNetSpec:
    """The textbook's single-tower AlexNet (96-256-384-384-256 channels, two FC layers with dropout)."""

    family: ClassVar[str] = "alexnet"
    classes: int = 10
    fc_width: int = 4096
    dropout: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", check_int("classes", self.classes, 2, limits.MAX_CLASSES))
        object.__setattr__(self, "fc_width", check_int("FC width", self.fc_width, 1, limits.MAX_FC_WIDTH))
        object.__setattr__(self, "dropout", _check_dropout(self.dropout))


@dataclass(frozen=True)
class VGGSpec:
    """VGG as blocks of (num_convs, out_channels) 3x3 convolutions, each block ending in a 2x2 max-pool."""

    family: ClassVar[str] = "vgg"
    blocks: tuple[tuple[int, int], ...] = VGG_BLOCKS["vgg11"]
    width_divisor: int = 1
    fc_width: int = 4096
    batch_norm: bool = False
    dropout: float = 0.5
    classes: int = 10

    def __post_init__(self) -> None:
        blocks = self.blocks
        if not isinstance(blocks, list | tuple) or not blocks:
            raise ConfigError(f"VGG needs a non-empty list of blocks, got {blocks!r}")
        if len(blocks) > limits.MAX_BLOCKS:
            raise ConfigError(f"VGG has {len(blocks)} blocks; cnnlab caps it at {limits.MAX_BLOCKS}")
        divisor = check_int("width divisor", self.width_divisor, 1, limits.MAX_WIDTH_DIVISOR)
        checked = []
        for i, block in enumerate(blocks, 1):
            if not isinstance(block, list | tuple) or len(block) != 2:
                raise ConfigError(f"VGG block {i} must be a pair (num_convs, out_channels), got {block!r}")
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
        object.__setattr__(self, "batch_norm", _check_bool("batch norm", self.batch_norm))
        object.__setattr__(self, "dropout", _check_dropout(self.dropout))
        object.__setattr__(self, "classes", check_int("classes", self.classes, 2, limits.MAX_CLASSES))

    def scaled_blocks(self) -> tuple[tuple[int, int], ...]:
        """Blocks with the width divisor applied (the textbook's `small_conv_arch`)."""
        return tuple((n, c // self.width_divisor) for n, c in self.blocks)


@dataclass(frozen=True)
class ResNetSpec:
    """ResNet-18/34 (basic blocks) or ResNet-50 (bottlenecks), with an ImageNet or a CIFAR stem."""

    family: ClassVar[str] = "resnet"
    depth: int = 18
    stem: str = "imagenet"
    width_divisor: int = 1
    classes: int = 10

    def __post_init__(self) -> None:
        if type(self.depth) is not int or self.depth not in RESNET_DEPTHS:
            raise ConfigError(f"ResNet depth must be one of {', '.join(map(str, RESNET_DEPTHS))}, "
                              f"got {self.depth!r}")
        if self.stem not in RESNET_STEMS:
            raise ConfigError(f"ResNet stem must be 'imagenet' or 'cifar', got {self.stem!r}")
        object.__setattr__(self, "width_divisor",
                           check_int("width divisor", self.width_divisor, 1, limits.MAX_WIDTH_DIVISOR))
        if 64 // self.width_divisor < 1:
            raise ConfigError(f"width divisor {self.width_divisor} leaves ResNet's 64-channel stem "
                              "with no channel")
        object.__setattr__(self, "classes", check_int("classes", self.classes, 2, limits.MAX_CLASSES))


ArchSpec = LeNetSpec | AlexNetSpec | VGGSpec | ResNetSpec
SPEC_TYPES: dict[str, type] = {cls.family: cls for cls in (LeNetSpec, AlexNetSpec, VGGSpec, ResNetSpec)}

PRESETS: dict[str, ArchSpec] = {
    "lenet": LeNetSpec(),
    "alexnet": AlexNetSpec(),
    **{name: VGGSpec(blocks=blocks) for name, blocks in VGG_BLOCKS.items()},
    **{f"resnet{d}": ResNetSpec(depth=d) for d in RESNET_DEPTHS},
}

# The textbook's default input per family (single-channel Fashion-MNIST, resized for AlexNet/VGG).
DEFAULT_INPUTS: dict[str, InputSpec] = {
    "lenet": InputSpec(1, 28, 28),
    "alexnet": InputSpec(1, 224, 224),
    "vgg": InputSpec(1, 224, 224),
    "resnet": InputSpec(3, 224, 224),
}

# ASCII digits only, and at most nine of them: larger numbers exceed every cap anyway.
_VGG_BLOCK = re.compile(r"^\s*([0-9]{1,9})\s*[x×]\s*([0-9]{1,9})\s*$")
_INPUT = re.compile(r"^\s*([0-9]{1,9})\s*[x×]\s*([0-9]{1,9})\s*[x×]\s*([0-9]{1,9})\s*$")


def parse_vgg_blocks(text: str) -> tuple[tuple[int, int], ...]:
    """Parse '1x64,1x128,2x256' into ((1, 64), (1, 128), (2, 256))."""
    tokens = [t for t in str(text).split(",")]
    if not str(text).strip():
        raise ConfigError("VGG needs at least one block, e.g. vgg:1x64,1x128")
    blocks = []
    for i, token in enumerate(tokens, 1):
        match = _VGG_BLOCK.match(token)
        if not match:
            raise ConfigError(f"VGG block {i} {token.strip()!r} is not of the form "
                              "NUM_CONVSxOUT_CHANNELS (e.g. 2x256)")
        blocks.append((int(match.group(1)), int(match.group(2))))
    return tuple(blocks)


def format_vgg_blocks(blocks: tuple[tuple[int, int], ...]) -> str:
    return ",".join(f"{n}x{c}" for n, c in blocks)


def parse_model(name: str) -> ArchSpec:
    """A preset name ('vgg16', 'resnet50', ...) or a VGG block string ('vgg:1x64,2x128')."""
    key = str(name).strip().lower()
    if key.startswith("vgg:"):
        return VGGSpec(blocks=parse_vgg_blocks(key[4:]))
    if key in PRESETS:
        return PRESETS[key]
    raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(PRESETS)} "
                      "or give VGG blocks as vgg:1x64,1x128,...")


def model_name(spec: ArchSpec) -> str:
    """A short name: the preset's when the spec's structure is a preset, else the VGG block string."""
    if isinstance(spec, VGGSpec):
        for name, blocks in VGG_BLOCKS.items():
            if blocks == spec.blocks:
                return name
        return "vgg:" + format_vgg_blocks(spec.blocks)
    if isinstance(spec, ResNetSpec):
        return f"resnet{spec.depth}"
    return spec.family


def with_options(spec: ArchSpec, **options: Any) -> ArchSpec:
    """Return `spec` with the given fields changed (None values are ignored).

    An option that the family does not have is an error naming both.
    """
    given = {k: v for k, v in options.items() if v is not None}
    known = {f.name for f in fields(spec)}
    for key in given:
        if key not in known:
            raise ConfigError(f"option {key.replace('_', '-')!r} does not apply to {spec.family}; "
                              f"it takes {', '.join(sorted(k.replace('_', '-') for k in known))}")
    return replace(spec, **given) if given else spec


def spec_to_dict(spec: ArchSpec) -> dict[str, Any]:
    data = asdict(spec)
    if isinstance(spec, VGGSpec):
        data["blocks"] = [list(b) for b in spec.blocks]
    return {"family": spec.family, **data}


def spec_from_dict(data: Any) -> ArchSpec:
    """Inverse of `spec_to_dict`; every field is validated and unknown fields are rejected."""
    if not isinstance(data, dict):
        raise ConfigError(f"an architecture spec must be a JSON object, got {type(data).__name__}")
    family = data.get("family")
    if not isinstance(family, str) or family not in SPEC_TYPES:
        raise ConfigError(f"unknown architecture family {family!r}; expected one of {', '.join(SPEC_TYPES)}")
    cls = SPEC_TYPES[family]
    known = {f.name for f in fields(cls)}
    extra = sorted(set(data) - known - {"family"})
    if extra:
        raise ConfigError(f"unknown {family} field(s): {', '.join(extra)}")
    values = {k: v for k, v in data.items() if k != "family"}
    if "blocks" in values and isinstance(values["blocks"], list):
        values["blocks"] = tuple(tuple(b) if isinstance(b, list) else b for b in values["blocks"])
    return cls(**values)


@dataclass(frozen=True)
class ModelConfig:
    """What a summary or a run is about: an architecture and the input it sees."""

    arch: ArchSpec
    input: InputSpec

    @property
    def name(self) -> str:
        return model_name(self.arch)

    def to_dict(self) -> dict[str, Any]:
        return {"arch": spec_to_dict(self.arch), "input": list(self.input.as_tuple())}

    @classmethod
    def from_dict(cls, data: Any) -> ModelConfig:
        if not isinstance(data, dict) or set(data) != {"arch", "input"}:
            raise ConfigError("a model config must be a JSON object with exactly the keys 'arch' and 'input'")
        return cls(spec_from_dict(data["arch"]), InputSpec.from_list(data["input"]))


def model_config(model: str | ArchSpec, input: str | InputSpec | None = None, **options: Any) -> ModelConfig:
    """Build a ModelConfig from a model name or spec, an optional 'CxHxW' input and family options.

    This is the one entry point the CLI and the dashboard share.
    """
    spec = parse_model(model) if isinstance(model, str) else model
    spec = with_options(spec, **options)
    if input is None:
        shape = DEFAULT_INPUTS[spec.family]
    elif isinstance(input, InputSpec):
        shape = input
    else:
        shape = InputSpec.parse(input)
    return ModelConfig(spec, shape)
