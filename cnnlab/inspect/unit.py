"""One unit's arithmetic: what a convolution, pooling or linear unit reads, multiplies and adds, next to the
value the layer really produced there in a forward pass.

`layer_io` runs the model once (stopping after the layer and the call that follows it) and keeps the
layer's input and output; `explain_unit` reads any unit's window, kernel, products and sums from them
without another forward, so stepping a unit across the map costs no forward pass. The sums are taken in
float64 from the float32 values the layer read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn
from torch.nn.modules.utils import _pair

from cnnlab.analysis.tracer import trace
from cnnlab.errors import ConfigError, listed, quoted
from cnnlab.inspect.images import dataset_images, default_dataset, model_input
from cnnlab.inspect.layers import _CALL
from cnnlab.inspect.subject import Subject

if TYPE_CHECKING:
    import plotly.graph_objects as go

# The layers whose units are explained, by the kind of computation a unit does.
KINDS: dict[type[nn.Module], str] = {nn.Conv2d: "conv", nn.MaxPool2d: "max pool", nn.AvgPool2d: "mean pool",
                                     nn.AdaptiveAvgPool2d: "mean pool", nn.Linear: "linear"}
# Element-wise activations: shown when one takes the layer's output as it is.
ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Mish, nn.Sigmoid, nn.Tanh,
               nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh)


@dataclass(frozen=True)
class UnitLayer:
    """One call of a convolution, pooling or linear module: its input and output shapes (no batch)."""

    name: str
    module: str
    call: int
    kind: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]

    def check(self, channel: int, unit: tuple[int, int] | None) -> tuple[int, int] | None:
        """The unit (None for a linear layer), after checking `channel` and `unit` lie in the output."""
        channels = self.output_shape[0]
        what = "output feature" if self.kind == "linear" else "channel"
        if not 0 <= channel < channels:
            raise ConfigError(f"{what} {channel} is outside {self.name}'s {channels} {what}s; they run "
                              f"from 0 to {channels - 1}")
        if self.kind == "linear":
            if unit is not None:
                raise ConfigError(f"{self.name} is a linear layer: it has no map of units; give only the "
                                  "output feature (--channel)")
            return None
        rows, cols = self.output_shape[1:]
        if unit is None:
            return (rows // 2, cols // 2)
        row, col = unit
        if not (0 <= row < rows and 0 <= col < cols):
            raise ConfigError(f"unit ({row}, {col}) is outside {self.name}'s {rows}×{cols} map; rows and "
                              f"columns run from 0 to {rows - 1} and {cols - 1}")
        return (int(row), int(col))


def unit_layers(model: nn.Module, input_shape: tuple[int, int, int]) -> list[UnitLayer]:
    """Every call of a convolution, pooling or linear module, in call order (from the traced forward)."""
    calls, _, _ = trace(model, tuple(input_shape))
    seen: Counter[str] = Counter()
    layers = []
    for call in calls:
        seen[call.name] += 1
        kind = KINDS.get(type(call.module))
        if kind is None or call.depth == 0 or call.output is None:
            continue
        name = call.name if seen[call.name] == 1 else f"{call.name} ({seen[call.name]})"
        layers.append(UnitLayer(name, call.name, seen[call.name], kind, tuple(call.input_shape),
                                tuple(call.output.shape[1:])))
    return layers


def find_unit_layer(model: nn.Module, layers: list[UnitLayer], name: str) -> UnitLayer:
    """The layer called `name`; a ConfigError says why another name is not one."""
    match = _CALL.match(name.strip())
    key = (match.group(1), int(match.group(2))) if match else (name.strip(), 1)
    for layer in layers:
        if (layer.module, layer.call) == key:
            return layer
    choices = listed([layer.name for layer in layers], 12)
    module = dict(model.named_modules()).get(key[0])
    if module is not None and key[0]:
        raise ConfigError(f"layer {quoted(name)} is a {type(module).__name__}, not a convolution, pooling or "
                          f"linear layer; those are: {choices}")
    raise ConfigError(f"the model has no layer {quoted(name)}; its convolution, pooling and linear layers "
                      f"are: {choices}")


@dataclass(frozen=True)
class LayerIO:
    """A layer's input and output on one image (batch dimension dropped), and the call that followed it."""

    layer: UnitLayer
    module: nn.Module
    input: torch.Tensor
    output: torch.Tensor
    activation: str | None  # the activation that took the output as it is, if one did
    activated: torch.Tensor | None  # its output


class _Stop(Exception):
    """Raised from a hook once the layer and the call after it have run."""


def layer_io(model: nn.Module, image: torch.Tensor, layer: UnitLayer) -> LayerIO:
    """Run `model` on one image (C×H×W, as fed) until `layer` and the module call after it have run."""
    modules = dict(model.named_modules())
    target = modules[layer.module]
    found: dict[str, object] = {}
    calls = Counter()

    def after_target(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        calls[id(module)] += 1
        if calls[id(module)] == layer.call:
            found["input"], found["output"] = args[0][0].detach().clone(), output[0].detach().clone()
            found["tensor"] = output

    def before_next(module: nn.Module, args: tuple) -> None:
        if "tensor" in found and module is not target and not any(True for _ in module.children()):
            takes_output = isinstance(module, ACTIVATIONS) and args and args[0] is found["tensor"]
            found["next"] = module if takes_output else None
            if not takes_output:
                raise _Stop

    def after_next(module: nn.Module, _args: tuple, output: torch.Tensor) -> None:
        if found.get("next") is module:
            found["activated"] = output[0].detach().clone()
            raise _Stop

    handles = [target.register_forward_hook(after_target)]
    for module in modules.values():
        handles += [module.register_forward_pre_hook(before_next), module.register_forward_hook(after_next)]
    try:
        with torch.no_grad():
            model.eval()(image.unsqueeze(0))
    except _Stop:
        pass
    finally:
        for handle in handles:
            handle.remove()
    if "input" not in found:
        raise ConfigError(f"layer {layer.name} did not run in this model's forward pass")
    activation = found.get("next")
    return LayerIO(layer, target, found["input"], found["output"],
                   type(activation).__name__ if activation is not None else None, found.get("activated"))


@dataclass(frozen=True)
class Top:
    """The input channels (or features) contributing most to a sum, by |contribution|, and the rest."""

    inputs: np.ndarray
    sums: np.ndarray
    rest: float
    rest_count: int


@dataclass(frozen=True)
class UnitComputation:
    """What one unit computes. Conv: `window` and `kernel` are n×kh×kw over the n input channels that
    feed output channel `channel` (`inputs`; a group's under groups), `products` their element-wise
    product, `channel_sums` its sum per input channel, `sum` = Σ products + `bias`. Pooling: the window of
    channel `channel`, `sum` its max (`winner` its cell) or mean. Linear: `window` the input features,
    `kernel` the weight row. `value` is the layer's real output there; `activated` the following
    activation's."""

    layer: str
    kind: str
    channel: int
    unit: tuple[int, int] | None
    inputs: np.ndarray
    window: np.ndarray
    padding: np.ndarray  # kh×kw: True where the window reads padding (conv, pools)
    rows: np.ndarray  # the input rows the window's cells read (outside 0..H-1: padding)
    cols: np.ndarray
    input_size: tuple[int, int] | None  # the layer's input map, H×W
    kernel: np.ndarray | None
    bias: float | None
    products: np.ndarray | None
    channel_sums: np.ndarray | None
    sum: float
    value: float
    winner: tuple[int, int] | None = None
    divisor: int | None = None  # a mean pool's
    activation: str | None = None
    activated: float | None = None

    def top(self, count: int = 8) -> Top:
        """The `count` inputs with the largest |sum|; the rest summed (the total stays exact)."""
        sums = self.channel_sums
        order = np.argsort(-np.abs(sums), kind="stable")[:count]
        rest = np.ones(len(sums), dtype=bool)
        rest[order] = False
        return Top(self.inputs[order], sums[order], float(sums[rest].sum()), int(rest.sum()))

    def to_dict(self, top: int = 8) -> dict:
        """The JSON form (`cnnlab explain --format json`)."""
        out = {"layer": self.layer, "kind": self.kind, "channel": self.channel,
               "unit": list(self.unit) if self.unit is not None else None, "inputs": self.inputs.tolist(),
               "window": self.window.tolist(), "padding": self.padding.tolist(),
               "rows": self.rows.tolist(), "cols": self.cols.tolist(),
               "kernel": None if self.kernel is None else self.kernel.tolist(), "bias": self.bias,
               "products": None if self.products is None else self.products.tolist(),
               "channel_sums": None if self.channel_sums is None else self.channel_sums.tolist(),
               "sum": self.sum, "value": self.value,
               "winner": None if self.winner is None else list(self.winner), "divisor": self.divisor,
               "activation": self.activation, "activated": self.activated}
        if self.channel_sums is not None:
            best = self.top(top)
            out["top"] = {"inputs": best.inputs.tolist(), "sums": best.sums.tolist(), "rest": best.rest,
                          "rest_count": best.rest_count}
        return out

    def figure(self, top: int = 6) -> go.Figure:
        """The window, kernel and products of the top input channels, and the sum (the See page's). Needs
        plotly."""
        from cnnlab.figures import unit_figure

        return unit_figure(self, top)


def explain_unit(io: LayerIO, channel: int, unit: tuple[int, int] | None = None) -> UnitComputation:
    """Unit `unit` (row, column; the centre for None; none for a linear layer) of output channel
    `channel`, read from `io`."""
    unit = io.layer.check(channel, unit)
    module = io.module
    value = float(io.output[channel] if unit is None else io.output[channel, unit[0], unit[1]])
    activated = None
    if io.activated is not None:
        activated = float(io.activated[channel] if unit is None else io.activated[channel, unit[0], unit[1]])
    common = dict(layer=io.layer.name, kind=io.layer.kind, channel=channel, unit=unit, value=value,
                  activation=io.activation, activated=activated)
    if isinstance(module, nn.Linear):
        return _linear(module, io.input.double(), channel, common)
    if isinstance(module, nn.Conv2d):
        return _conv(module, io.input, channel, unit, common)
    return _pool(module, io.input, channel, unit, common)


def explain(model: nn.Module, image: torch.Tensor, layer: UnitLayer, channel: int,
            unit: tuple[int, int] | None = None) -> UnitComputation:
    """One unit's arithmetic on `image` (C×H×W, as fed): `layer_io` then `explain_unit`."""
    layer.check(channel, unit)
    return explain_unit(layer_io(model, image, layer), channel, unit)


def explain_subject(subject: Subject, layer: str, channel: int, unit: tuple[int, int] | None = None, *,
                    image: int = 0, dataset: str | None = None, data_dir: str | None = None,
                    ) -> UnitComputation:
    """Unit `unit` of output channel `channel` of the layer called `layer`, on test image `image` of
    `dataset` (default: the subject's run's, else the built-in set of its input's channels), fed as the
    model is fed. The layer, channel and unit are checked before any image is loaded."""
    found = find_unit_layer(subject.model, unit_layers(subject.model, subject.input.as_tuple()), layer)
    unit = found.check(channel, unit)
    dataset = dataset or subject.dataset or default_dataset(subject.input)
    x = dataset_images(dataset, 1, subject.input, data_dir or subject.data_dir, first=image)
    return explain(subject.model, model_input(x, subject.normalize)[0], found, channel, unit)


def _offsets(stride: int, padding: int, dilation: int, kernel: int, index: int) -> np.ndarray:
    """The input indices a window's cells read along one axis (with gaps under dilation)."""
    return index * stride - padding + dilation * np.arange(kernel)


def _window(x: torch.Tensor, channels: np.ndarray, rows: np.ndarray, cols: np.ndarray,
            ) -> tuple[np.ndarray, np.ndarray]:
    """x[channels] at rows × cols in float64, 0 where a row or column lies outside the map; the mask."""
    _, height, width = x.shape
    inside_r, inside_c = (rows >= 0) & (rows < height), (cols >= 0) & (cols < width)
    padding = ~(inside_r[:, None] & inside_c[None, :])
    values = x[torch.as_tensor(channels)][:, rows.clip(0, height - 1)][:, :, cols.clip(0, width - 1)]
    window = values.double().numpy() * ~padding
    return window, padding


def _conv(module: nn.Conv2d, x: torch.Tensor, channel: int, unit: tuple[int, int], common: dict,
          ) -> UnitComputation:
    if module.padding_mode != "zeros":
        raise ConfigError(f"{common['layer']} pads with {module.padding_mode!r}; only zero padding is shown")
    kh, kw = module.kernel_size
    (sh, sw), (dh, dw) = module.stride, module.dilation
    if module.padding == "same":
        ph, pw = dh * (kh - 1) // 2, dw * (kw - 1) // 2
    elif module.padding == "valid":
        ph = pw = 0
    else:
        ph, pw = module.padding
    per_group = module.in_channels // module.groups
    group = channel // (module.out_channels // module.groups)
    inputs = np.arange(group * per_group, (group + 1) * per_group)
    rows = _offsets(sh, ph, dh, kh, unit[0])
    cols = _offsets(sw, pw, dw, kw, unit[1])
    window, padding = _window(x, inputs, rows, cols)
    kernel = module.weight[channel].detach().double().numpy()
    bias = None if module.bias is None else float(module.bias[channel].detach())
    products = window * kernel
    sums = products.sum(axis=(1, 2))
    total = float(sums.sum()) + (bias or 0.0)
    return UnitComputation(**common, inputs=inputs, window=window, padding=padding, rows=rows, cols=cols,
                           input_size=tuple(x.shape[1:]), kernel=kernel, bias=bias, products=products,
                           channel_sums=sums, sum=total)


def _pool(module: nn.Module, x: torch.Tensor, channel: int, unit: tuple[int, int], common: dict,
          ) -> UnitComputation:
    _, height, width = x.shape
    if isinstance(module, nn.AdaptiveAvgPool2d):
        out_h, out_w = _adaptive_out(module, height, width)
        r0, r1 = unit[0] * height // out_h, -(-(unit[0] + 1) * height // out_h)
        c0, c1 = unit[1] * width // out_w, -(-(unit[1] + 1) * width // out_w)
        rows, cols = np.arange(r0, r1), np.arange(c0, c1)
        window, padding = _window(x, np.array([channel]), rows, cols)
        divisor = window.shape[1] * window.shape[2]
        return _mean(window, padding, rows, cols, x, channel, divisor, common)
    kh, kw = _pair(module.kernel_size)
    sh, sw = _pair(module.stride or module.kernel_size)
    ph, pw = _pair(module.padding)
    dh, dw = _pair(getattr(module, "dilation", 1))
    rows = _offsets(sh, ph, dh, kh, unit[0])
    cols = _offsets(sw, pw, dw, kw, unit[1])
    window, padding = _window(x, np.array([channel]), rows, cols)
    if isinstance(module, nn.MaxPool2d):
        masked = np.where(padding, -np.inf, window[0])
        winner = np.unravel_index(int(np.argmax(masked)), masked.shape)
        return UnitComputation(**common, inputs=np.array([channel]), window=window, padding=padding,
                               rows=rows, cols=cols, input_size=(height, width), kernel=None, bias=None,
                               products=None, channel_sums=None, sum=float(masked[winner]),
                               winner=(int(winner[0]), int(winner[1])))
    if module.divisor_override:
        divisor = module.divisor_override
    elif module.count_include_pad:  # padding counts, cells past the padded input (ceil mode) do not
        divisor = int(((rows < height + ph).sum()) * ((cols < width + pw).sum()))
    else:
        divisor = int((~padding).sum())
    return _mean(window, padding, rows, cols, x, channel, divisor, common)


def _adaptive_out(module: nn.AdaptiveAvgPool2d, height: int, width: int) -> tuple[int, int]:
    out_h, out_w = _pair(module.output_size)
    return (out_h or height, out_w or width)


def _mean(window: np.ndarray, padding: np.ndarray, rows: np.ndarray, cols: np.ndarray, x: torch.Tensor,
          channel: int, divisor: int, common: dict) -> UnitComputation:
    return UnitComputation(**common, inputs=np.array([channel]), window=window, padding=padding, rows=rows,
                           cols=cols, input_size=tuple(x.shape[1:]), kernel=None, bias=None, products=None,
                           channel_sums=None, sum=float(window.sum()) / divisor, divisor=divisor)


def _linear(module: nn.Linear, x: torch.Tensor, channel: int, common: dict) -> UnitComputation:
    features = x.reshape(-1).numpy()
    kernel = module.weight[channel].detach().double().numpy()
    bias = None if module.bias is None else float(module.bias[channel].detach())
    products = features * kernel
    empty = np.zeros((0,), dtype=int)
    return UnitComputation(**common, inputs=np.arange(len(features)), window=features,
                           padding=np.zeros((0, 0), dtype=bool), rows=empty, cols=empty, input_size=None,
                           kernel=kernel, bias=bias, products=products, channel_sums=products,
                           sum=float(products.sum()) + (bias or 0.0))
