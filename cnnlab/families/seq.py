"""`seq`: any plain chain of layers, in a compact string form.

    seq:c5-6p2,sig,a2,c5-16,sig,a2,fc120,sig,fc84,sig,fc10          (LeNet-5)

Tokens: `c{k}-{out}` a k×k convolution (suffixes `s{n}` stride, `p{n}`/`psame` padding, `d{n}`
dilation, `g{n}` groups, `nb` no bias); `m{k}`/`a{k}` max/average pooling (suffixes `s{n}`, `p{n}`,
`ceil`); `bn`, `relu`, `sig`, `tanh`, `drop{p}`, `gap` (global average pooling), `flat`, `fc{n}`.
The final `fc{classes}` is the classifier: a string's last `fc` sets the classes, and without one
the classes option adds it. A linear layer after a spatial map flattens it first.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from torch import nn

from cnnlab import limits
from cnnlab.checks import check_bool, check_fraction, check_int
from cnnlab.errors import ConfigError
from cnnlab.families.family import Family, SpecData
from cnnlab.families.options import CLASSES
from cnnlab.inputs import InputSpec
from cnnlab.pycode import sequential_code

# The arguments each kind of layer takes (the others keep their defaults).
ARGS: dict[str, tuple[str, ...]] = {
    "conv": ("kernel", "out", "stride", "padding", "dilation", "groups", "bias"),
    "max": ("kernel", "stride", "padding", "ceil"),
    "avg": ("kernel", "stride", "padding", "ceil"),
    "bn": (), "relu": (), "sig": (), "tanh": (),
    "drop": ("p",),
    "gap": (), "flat": (),
    "fc": ("out",),
}
KIND_NAMES = {"conv": "conv", "max": "max-pool", "avg": "average-pool", "bn": "batch norm", "relu": "ReLU",
              "sig": "sigmoid", "tanh": "tanh", "drop": "dropout", "gap": "global average pool",
              "flat": "flatten", "fc": "linear"}
# Module names in the built network: a counter per name (LeNet's and AlexNet's own names).
MODULE_NAMES = {"conv": "conv", "max": "pool", "avg": "pool", "bn": "bn", "relu": "relu", "sig": "sigmoid",
                "tanh": "tanh", "drop": "dropout", "gap": "gap", "fc": "fc"}
GRAMMAR = ("c{k}-{out}[s{n}][p{n}|psame][d{n}][g{n}][nb], m{k}|a{k}[s{n}][p{n}][ceil], bn, relu, sig, "
           "tanh, drop{p}, gap, flat, fc{n}")

_N = "[0-9]{1,9}"
_CONV = re.compile(rf"c({_N})-({_N})(.*)")
_POOL = re.compile(rf"([ma])({_N})(.*)")
_DROP = re.compile(r"drop([0-9]{0,9}\.?[0-9]{1,9})")
_FC = re.compile(rf"fc({_N})")
_SUFFIXES = re.compile(rf"(?:nb|ceil|psame|[spdg]{_N})*")
_SUFFIX = re.compile(rf"nb|ceil|psame|[spdg]{_N}")
_SUFFIX_NAMES = {"s": "stride", "p": "padding", "d": "dilation", "g": "groups", "nb": "nb", "ceil": "ceil"}
_ALLOWED = {"conv": {"s", "p", "d", "g", "nb"}, "max": {"s", "p", "ceil"}, "avg": {"s", "p", "ceil"}}


@dataclass(frozen=True)
class Layer:
    """One layer of a `seq` network. `stride` None means the default (1; a pool's kernel)."""

    kind: str
    kernel: int = 0
    out: int = 0
    stride: int | None = None
    padding: int | str = 0
    dilation: int = 1
    groups: int = 1
    bias: bool = True
    ceil: bool = False
    p: float = 0.5

    def __post_init__(self) -> None:
        if self.kind not in ARGS:
            raise ConfigError(f"unknown layer type {self.kind!r}; expected one of {', '.join(ARGS)}")
        args = ARGS[self.kind]
        defaults = {f.name: f.default for f in fields(self) if f.name != "kind" and f.name not in args}
        for name, value in defaults.items():
            object.__setattr__(self, name, value)
        spatial = self.kind in ("conv", "max", "avg")
        if spatial:
            self._set("kernel", check_int("kernel", self.kernel, 1, limits.MAX_KERNEL))
            default = 1 if self.kind == "conv" else self.kernel
            stride = default if self.stride is None else self.stride
            self._set("stride", check_int("stride", stride, 1, limits.MAX_STRIDE))
            if self.padding == "same":
                if self.kind != "conv" or self.stride != 1:
                    raise ConfigError("padding 'same' needs a convolution of stride 1")
            else:
                self._set("padding", check_int("padding", self.padding, 0, limits.MAX_PADDING))
        if self.kind == "conv":
            self._set("out", check_int("output channels", self.out, 1, limits.MAX_CHANNELS))
            self._set("dilation", check_int("dilation", self.dilation, 1, limits.MAX_DILATION))
            self._set("groups", check_int("groups", self.groups, 1, limits.MAX_CHANNELS))
            self._set("bias", check_bool("bias", self.bias))
            if self.out % self.groups:
                raise ConfigError(f"groups {self.groups} does not divide the {self.out} output channels")
        if self.kind in ("max", "avg"):
            self._set("ceil", check_bool("ceil", self.ceil))
            if self.padding > self.kernel // 2:
                raise ConfigError(f"padding {self.padding} is more than half the kernel {self.kernel}")
        if self.kind == "fc":
            # the classifier is an fc layer too: its width is the classes
            self._set("out", check_int("output features", self.out, 1,
                                       max(limits.MAX_FC_WIDTH, limits.MAX_CLASSES)))
        if self.kind == "drop":
            self._set("p", check_fraction("dropout", self.p))

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def token(self) -> str:
        """The layer in the string form (the inverse of `parse_layer`)."""
        if self.kind == "conv":
            text = f"c{self.kernel}-{self.out}"
        elif self.kind in ("max", "avg"):
            text = f"{self.kind[0]}{self.kernel}"
        elif self.kind == "drop":
            return f"drop{decimal(self.p)}"
        elif self.kind == "fc":
            return f"fc{self.out}"
        else:
            return self.kind
        default_stride = 1 if self.kind == "conv" else self.kernel
        text += f"s{self.stride}" if self.stride != default_stride else ""
        text += f"p{self.padding}" if self.padding else ""
        text += f"d{self.dilation}" if self.dilation != 1 else ""
        text += f"g{self.groups}" if self.groups != 1 else ""
        text += "" if self.bias else "nb"
        return text + ("ceil" if self.ceil else "")

    def describe(self) -> str:
        """'conv 5×5', 'max-pool 2×2', 'linear 120', 'dropout 0.5', 'ReLU'."""
        name = KIND_NAMES[self.kind]
        if self.kind in ("conv", "max", "avg"):
            return f"{name} {self.kernel}×{self.kernel}"
        if self.kind == "fc":
            return f"{name} {self.out}"
        if self.kind == "drop":
            return f"{name} {decimal(self.p)}"
        return name


def decimal(value: float) -> str:
    """A fraction in plain decimals, as the grammar writes it: 0.5, 0.05, 0."""
    return f"{value:.15f}".rstrip("0").rstrip(".")


def parse_layer(token: str) -> Layer:
    """One token ('c3-64p1', 'm2', 'relu', 'fc10', ...) as a Layer; ConfigError says what is wrong."""
    text = token.strip().lower()
    if not text:
        raise ConfigError("empty layer (a trailing or doubled comma?)")
    if text in ("bn", "relu", "sig", "tanh", "gap", "flat"):
        return Layer(text)
    if match := _FC.fullmatch(text):
        return Layer("fc", out=int(match.group(1)))
    if match := _DROP.fullmatch(text):
        return Layer("drop", p=float(match.group(1)))
    if match := _CONV.fullmatch(text):
        return Layer("conv", kernel=int(match.group(1)), out=int(match.group(2)),
                     **_suffixes("conv", match.group(3)))
    if match := _POOL.fullmatch(text):
        kind = "max" if match.group(1) == "m" else "avg"
        return Layer(kind, kernel=int(match.group(2)), **_suffixes(kind, match.group(3)))
    raise ConfigError(f"{token.strip()!r} is not a layer; expected one of {GRAMMAR}")


def _suffixes(kind: str, text: str) -> dict[str, Any]:
    """The suffixes of a conv or pool token ('s2p1', 'psame', 'nb', 'ceil') as Layer arguments."""
    if not _SUFFIXES.fullmatch(text):
        raise ConfigError(f"{KIND_NAMES[kind]} suffix {text!r} is not understood; expected {GRAMMAR}")
    args: dict[str, Any] = {}
    for suffix in _SUFFIX.findall(text):
        key = suffix if suffix in ("nb", "ceil") else suffix[0]
        if key not in _ALLOWED[kind]:
            raise ConfigError(f"a {KIND_NAMES[kind]} takes no {_SUFFIX_NAMES[key]!r} suffix")
        name = "bias" if key == "nb" else _SUFFIX_NAMES[key]
        if name in args:
            raise ConfigError(f"{_SUFFIX_NAMES[key]} is given twice")
        args[name] = (False if key == "nb" else True if key == "ceil"
                      else "same" if suffix == "psame" else int(suffix[1:]))
    return args


def _at(position: int, count: int, what: str, error: ConfigError) -> ConfigError:
    return ConfigError(f"layer {position} of {count} ({what}): {error}")


@dataclass(frozen=True)
class SeqSpec(SpecData):
    """A chain of layers, then the classifier `fc{classes}`."""

    family: ClassVar[str] = "seq"
    layers: tuple[Layer, ...] = ()
    classes: int = 10

    def __post_init__(self) -> None:
        if not isinstance(self.layers, tuple) or not all(isinstance(x, Layer) for x in self.layers):
            raise ConfigError("seq layers must be a tuple of Layer")
        if len(self.layers) + 1 > limits.MAX_LAYERS:
            raise ConfigError(f"seq has {len(self.layers) + 1} layers; cnnlab caps it at {limits.MAX_LAYERS}")
        object.__setattr__(self, "classes", check_int("classes", self.classes, 2, limits.MAX_CLASSES))

    @classmethod
    def parse(cls, text: str) -> SeqSpec:
        """The string form (without 'seq:'); a last `fc{n}` sets the classes."""
        tokens = str(text).split(",")
        if not str(text).strip():
            raise ConfigError(f"seq needs at least one layer, e.g. seq:c3-8p1,relu,m2,fc10 ({GRAMMAR})")
        if len(tokens) > limits.MAX_LAYERS:
            raise ConfigError(f"seq has {len(tokens)} layers; cnnlab caps it at {limits.MAX_LAYERS}")
        layers = []
        for i, token in enumerate(tokens, 1):
            try:
                layers.append(parse_layer(token))
            except ConfigError as exc:
                raise _at(i, len(tokens), repr(token.strip()), exc) from None
        if layers[-1].kind == "fc":
            classes = layers.pop().out
            try:
                return cls(tuple(layers), check_int("classes", classes, 2, limits.MAX_CLASSES))
            except ConfigError as exc:
                raise _at(len(tokens), len(tokens), f"fc{classes}", exc) from None
        return cls(tuple(layers))

    def text(self) -> str:
        """The string form, classifier included (the inverse of `parse`)."""
        return ",".join([*(layer.token() for layer in self.layers), f"fc{self.classes}"])

    def to_data(self) -> dict[str, Any]:
        return {"layers": [layer.token() for layer in self.layers], "classes": self.classes}

    @classmethod
    def from_data(cls, values: dict[str, Any]) -> SeqSpec:
        tokens = values.get("layers", [])
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise ConfigError("seq layers must be a list of layer strings such as \"c3-64p1\"")
        layers = []
        for i, token in enumerate(tokens, 1):
            try:
                layers.append(parse_layer(token))
            except ConfigError as exc:
                raise _at(i, len(tokens) + 1, repr(token), exc) from None
        return cls(tuple(layers), **{k: v for k, v in values.items() if k != "layers"})


class _TooSmall(ConfigError):
    """A map smaller than a layer's kernel: a larger input may fix it."""


def output_shapes(spec: SeqSpec, inp: InputSpec) -> list[tuple[int, ...]]:
    """Each layer's output shape (C, H, W) or (features,), classifier included, by the layers'
    arithmetic; a layer that cannot take its input raises a ConfigError naming it (and, for a map too
    small, the smallest square input the network takes)."""
    try:
        return _shapes(spec, inp.as_tuple())
    except _TooSmall as exc:
        side = next((n for n in range(max(inp.height, inp.width) + 1, limits.MAX_INPUT_SIDE + 1)
                     if _fits(spec, (inp.channels, n, n))), None)
        hint = f"; this network needs at least {side}×{side}" if side else ""
        raise ConfigError(f"{exc}{hint}") from None


def _fits(spec: SeqSpec, shape: tuple[int, int, int]) -> bool:
    try:
        _shapes(spec, shape)
    except ConfigError:
        return False
    return True


def _shapes(spec: SeqSpec, shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    flattened_by = ""
    layers = [*spec.layers, Layer("fc", out=spec.classes)]
    shapes = []
    for i, layer in enumerate(layers, 1):
        try:
            shape = _next_shape(layer, shape, flattened_by)
        except _TooSmall as exc:
            raise _TooSmall(_at(i, len(layers), layer.describe(), exc)) from None
        except ConfigError as exc:
            raise _at(i, len(layers), layer.describe(), exc) from None
        if len(shape) == 1 and not flattened_by:
            flattened_by = f"layer {i} ({layer.describe()})"
        shapes.append(shape)
    return shapes


def _next_shape(layer: Layer, shape: tuple[int, ...], flattened_by: str) -> tuple[int, ...]:
    kind = layer.kind
    if kind in ("conv", "max", "avg", "gap", "flat") and len(shape) == 1:
        raise ConfigError(f"needs a spatial map, but {flattened_by} flattened it to {shape[0]} features")
    if kind == "fc":
        return (layer.out,)
    if kind == "flat":
        return (math.prod(shape),)
    if kind == "gap":
        return (shape[0], 1, 1)
    if kind not in ("conv", "max", "avg"):
        return shape
    c, h, w = shape
    if kind == "conv":
        if c % layer.groups:
            raise ConfigError(f"groups {layer.groups} does not divide the {c} input channels")
        if layer.padding == "same":
            return (layer.out, h, w)
        reach = layer.dilation * (layer.kernel - 1) + 1
        out = layer.out
    else:
        reach, out = layer.kernel, c
    pad = layer.padding
    if min(h, w) + 2 * pad < reach:
        padded = f" (padded by {pad})" if pad else ""
        raise _TooSmall(f"input map {h}×{w}{padded} is smaller than the kernel"
                          + (f" (dilated to {reach}×{reach})" if reach != layer.kernel else ""))
    return (out, *(_side(n, reach, layer) for n in (h, w)))


def _side(n: int, reach: int, layer: Layer) -> int:
    stride, pad = layer.stride or 1, int(layer.padding)
    if not layer.ceil:
        return (n + 2 * pad - reach) // stride + 1
    out = -(-(n + 2 * pad - reach) // stride) + 1
    return out - 1 if (out - 1) * stride >= n + pad else out  # PyTorch: the last window starts inside


def build_seq(spec: SeqSpec, inp: InputSpec) -> nn.Sequential:
    """The layers as one nn.Sequential, named per kind (conv1, relu1, pool1, ..., flatten, fc1)."""
    shapes = output_shapes(spec, inp)
    layers = [*spec.layers, Layer("fc", out=spec.classes)]
    modules: list[tuple[str, nn.Module]] = []
    counts: dict[str, int] = {}
    shape: tuple[int, ...] = inp.as_tuple()
    for layer, out in zip(layers, shapes, strict=True):
        if layer.kind == "fc" and len(shape) == 3:
            modules.append(("flatten", nn.Flatten()))
            shape = (math.prod(shape),)
        if layer.kind == "flat":
            modules.append(("flatten", nn.Flatten()))
        else:
            name = MODULE_NAMES[layer.kind]
            counts[name] = counts.get(name, 0) + 1
            modules.append((f"{name}{counts[name]}", _module(layer, shape)))
        shape = out
    return nn.Sequential(OrderedDict(modules))


def _module(layer: Layer, shape: tuple[int, ...]) -> nn.Module:
    kind = layer.kind
    if kind == "conv":
        return nn.Conv2d(shape[0], layer.out, layer.kernel, stride=layer.stride, padding=layer.padding,
                         dilation=layer.dilation, groups=layer.groups, bias=layer.bias)
    if kind == "max":
        return nn.MaxPool2d(layer.kernel, stride=layer.stride, padding=layer.padding, ceil_mode=layer.ceil)
    if kind == "avg":
        return nn.AvgPool2d(layer.kernel, stride=layer.stride, padding=layer.padding, ceil_mode=layer.ceil)
    if kind == "bn":
        return nn.BatchNorm2d(shape[0]) if len(shape) == 3 else nn.BatchNorm1d(shape[0])
    if kind == "fc":
        return nn.Linear(shape[0], layer.out)
    if kind == "drop":
        return nn.Dropout(layer.p)
    if kind == "gap":
        return nn.AdaptiveAvgPool2d(1)
    return {"relu": nn.ReLU(inplace=True), "sig": nn.Sigmoid(), "tanh": nn.Tanh()}[kind]


FAMILY = Family(
    name="seq", label="Layers (seq)", spec=SeqSpec, build=build_seq, default_input=InputSpec(1, 28, 28),
    presets={}, options=(CLASSES,),
    name_of=lambda spec: "seq:" + spec.text(),
    model_help="seq:LAYERS, e.g. seq:c5-6p2,sig,a2,c5-16,sig,a2,fc120,sig,fc84,sig,fc10 "
               f"(layers: {GRAMMAR})",
    parse=SeqSpec.parse, to_seq=lambda spec: spec,
    code=sequential_code("Net", "A plain chain of layers."),
)
