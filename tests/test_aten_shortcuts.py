"""The shape-only ATen outputs the training-memory simulation makes, held to the real meta kernels: the
same shapes, types, strides and storage bytes (what the memory count reads), the same tensor for an
in-place operation, and no answer where a case is not plain."""

from __future__ import annotations

import pytest
import torch

from cnnlab.analysis.aten_shortcuts import shortcut

aten = torch.ops.aten


def meta(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.empty(shape, dtype=dtype, device="meta")


def _layout(value: object) -> object:
    if isinstance(value, torch.Tensor):
        return (value.shape, value.dtype, value.stride(), value.device, value.untyped_storage().nbytes())
    if isinstance(value, tuple | list):
        return tuple(_layout(v) for v in value)
    return value


def _cases() -> list[tuple]:
    x, y, z = meta(2, 3, 4, 4), meta(2, 3, 4, 4), meta(2, 3, 4, 4)
    w, v = meta(3), meta(3)
    logits, target = meta(5, 7), torch.empty(5, dtype=torch.int64, device="meta")
    return [
        (aten.add.Tensor, (x, y), {"alpha": 2}), (aten.sub.Tensor, (x, y), {}),
        (aten.mul.Tensor, (x, 3.0), {}),
        (aten.div.Tensor, (x, 1.5), {}), (aten.sqrt.default, (x,), {}), (aten.lerp.Scalar, (x, y, 0.1), {}),
        (aten.addcmul.default, (x, y, z), {"value": 0.5}), (aten.addcdiv.default, (x, y, z), {"value": -1}),
        (aten.threshold_backward.default, (x, y, 0), {}), (aten.hardswish_backward.default, (x, y), {}),
        (aten.hardsigmoid.default, (x,), {}), (aten.relu.default, (x,), {}),
        (aten.zeros_like.default, (x,), {"pin_memory": False, "memory_format": torch.preserve_format}),
        (aten.zeros_like.default, (torch.nn.Parameter(meta(4, 2)),), {"pin_memory": False}),
        (aten.native_batch_norm.default, (x, w, v, meta(3), meta(3), True, 0.1, 1e-5), {}),
        (aten.native_batch_norm_backward.default,
         (y, x, w, meta(3), meta(3), meta(3), meta(3), True, 1e-5, [True, True, False]), {}),
        (aten.addmm.default, (meta(6), meta(5, 4), meta(6, 4).t()), {}),
        (aten._log_softmax.default, (logits, 1, False), {}),
        (aten._log_softmax_backward_data.default, (logits, meta(5, 7), 1, torch.float32), {}),
        (aten.nll_loss_forward.default, (logits, target, None, 1, -100), {}),
        (aten.nll_loss_backward.default, (meta(), logits, target, None, 2, -100, meta()), {}),
    ]


@pytest.mark.parametrize(("func", "args", "kwargs"), _cases(), ids=lambda c: str(c) if callable(c) else "")
def test_a_shortcut_makes_what_the_kernel_makes(func, args, kwargs):
    made = shortcut(func, args, kwargs)
    assert made is not None
    assert _layout(made) == _layout(func(*args, **kwargs))


@pytest.mark.parametrize("func", [aten.add_.Tensor, aten.mul_.Tensor, aten.addcdiv_.default,
                                  aten.lerp_.Scalar, aten.hardswish_.default])
def test_an_in_place_shortcut_returns_the_tensor_it_changes(func):
    parameter = torch.nn.Parameter(meta(4, 3), requires_grad=False)
    others = {aten.add_.Tensor: (meta(4, 3),), aten.mul_.Tensor: (2.0,),
              aten.addcdiv_.default: (meta(4, 3), meta(4, 3)), aten.lerp_.Scalar: (meta(4, 3), 0.1),
              aten.hardswish_.default: ()}[func]
    assert shortcut(func, (parameter, *others), {}) is parameter
    assert func(parameter, *others) is parameter


@pytest.mark.parametrize(("func", "args", "kwargs"), [
    (aten.add.Tensor, (meta(2, 3), meta(3)), {}),  # broadcast: the kernel's own shape rules
    (aten.add.Tensor, (meta(2, 3), meta(2, 3, dtype=torch.float16)), {}),  # type promotion
    (aten.mul.Tensor, (meta(3, 2).t(), meta(2, 3)), {}),  # not contiguous
    (aten.mul.Tensor, (torch.empty(2, 3), torch.empty(2, 3)), {}),  # not meta
    (aten.add.Tensor, (meta(2, 3, dtype=torch.int64), 1), {}),  # integers
    (aten.div.Tensor_mode, (meta(2, 3), 2.0), {"rounding_mode": "floor"}),  # an operation it does not know
    (aten.add.Tensor, (meta(2, 3), meta(2, 3)), {"alpha": "2"}),  # an argument that is not a number
    (aten.zeros_like.default, (meta(2, 3),), {"dtype": torch.float16}),
    (aten.addmm.default, (meta(6), meta(5, 4), meta(6, 4).t()), {"beta": 0.5}),
    (aten.addmm.default, (meta(6), meta(5, 3), meta(6, 4).t()), {}),
    (aten.nll_loss_forward.default, (meta(5, 7), torch.empty(5, dtype=torch.int64, device="meta"), None, 0,
                                     -100), {}),  # no reduction
    (aten.native_batch_norm.default, (meta(2, 3, 4, 4, dtype=torch.float16), meta(3), meta(3), meta(3),
                                      meta(3), True, 0.1, 1e-5), {}),  # statistics in float32
    (aten.native_batch_norm.default, (meta(2, 3, 4, 4), meta(3), meta(3), meta(3), meta(3), False, 0.1,
                                      1e-5), {}),  # inference
])
def test_what_is_not_plain_is_left_to_the_kernel(func, args, kwargs):
    assert shortcut(func, args, kwargs) is None
