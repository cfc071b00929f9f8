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
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from torch import nn

from cnnlab import limits
from cnnlab.checks import check_bool, check_fraction, check_int
from cnnlab.errors import ConfigError, quoted
from cnnlab.families.family import Family, SpecData
from cnnlab.families.options import CLASSES
from cnnlab.inputs import InputSpec
from cnnlab.pycode import sequential_code

Shape = tuple[int, ...]  # a layer's output per sample: (C, H, W) or (features,)


@dataclass(frozen=True)
class LayerKind:
    """One kind of `seq` layer: all that the grammar, the layer table, the shape arithmetic and the
    builder know of it.

    `token` is the head of its string form (`c{kernel}-{out}`, `m{kernel}`, `relu`), followed by the
    `suffixes` it takes; `args` are the `Layer` fields it uses (the others keep their defaults);
    `takes` says what it needs: `map` (C×H×W), `features` (a map is flattened first) or `any`;
    `module` names the built module (`{n}` counts the layers so named: conv1, conv2, ...) and `make`
    makes it from the layer and its input shape; `next_shape` gives its output shape (a ConfigError if
    it cannot take its input); `check` validates its arguments; a pool's left-out stride is its kernel.
    """

    label: str
    token: str
    args: tuple[str, ...]
    suffixes: tuple[str, ...]
    takes: str
    module: str
    make: Callable[[Layer, Shape], nn.Module]
    next_shape: Callable[[Layer, Shape], Shape]
    check: Callable[[Layer], None] = lambda layer: None
    stride_is_kernel: bool = False

    def default_stride(self, layer: Layer) -> int:
        return layer.kernel if self.stride_is_kernel else 1


@dataclass(frozen=True)
class Suffix:
    """A suffix of a conv or pool token: `s2` sets `stride`; a flag (`nb`, `ceil`) sets a boolean."""

    key: str
    arg: str
    flag: bool = False

    @property
    def name(self) -> str:
        """How messages call it: the argument, or the flag as written."""
        return self.key if self.flag else self.arg


SUFFIXES = {s.key: s for s in (Suffix("s", "stride"), Suffix("p", "padding"), Suffix("d", "dilation"),
                               Suffix("g", "groups"), Suffix("nb", "bias", flag=True),
                               Suffix("ceil", "ceil", flag=True))}
GRAMMAR = ("c{k}-{out}[s{n}][p{n}|psame][d{n}][g{n}][nb], m{k}|a{k}[s{n}][p{n}][ceil], bn, relu, sig, "
           "tanh, drop{p}, gap, flat, fc{n}")

_N = "[0-9]{1,9}"
_VALUES = {"kernel": (_N, int), "out": (_N, int), "p": (r"[0-9]{0,9}\.?[0-9]{1,9}", float)}
_SUFFIXES = re.compile(rf"(?:nb|ceil|psame|[spdg]{_N})*")
_SUFFIX = re.compile(rf"nb|ceil|psame|[spdg]{_N}")


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
        if self.kind not in KINDS:
            raise ConfigError(f"unknown layer type {quoted(self.kind)}; expected one of {', '.join(KINDS)}")
        for name, default in _FIELD_DEFAULTS.items():
            if name not in KINDS[self.kind].args:
                self._set(name, default)
        KINDS[self.kind].check(self)

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def token(self) -> str:
        """The layer in the string form (the inverse of `parse_layer`)."""
        kind = KINDS[self.kind]
        text = kind.token.format(kernel=self.kernel, out=self.out, p=decimal(self.p))
        for key in kind.suffixes:
            suffix = SUFFIXES[key]
            value = getattr(self, suffix.arg)
            if value != (kind.default_stride(self) if key == "s" else _FIELD_DEFAULTS[suffix.arg]):
                text += key if suffix.flag else f"{key}{value}"
        return text

    def describe(self) -> str:
        """'conv 5×5', 'max-pool 2×2', 'linear 120', 'dropout 0.5', 'ReLU'."""
        kind = KINDS[self.kind]
        if "kernel" in kind.args:
            return f"{kind.label} {self.kernel}×{self.kernel}"
        if "out" in kind.args:
            return f"{kind.label} {self.out}"
        if "p" in kind.args:
            return f"{kind.label} {decimal(self.p)}"
        return kind.label


_FIELD_DEFAULTS = {f.name: f.default for f in fields(Layer) if f.name != "kind"}  # an argument left out


def _check_window(layer: Layer, same: bool) -> None:
    """Kernel, stride and padding of a convolution (`same`: it may pad to keep the size) or a pool."""
    layer._set("kernel", check_int("kernel", layer.kernel, 1, limits.MAX_KERNEL))
    stride = KINDS[layer.kind].default_stride(layer) if layer.stride is None else layer.stride
    layer._set("stride", check_int("stride", stride, 1, limits.MAX_STRIDE))
    if layer.padding == "same":
        if not same or layer.stride != 1:
            raise ConfigError("padding 'same' needs a convolution of stride 1")
    else:
        layer._set("padding", check_int("padding", layer.padding, 0, limits.MAX_PADDING))


def _check_conv(layer: Layer) -> None:
    _check_window(layer, same=True)
    layer._set("out", check_int("output channels", layer.out, 1, limits.MAX_CHANNELS))
    layer._set("dilation", check_int("dilation", layer.dilation, 1, limits.MAX_DILATION))
    layer._set("groups", check_int("groups", layer.groups, 1, limits.MAX_CHANNELS))
    layer._set("bias", check_bool("bias", layer.bias))
    if layer.out % layer.groups:
        raise ConfigError(f"groups {layer.groups} does not divide the {layer.out} output channels")


def _check_pool(layer: Layer) -> None:
    _check_window(layer, same=False)
    layer._set("ceil", check_bool("ceil", layer.ceil))
    if layer.padding > layer.kernel // 2:
        raise ConfigError(f"padding {layer.padding} is more than half the kernel {layer.kernel}")


def _check_fc(layer: Layer) -> None:
    # the classifier is an fc layer too: its width is the classes
    layer._set("out", check_int("output features", layer.out, 1,
                                max(limits.MAX_FC_WIDTH, limits.MAX_CLASSES)))


def _check_drop(layer: Layer) -> None:
    layer._set("p", check_fraction("dropout", layer.p))


def _conv_shape(layer: Layer, shape: Shape) -> Shape:
    c, h, w = shape
    if c % layer.groups:
        raise ConfigError(f"groups {layer.groups} does not divide the {c} input channels")
    if layer.padding == "same":
        return (layer.out, h, w)
    return (layer.out, *_window_sides(layer, h, w, layer.dilation * (layer.kernel - 1) + 1))


def _pool_shape(layer: Layer, shape: Shape) -> Shape:
    c, h, w = shape
    return (c, *_window_sides(layer, h, w, layer.kernel))


def _window_sides(layer: Layer, h: int, w: int, reach: int) -> tuple[int, int]:
    pad = layer.padding
    if min(h, w) + 2 * pad < reach:
        padded = f" (padded by {pad})" if pad else ""
        raise _TooSmall(f"input map {h}×{w}{padded} is smaller than the kernel"
                          + (f" (dilated to {reach}×{reach})" if reach != layer.kernel else ""))
    return _side(h, reach, layer), _side(w, reach, layer)


def _same(layer: Layer, shape: Shape) -> Shape:
    return shape


def _pool(module: type[nn.MaxPool2d | nn.AvgPool2d]) -> Callable[[Layer, Shape], nn.Module]:
    return lambda layer, shape: module(layer.kernel, stride=layer.stride, padding=layer.padding,
                                       ceil_mode=layer.ceil)


_WINDOW = ("kernel", "stride", "padding")
KINDS: dict[str, LayerKind] = {
    "conv": LayerKind(
        "conv", "c{kernel}-{out}", ("kernel", "out", "stride", "padding", "dilation", "groups", "bias"),
        ("s", "p", "d", "g", "nb"), "map", "conv{n}",
        lambda layer, shape: nn.Conv2d(shape[0], layer.out, layer.kernel, stride=layer.stride,
                                       padding=layer.padding, dilation=layer.dilation, groups=layer.groups,
                                       bias=layer.bias),
        _conv_shape, _check_conv),
    "max": LayerKind("max-pool", "m{kernel}", (*_WINDOW, "ceil"), ("s", "p", "ceil"), "map", "pool{n}",
                     _pool(nn.MaxPool2d), _pool_shape, _check_pool, stride_is_kernel=True),
    "avg": LayerKind("average-pool", "a{kernel}", (*_WINDOW, "ceil"), ("s", "p", "ceil"), "map", "pool{n}",
                     _pool(nn.AvgPool2d), _pool_shape, _check_pool, stride_is_kernel=True),
    "bn": LayerKind("batch norm", "bn", (), (), "any", "bn{n}",
                    lambda layer, shape: (nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d)(shape[0]),
                    _same),
    "relu": LayerKind("ReLU", "relu", (), (), "any", "relu{n}", lambda layer, shape: nn.ReLU(inplace=True),
                      _same),
    "sig": LayerKind("sigmoid", "sig", (), (), "any", "sigmoid{n}", lambda layer, shape: nn.Sigmoid(), _same),
    "tanh": LayerKind("tanh", "tanh", (), (), "any", "tanh{n}", lambda layer, shape: nn.Tanh(), _same),
    "drop": LayerKind("dropout", "drop{p}", ("p",), (), "any", "dropout{n}",
                      lambda layer, shape: nn.Dropout(layer.p), _same, _check_drop),
    "gap": LayerKind("global average pool", "gap", (), (), "map", "gap{n}",
                     lambda layer, shape: nn.AdaptiveAvgPool2d(1), lambda layer, shape: (shape[0], 1, 1)),
    "flat": LayerKind("flatten", "flat", (), (), "map", "flatten", lambda layer, shape: nn.Flatten(),
                      lambda layer, shape: (math.prod(shape),)),
    "fc": LayerKind("linear", "fc{out}", ("out",), (), "features", "fc{n}",
                    lambda layer, shape: nn.Linear(shape[0], layer.out), lambda layer, shape: (layer.out,),
                    _check_fc),
}


def _pattern(kind: LayerKind) -> re.Pattern[str]:
    """The token's regular expression: its head's values as named groups, then its suffixes."""
    head = re.sub(r"\{(\w+)\}", lambda m: f"(?P<{m.group(1)}>{_VALUES[m.group(1)][0]})", kind.token)
    return re.compile(head + ("(?P<suffixes>.*)" if kind.suffixes else ""))


_PATTERNS = {name: _pattern(kind) for name, kind in KINDS.items()}


def decimal(value: float) -> str:
    """A fraction in plain decimals, as the grammar writes it: 0.5, 0.05, 0."""
    return f"{value:.15f}".rstrip("0").rstrip(".")


def parse_layer(token: str) -> Layer:
    """One token ('c3-64p1', 'm2', 'relu', 'fc10', ...) as a Layer; ConfigError says what is wrong."""
    text = token.strip().lower()
    if not text:
        raise ConfigError("empty layer (a trailing or doubled comma?)")
    for name, pattern in _PATTERNS.items():
        if match := pattern.fullmatch(text):
            values = match.groupdict()
            suffixes = values.pop("suffixes", None)
            args = {k: _VALUES[k][1](v) for k, v in values.items()}
            return Layer(name, **args, **(_suffixes(name, suffixes) if suffixes is not None else {}))
    raise ConfigError(f"{quoted(token.strip())} is not a layer; expected one of {GRAMMAR}")


def _suffixes(kind: str, text: str) -> dict[str, Any]:
    """The suffixes of a conv or pool token ('s2p1', 'psame', 'nb', 'ceil') as Layer arguments."""
    label = KINDS[kind].label
    if not _SUFFIXES.fullmatch(text):
        raise ConfigError(f"{label} suffix {quoted(text)} is not understood; expected {GRAMMAR}")
    args: dict[str, Any] = {}
    for written in _SUFFIX.findall(text):
        suffix = SUFFIXES[written if written in ("nb", "ceil") else written[0]]
        if suffix.key not in KINDS[kind].suffixes:
            raise ConfigError(f"a {label} takes no {quoted(suffix.name)} suffix")
        if suffix.arg in args:
            raise ConfigError(f"{suffix.name} is given twice")
        args[suffix.arg] = (not _FIELD_DEFAULTS[suffix.arg] if suffix.flag  # a flag turns its default over
                            else "same" if written == "psame" else int(written[1:]))
    return args


def _at(position: int, count: int, what: str, error: ConfigError) -> ConfigError:
    return ConfigError(f"layer {position} of {count} ({what}): {error}")


@dataclass(frozen=True)
class SeqSpec(SpecData):
    """A chain of layers, then the classifier `fc{classes}`."""

    family: ClassVar[str] = "seq"
    layers: tuple[Layer, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.layers, tuple) or not all(isinstance(x, Layer) for x in self.layers):
            raise ConfigError("seq layers must be a tuple of Layer")
        if len(self.layers) + 1 > limits.MAX_LAYERS:
            raise ConfigError(f"seq has {len(self.layers) + 1} layers; cnnlab caps it at {limits.MAX_LAYERS}")
        super().__post_init__()

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
                return cls(tuple(layers), classes=classes)
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


def _next_shape(layer: Layer, shape: Shape, flattened_by: str) -> Shape:
    kind = KINDS[layer.kind]
    if kind.takes == "map" and len(shape) == 1:
        raise ConfigError(f"needs a spatial map, but {flattened_by} flattened it to {shape[0]} features")
    return kind.next_shape(layer, shape if kind.takes != "features" else (math.prod(shape),))


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
    shape: Shape = inp.as_tuple()
    for layer, out in zip(layers, shapes, strict=True):
        kind = KINDS[layer.kind]
        if kind.takes == "features" and len(shape) == 3:
            modules.append(("flatten", nn.Flatten()))
            shape = (math.prod(shape),)
        counts[kind.module] = counts.get(kind.module, 0) + 1
        modules.append((kind.module.format(n=counts[kind.module]), kind.make(layer, shape)))
        shape = out
    return nn.Sequential(OrderedDict(modules))


FAMILY = Family(
    name="seq", label="Layers (seq)", spec=SeqSpec, build=build_seq, default_input=InputSpec(1, 28, 28),
    presets={}, options=(CLASSES,),
    name_of=lambda spec: "seq:" + spec.text(),
    model_help="seq:LAYERS, e.g. seq:c5-6p2,sig,a2,c5-16,sig,a2,fc120,sig,fc84,sig,fc10 "
               f"(layers: {GRAMMAR})",
    parse=SeqSpec.parse, to_seq=lambda spec: spec,
    code=sequential_code("Net", "A plain chain of layers."),
)
