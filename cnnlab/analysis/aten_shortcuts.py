"""Outputs of ATen operations on meta tensors made directly from their arguments' shapes.

The meta kernels of elementwise operations (the optimiser step's arithmetic, the activations' backward),
training-mode batch norm, linear layers and the cross-entropy loss are Python decompositions: they took
most of a simulated training step.
`shortcut` answers the plain cases only — every tensor a contiguous meta tensor of one shape and one
floating type, every other argument a number — with what the kernel would return (a new contiguous
tensor of that shape and type, or the operated-on tensor for an in-place operation); anything else is
None, and the caller runs the real kernel, so its checks and errors stay PyTorch's. Sizes and types are
what the memory count reads; `tests/test_aten_shortcuts.py` holds each case to the real kernel.
"""

from __future__ import annotations

from typing import Any

import torch

aten = torch.ops.aten

# Elementwise operations whose output (or, in place, whose first argument) has their inputs' shape and type.
_ELEMENTWISE = {
    aten.add.Tensor, aten.sub.Tensor, aten.mul.Tensor, aten.div.Tensor, aten.add.Scalar,
    aten.mul.Scalar, aten.div.Scalar, aten.sqrt.default, aten.rsqrt.default, aten.neg.default,
    aten.reciprocal.default, aten.exp.default, aten.lerp.Scalar, aten.addcmul.default,
    aten.addcdiv.default, aten.maximum.default, aten.minimum.default, aten.relu.default,
    aten.sigmoid.default, aten.hardsigmoid.default, aten.hardswish.default, aten.silu.default,
    aten.threshold_backward.default, aten.hardswish_backward.default, aten.hardsigmoid_backward.default,
    aten.sigmoid_backward.default, aten.silu_backward.default,
}
_IN_PLACE = {
    aten.add_.Tensor, aten.sub_.Tensor, aten.mul_.Tensor, aten.div_.Tensor, aten.add_.Scalar,
    aten.mul_.Scalar, aten.div_.Scalar, aten.sqrt_.default, aten.lerp_.Scalar, aten.addcmul_.default,
    aten.addcdiv_.default, aten.relu_.default, aten.sigmoid_.default, aten.hardsigmoid_.default,
    aten.hardswish_.default, aten.silu_.default,
}
_NUMBER = (int, float)
_TENSOR_TYPES = (torch.Tensor, torch.nn.Parameter)  # not a subclass that dispatches itself


def shortcut(func: Any, args: tuple, kwargs: dict) -> Any:
    """What `func(*args, **kwargs)` returns, made from the shapes alone, or None where not sure."""
    if func in _ELEMENTWISE or func in _IN_PLACE:
        first = _alike(args, kwargs)
        if first is None:
            return None
        return first if func in _IN_PLACE else _new(first.shape, first)
    made = _BY_SHAPE.get(func)
    return None if made is None else made(args, kwargs)


def _plain(tensor: Any) -> bool:
    return (type(tensor) in _TENSOR_TYPES and tensor.is_meta and tensor.dtype.is_floating_point
            and tensor.is_contiguous())


def _alike(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """The first argument, where every tensor argument has its shape and type and the rest are numbers."""
    first = args[0] if args else None
    if not _plain(first):
        return None
    for value in (*args[1:], *kwargs.values()):
        if isinstance(value, torch.Tensor):
            if not _plain(value) or value.shape != first.shape or value.dtype != first.dtype:
                return None
        elif not isinstance(value, _NUMBER):
            return None
    return first


def _new(shape: torch.Size, like: torch.Tensor) -> torch.Tensor:
    return torch.empty(shape, dtype=like.dtype, device="meta")


def _zeros_like(args: tuple, kwargs: dict) -> torch.Tensor | None:
    if len(args) != 1 or not _plain(args[0]):
        return None
    if any(value not in (None, False, torch.preserve_format) for value in kwargs.values()):
        return None
    return _new(args[0].shape, args[0])


def _channels(x: torch.Tensor, *vectors: Any) -> bool:
    """Whether `x` is a plain float32 batch of maps or features and each vector a plain one of its channels
    (half-precision batch norm keeps its statistics in float32)."""
    return (_plain(x) and x.dtype == torch.float32 and x.dim() >= 2
            and all(_plain(v) and v.shape == (x.shape[1],) and v.dtype == x.dtype for v in vectors))


def _batch_norm(args: tuple, kwargs: dict) -> tuple | None:
    """Training-mode batch norm with affine weights and running statistics: (output, mean, inverse std)."""
    if kwargs or len(args) != 8 or args[5] is not True or not _channels(*args[:5]):
        return None
    x = args[0]
    return _new(x.shape, x), _new((x.shape[1],), x), _new((x.shape[1],), x)


def _batch_norm_backward(args: tuple, kwargs: dict) -> tuple | None:
    """Its backward in training mode: the gradients of the input, weight and bias that `mask` asks for."""
    if kwargs or len(args) != 10 or args[7] is not True:
        return None
    grad, x, weight, mean, var, save_mean, save_invstd, _, _, mask = args
    if not (_channels(x, weight, mean, var, save_mean, save_invstd) and _plain(grad)
            and grad.shape == x.shape and grad.dtype == x.dtype):
        return None
    return (_new(x.shape, x) if mask[0] else None, _new(weight.shape, x) if mask[1] else None,
            _new(weight.shape, x) if mask[2] else None)


def _addmm(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """A linear layer's bias + input @ weight.t(): (batch, outputs)."""
    if kwargs or len(args) != 3:  # beta and alpha given are not a linear layer's
        return None
    bias, x, weight = args
    if not (_plain(bias) and _plain(x) and type(weight) in _TENSOR_TYPES and weight.is_meta):
        return None
    if (x.dim() != 2 or weight.dim() != 2 or bias.shape != (weight.shape[1],) or x.shape[1] != weight.shape[0]
            or not x.dtype == weight.dtype == bias.dtype):
        return None
    return _new((x.shape[0], weight.shape[1]), x)


def _log_softmax(args: tuple, kwargs: dict) -> torch.Tensor | None:
    if kwargs or len(args) != 3 or args[2] is not False or not _plain(args[0]):
        return None
    x, dim = args[0], args[1]
    if not isinstance(dim, int) or not -x.dim() <= dim < max(x.dim(), 1):
        return None
    return _new(x.shape, x)


def _log_softmax_backward(args: tuple, kwargs: dict) -> torch.Tensor | None:
    if kwargs or len(args) != 4:
        return None
    grad, output, dim, dtype = args
    if not (_plain(grad) and _plain(output) and grad.shape == output.shape
            and grad.dtype == output.dtype == dtype and isinstance(dim, int)
            and -grad.dim() <= dim < max(grad.dim(), 1)):
        return None
    return _new(grad.shape, grad)


def _classes_and_targets(x: Any, target: Any, weight: Any, reduction: Any) -> bool:
    """A plain (batch, classes) input, int64 targets of the batch, no class weights, a reduced loss."""
    return (_plain(x) and x.dim() == 2 and type(target) is torch.Tensor and target.is_meta
            and target.dtype == torch.int64 and target.shape == (x.shape[0],) and weight is None
            and reduction in (1, 2))


def _nll_loss(args: tuple, kwargs: dict) -> tuple | None:
    """The mean or summed loss and the total weight: two scalars."""
    if kwargs or len(args) != 5 or not _classes_and_targets(*args[:4]):
        return None
    return _new((), args[0]), _new((), args[0])


def _nll_loss_backward(args: tuple, kwargs: dict) -> torch.Tensor | None:
    if kwargs or len(args) != 7:
        return None
    grad, x, target, weight, reduction, _, total = args
    if not (_classes_and_targets(x, target, weight, reduction) and _plain(grad) and grad.shape == ()
            and _plain(total) and total.shape == () and grad.dtype == total.dtype == x.dtype):
        return None
    return _new(x.shape, x)


_BY_SHAPE = {
    aten.zeros_like.default: _zeros_like, aten.addmm.default: _addmm, aten._log_softmax.default: _log_softmax,
    aten._log_softmax_backward_data.default: _log_softmax_backward, aten.nll_loss_forward.default: _nll_loss,
    aten.nll_loss_backward.default: _nll_loss_backward, aten.native_batch_norm.default: _batch_norm,
    aten.native_batch_norm_backward.default: _batch_norm_backward,
}
