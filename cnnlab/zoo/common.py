"""Helpers shared by the builders: finding the feature-map size, and naming the layer that empties it."""

from __future__ import annotations

import torch
from torch import nn

from cnnlab.errors import ConfigError
from cnnlab.spec import InputSpec


def _run(module: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor | None, nn.Module, torch.Size]:
    """Forward `x`; on an empty result return (None, the innermost culprit layer, the map it received)."""
    if isinstance(module, nn.Sequential):
        for child in module:
            y, culprit, seen = _run(child, x)
            if y is None:
                return None, culprit, seen
            x = y
        return x, module, x.shape
    try:
        y = module(x)
    except RuntimeError:
        return None, module, x.shape
    return (None if y.numel() == 0 else y), module, x.shape


def feature_shape(features: nn.Sequential, inp: InputSpec, model: str, hint: str) -> torch.Size:
    """Run a meta tensor through `features` and return the output shape (no batch dimension).

    A layer that would leave an empty map raises a ConfigError naming its top-level child, the layer,
    the map it received and `hint` (what the input supports).
    """
    x = torch.empty((1, *inp.as_tuple()), device="meta")
    children = list(features.named_children())
    features.eval()  # batch-norm statistics of one sample on a 1×1 map are undefined in training mode
    for position, (name, child) in enumerate(children, 1):
        y, culprit, seen = _run(child, x)
        if y is None:
            raise ConfigError(f"{model} {name} ({position} of {len(children)}): {describe(culprit)} "
                              f"on a {seen[-2]}×{seen[-1]} map; {hint}")
        x = y
    features.train()
    return x.shape[1:]


def describe(module: nn.Module) -> str:
    """A short description of a layer: 'max-pool 2×2', 'conv 5×5', or its class name."""
    if isinstance(module, nn.Conv2d):
        return f"conv {module.kernel_size[0]}×{module.kernel_size[1]}"
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
        kind = "max-pool" if isinstance(module, nn.MaxPool2d) else "average-pool"
        k = module.kernel_size
        return f"{kind} {k}×{k}" if isinstance(k, int) else f"{kind} {k[0]}×{k[1]}"
    return type(module).__name__
