"""Sliding windows (convolutions and pooling): their kernel, stride, padding, dilation and groups, and
the output-size formula that explains a row's shape, ⌊(H + 2p − d·(k − 1) − 1)/s⌋ + 1."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

Pair = tuple[int, int]
_POOLS = (nn.MaxPool2d, nn.AvgPool2d)


@dataclass(frozen=True)
class Window:
    """The window of one convolution or pooling layer, per axis (height, width)."""

    kernel: Pair
    stride: Pair
    padding: Pair
    dilation: Pair = (1, 1)
    groups: int = 1
    ceil_mode: bool = False

    def output_side(self, side: int, axis: int) -> int:
        """The output size along `axis` (0: height, 1: width) for an input side of `side` pixels,
        by PyTorch's rule (in ceil mode, a window may not start in the right padding)."""
        k, s, p, d = self.kernel[axis], self.stride[axis], self.padding[axis], self.dilation[axis]
        span = side + 2 * p - d * (k - 1) - 1
        out = (-(-span // s) if self.ceil_mode else span // s) + 1
        if self.ceil_mode and (out - 1) * s >= side + p:
            out -= 1
        return out

    def formula(self, side: int, axis: int) -> str:
        """The formula with the numbers filled in: '⌊(28 + 2·0 − 5)/1⌋ + 1 = 24'."""
        k, s, p, d = self.kernel[axis], self.stride[axis], self.padding[axis], self.dilation[axis]
        reach = f"{k}" if d == 1 else f"{d}·({k} − 1) − 1"
        left, right = ("⌈", "⌉") if self.ceil_mode else ("⌊", "⌋")
        return f"{left}({side} + 2·{p} − {reach})/{s}{right} + 1 = {self.output_side(side, axis)}"


def window_of(module: nn.Module) -> Window | None:
    """The window of a Conv2d, MaxPool2d or AvgPool2d; None for any other module."""
    if isinstance(module, nn.Conv2d):
        kernel = _pair(module.kernel_size)
        dilation = _pair(module.dilation)
        padding = module.padding
        if padding == "same":
            padding = tuple((k - 1) * d // 2 for k, d in zip(kernel, dilation, strict=True))
        elif padding == "valid":
            padding = 0
        return Window(kernel, _pair(module.stride), _pair(padding), dilation, module.groups)
    if isinstance(module, _POOLS):
        kernel = _pair(module.kernel_size)
        stride = kernel if module.stride is None or module.stride == [] else _pair(module.stride)
        dilation = _pair(module.dilation) if isinstance(module, nn.MaxPool2d) else (1, 1)
        return Window(kernel, stride, _pair(module.padding), dilation, 1, bool(module.ceil_mode))
    return None


def _pair(value: int | tuple | list) -> Pair:
    if isinstance(value, int):
        return (value, value)
    values = tuple(int(v) for v in value)
    return (values[0], values[0]) if len(values) == 1 else (values[0], values[1])
