"""One meta-device forward pass that records every module call: output shape, MACs and receptive field.

Receptive fields ride on the tensors themselves: a `TorchFunctionMode` sees every torch operation
(convolutions, pooling, padding, residual additions, concatenations), so fields follow the real
computation graph of *any* module — branches and downsampling shortcuts included — with no
per-architecture formula and no need for the model to be symbolically traceable. Fields are kept on
tensors whose last two dimensions are spatial (N, C, H, W); docs/ANALYSIS.md lists the limits.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook

from cnnlab.analysis.calls import Call, tensors
from cnnlab.analysis.fields import Field, union
from cnnlab.analysis.macs import macs_of
from cnnlab.meta import MetaMode, arg

if TYPE_CHECKING:
    from cnnlab.analysis.graph import GraphRecorder

_ATTR = "_cnnlab_field"
_CONV = {"conv2d"}
_MAX_POOL = {"max_pool2d", "_max_pool2d", "max_pool2d_with_indices"}
_AVG_POOL = {"avg_pool2d"}
_ADAPTIVE = {"adaptive_avg_pool2d", "adaptive_max_pool2d", "_adaptive_max_pool2d",
             "adaptive_max_pool2d_with_indices"}
_PAD = {"pad", "_pad"}
_TEMPLATE = {"view_as", "reshape_as", "expand_as", "type_as"}  # the second tensor only lends its shape
_PERMUTE = {"permute", "transpose", "swapaxes", "swapdims", "movedim", "moveaxis"}
_DIMS = "_cnnlab_dims"
_NCHW = (-2, -1)  # where the spatial dimensions are, counted from the end
# The module hooks run inside the traced forward: what they read of a tensor (its shape, its dimensions)
# would otherwise be traced too, as torch operations.
_UNTRACED = torch._C.DisableTorchFunction


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    values = tuple(value)
    return (values[0], values[0]) if len(values) == 1 else (values[0], values[1])


def field_of(tensor: torch.Tensor) -> Field | None:
    return getattr(tensor, _ATTR, None)


def _dims(tensor: torch.Tensor) -> tuple[int, int]:
    return getattr(tensor, _DIMS, _NCHW)


def _spatial_size(tensor: torch.Tensor, dims: tuple[int, int]) -> tuple[int, int] | None:
    if tensor.dim() < max(3, -dims[0]):
        return None
    return (tensor.shape[dims[0]], tensor.shape[dims[1]])


def _mark(tensor: torch.Tensor, field: Field | None, dims: tuple[int, int] = _NCHW) -> None:
    setattr(tensor, _ATTR, field)
    setattr(tensor, _DIMS, dims)


class _Tracer(MetaMode):
    """Propagates receptive fields through torch operations and counts the MACs of each (one sample)."""

    def __init__(self, recorder: GraphRecorder | None = None) -> None:
        super().__init__()
        self.stack: list[Call] = []
        self.total_macs = 0
        self.recorder = recorder

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        kwargs = kwargs or {}
        out = self.run(func, args, kwargs)
        if not isinstance(out, torch.Tensor) and (isinstance(out, torch.Size)
                                                  or next(tensors(out), None) is None):
            return out  # shapes, sizes, flags: nothing to propagate
        first = args[0] if args and isinstance(args[0], torch.Tensor) else next(tensors(args), None)
        if first is None:
            return out
        name = getattr(func, "__name__", "")
        macs = macs_of(func, name, args, kwargs, out)
        if macs:
            self._count(macs)
        self._propagate(func, name, first, args, kwargs, out)
        if self.recorder is not None:
            self.recorder.op(name, (first,) if name in _TEMPLATE else (args, kwargs), out)
        return out

    def _count(self, macs: int) -> None:
        self.total_macs += macs
        if self.stack:
            self.stack[-1].macs += macs

    def _propagate(self, func: Any, name: str, first: torch.Tensor, args: tuple, kwargs: dict,
                   out: Any) -> None:
        inputs = (first,) if name in _TEMPLATE else args
        derived = [t for t in tensors(inputs) if hasattr(t, _DIMS)]  # the rest: weights and constants
        if not derived:
            return
        spatial = [t for t in derived if t.dim() >= 3 and field_of(t) is not None]
        if not spatial:
            for t in tensors(out):
                _mark(t, None)
            return
        src = field_of(first) if first.dim() >= 3 else None
        nchw = src if _dims(first) == _NCHW else None  # windows slide over the last two dimensions
        new: Field | None
        if name in _CONV and nchw is not None:
            weight = arg(args, kwargs, 1, "weight", None)
            kernel = tuple(weight.shape[-2:])
            padding = arg(args, kwargs, 4, "padding", 0)
            dilation = _pair(arg(args, kwargs, 5, "dilation", 1))
            if padding == "same":
                padding = tuple((k - 1) * d // 2 for k, d in zip(kernel, dilation, strict=True))
            elif padding == "valid":
                padding = 0
            new = nchw.window(kernel, _pair(arg(args, kwargs, 3, "stride", 1)), _pair(padding), dilation)
        elif (name in _MAX_POOL or name in _AVG_POOL) and nchw is not None:
            kernel = _pair(arg(args, kwargs, 1, "kernel_size", 1))
            stride = arg(args, kwargs, 2, "stride", None)
            stride = kernel if stride is None or stride == [] or stride == () else _pair(stride)
            dilation = _pair(arg(args, kwargs, 4, "dilation", 1)) if name in _MAX_POOL else (1, 1)
            new = nchw.window(kernel, stride, _pair(arg(args, kwargs, 3, "padding", 0)), dilation)
        elif name in _ADAPTIVE and nchw is not None:
            new = _adaptive(nchw, tuple(first.shape[-2:]), tuple(next(tensors(out)).shape[-2:]))
        elif name in _PAD and nchw is not None:
            pad = tuple(arg(args, kwargs, 1, "pad", ()))
            new = nchw.shifted((pad[2] if len(pad) >= 4 else 0, pad[0] if pad else 0))
        elif name in _PERMUTE and src is not None and isinstance(out, torch.Tensor):
            _mark(out, src, _moved_dims(func, first, args, kwargs))
            return
        else:  # elementwise, normalisation, linear, merges: the union of the inputs that share the map;
            # none if one of them has lost its field (e.g. after attention), as the merge then has none
            dims = _dims(spatial[0])
            size = _spatial_size(spatial[0], dims)
            if len(derived) == 1:  # an activation, a normalisation: the field stays
                new = field_of(spatial[0])
            else:
                same = [field_of(t) for t in derived if _spatial_size(t, dims) == size
                        and (field_of(t) is None or _dims(t) == dims)]
                new = None if None in same else union(same)
            for t in tensors(out):
                _mark(t, new if _spatial_size(t, dims) == size else None, dims)
            return
        for t in tensors(out):
            _mark(t, new if t.dim() >= 3 else None)


def _moved_dims(func: Any, first: torch.Tensor, args: tuple, kwargs: dict) -> tuple[int, int]:
    """Where a permute/transpose/movedim puts the spatial dimensions: found by applying it to a probe
    whose dimensions all have different sizes."""
    probe = torch.empty(tuple(range(2, 2 + first.dim())), device="meta")
    moved = func(probe, *args[1:], **kwargs).shape
    position = {size: index - len(moved) for index, size in enumerate(moved)}
    return tuple(position[probe.shape[d]] for d in _dims(first))


def _adaptive(src: Field, size_in: tuple, size_out: tuple) -> Field | None:
    """Adaptive pooling is a fixed window only where each output side divides its input side: then the
    field follows (stride = kernel = in / out; equal sizes leave it unchanged). A global (1×1) pool ends
    the spatial map, and other sizes (windows of unequal length, or an enlarged map) have no single field.
    """
    if size_out == (1, 1) or any(i % o for i, o in zip(size_in, size_out, strict=True)):
        return None
    stride = tuple(i // o for i, o in zip(size_in, size_out, strict=True))
    return src.window(stride, stride, (0, 0))


def _walk(model: nn.Module) -> tuple[dict[nn.Module, tuple[str, int]], list[tuple[str, torch.Tensor]]]:
    """One walk over the model: each module's (name, depth), and its parameters and buffers by name
    (each tensor once, as `named_parameters` gives them)."""
    depth_of: dict[nn.Module, tuple[str, int]] = {}
    state: list[tuple[str, torch.Tensor]] = []
    seen: set[int] = set()
    for name, module in model.named_modules():
        depth_of[module] = (name, name.count(".") + 1 if name else 0)
        for group in (module._parameters, module._buffers):
            for key, tensor in group.items():
                if tensor is not None and id(tensor) not in seen:
                    seen.add(id(tensor))
                    state.append((f"{name}.{key}" if name else key, tensor))
    return depth_of, state


@contextmanager
def _eval_mode(modules: Iterable[nn.Module]) -> Iterator[None]:
    training = [m for m in modules if m.training]
    for module in training:  # `model.eval()` would recurse through the children again
        module.training = False
    try:
        yield
    finally:
        for module in training:
            module.training = True


def trace(model: nn.Module, input_shape: tuple[int, ...], recorder: GraphRecorder | None = None,
          ) -> tuple[list[Call], torch.Tensor, int]:
    """Run `model` on a meta tensor of shape (1, *input_shape); return its calls (in call order),
    its output and the total MACs per sample. The model's own weights are never touched or copied.
    A `recorder` is told of every call and operation (the data-flow graph).

    Module calls are seen through two process-wide hooks that only listen to this thread (cheaper
    than two hooks per module, and another thread may trace the same module meanwhile)."""
    tracer = _Tracer(recorder)
    calls: list[Call] = []
    depth_of, state = _walk(model)
    owner = threading.get_ident()

    def pre_hook(module: nn.Module, args: Any) -> None:
        if threading.get_ident() != owner or module not in depth_of:
            return
        name, depth = depth_of[module]
        with _UNTRACED():
            first = next(tensors(args), None)
            shape = () if first is None else tuple(first.shape[1:])
            parent = tracer.stack[-1] if tracer.stack else None
            call = Call(name, module, depth, len(calls), input_shape=shape, parent=parent)
            if parent is not None:
                parent.nested = True
            calls.append(call)
            tracer.stack.append(call)
            if recorder is not None:
                recorder.started(call, args)

    def post_hook(module: nn.Module, _args: Any, output: Any) -> None:
        if threading.get_ident() != owner or module not in depth_of:
            return
        with _UNTRACED():
            call = tracer.stack.pop()
            tensor = next(tensors(output), None)
            call.output = tensor
            call.field = field_of(tensor) if tensor is not None and tensor.dim() >= 3 else None
            if recorder is not None:
                recorder.ended(call, output)
            if tracer.stack:
                tracer.stack[-1].macs += call.macs

    dtype = next((t.dtype for _, t in state if t.is_floating_point()), torch.get_default_dtype())
    x = torch.empty((1, *input_shape), device="meta", dtype=dtype)  # a float64 model gets float64
    _mark(x, Field.identity())
    if recorder is not None:
        recorder.start(x)
    # a real model runs with meta stand-ins for its tensors, leaving its own untouched
    meta_state = None if all(t.is_meta for _, t in state) else {
        name: torch.empty_like(t, device="meta") for name, t in state}
    handles = (register_module_forward_pre_hook(pre_hook), register_module_forward_hook(post_hook))
    try:
        with _eval_mode(depth_of), tracer, torch.no_grad():
            if meta_state is None:
                out = model(x)
            else:
                out = torch.func.functional_call(model, meta_state, (x,), strict=False)
    finally:
        for handle in handles:
            handle.remove()
    return calls, out, tracer.total_macs
