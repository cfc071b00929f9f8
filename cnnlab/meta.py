"""Fast shape-only execution on the meta device.

Meta tensors hold no values, so weight initialisation is skipped; and linear layers and inference batch
norm, whose meta kernels are slow Python decompositions (most of an analysis's time), check their
arguments' shapes and make their output directly.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode


def arg(args: tuple, kwargs: dict, index: int, name: str, default: Any) -> Any:
    """Argument `name` of a torch call, given positionally at `index` or by keyword."""
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


class MetaMode(TorchFunctionMode):
    """Run torch operations on meta tensors with shape-only shortcuts; subclasses add bookkeeping."""

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        return self.run(func, args, kwargs or {})

    @staticmethod
    def run(func: Any, args: tuple, kwargs: dict) -> Any:
        if getattr(func, "__module__", None) == "torch.nn.init":
            return args[0] if args else kwargs["tensor"]
        if func is F.linear:
            return _linear(args, kwargs)
        if func is F.batch_norm and not arg(args, kwargs, 5, "training", False):
            return _inference_batch_norm(args, kwargs)
        return func(*args, **kwargs)


def _linear(args: tuple, kwargs: dict) -> torch.Tensor:
    x, weight, bias = args[0], arg(args, kwargs, 1, "weight", None), arg(args, kwargs, 2, "bias", None)
    if x.dim() < 1 or weight.dim() != 2 or x.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({'x'.join(map(str, x.shape))} and "
                           f"{weight.shape[1]}x{weight.shape[0]})")
    if bias is not None and bias.numel() != weight.shape[0]:
        raise RuntimeError(f"linear bias has {bias.numel()} elements for {weight.shape[0]} outputs")
    return x.new_empty((*x.shape[:-1], weight.shape[0]))


def _inference_batch_norm(args: tuple, kwargs: dict) -> torch.Tensor:
    """Inference batch norm keeps its input's shape: check the per-channel tensors, make the output."""
    x = args[0]
    for index, name in enumerate(("running_mean", "running_var", "weight", "bias"), 1):
        tensor = arg(args, kwargs, index, name, None)
        if tensor is not None and tensor.numel() != x.shape[1]:
            raise RuntimeError(f"batch norm {name} has {tensor.numel()} elements for {x.shape[1]} channels")
    return torch.empty_like(x)
