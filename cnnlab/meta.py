"""Fast shape-only execution on the meta device.

Meta tensors hold no values, so weight initialisation (torch.nn.init, and a tensor's own in-place
random fills) is skipped; and the calls whose meta kernels are slow Python decompositions (most of an
analysis's time) check their arguments' shapes and make their output directly: linear layers,
inference batch norm, layer norm, activations and softmax, matrix products, attention, concatenation
and elementwise arithmetic. Anything unusual (shapes that do not broadcast, autograd, an option the
shortcut does not know) runs the real kernel, so its errors are PyTorch's own.
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
        shortcut = _SHORTCUTS.get(func)
        if shortcut is not None and args and (args[0].is_meta if isinstance(args[0], torch.Tensor)
                                              else func in _JOINS):
            out = shortcut(args, kwargs)
            if out is not None:
                return out
        return func(*args, **kwargs)


def _empty(shape: Any, like: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A contiguous tensor of `shape` on `like`'s device, of its type unless told (what `new_empty` makes,
    without its Python decomposition on meta)."""
    return torch.empty(shape, dtype=like.dtype if dtype is None else dtype, device=like.device)


def _like(x: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """`torch.empty_like(x, dtype=dtype)`: the same strides where `x` is dense without overlaps (the meta
    kernel is a slow Python decomposition), else the real kernel."""
    if x.is_contiguous():
        return _empty(x.shape, x, dtype)
    if _dense(x.shape, x.stride()):
        return torch.empty_strided(x.shape, x.stride(), dtype=x.dtype if dtype is None else dtype,
                                   device=x.device)
    return torch.empty_like(x, dtype=dtype)


def _dense(shape: tuple[int, ...], strides: tuple[int, ...]) -> bool:
    """Whether a layout covers its memory exactly once (ATen's `is_non_overlapping_and_dense`)."""
    expected = 1
    for stride, size in sorted((st, s) for s, st in zip(shape, strides, strict=True) if s >= 2):
        if stride != expected:
            return False
        expected *= size
    return True


def _fill(args: tuple, kwargs: dict) -> torch.Tensor:
    """An in-place fill (random, constant, clamped): a meta tensor has no values to fill."""
    return args[0]


def _plain(*tensors: Any, contiguous: bool = True) -> bool:
    """Floating-point tensors outside autograd (contiguous ones, unless told otherwise): what the
    shortcuts below handle."""
    grad = torch.is_grad_enabled()
    return all((t.is_contiguous() or not contiguous) and t.is_floating_point()
               and not (grad and t.requires_grad) for t in tensors)


def _unary(inplace_at: int | None) -> Any:
    """A shape-keeping function (an activation): a new tensor like its input, or the input itself when
    it works in place (its `inplace` flag at position `inplace_at`)."""
    def run(args: tuple, kwargs: dict) -> torch.Tensor | None:
        x = args[0]
        if not _plain(x, contiguous=False):
            return None
        if inplace_at is not None and arg(args, kwargs, inplace_at, "inplace", False):
            return x
        return _like(x)
    return run


def _softmax(args: tuple, kwargs: dict) -> torch.Tensor | None:
    x, dim = args[0], arg(args, kwargs, 1, "dim", None)
    if (not _plain(x, contiguous=False) or not isinstance(dim, int) or not -x.dim() <= dim < max(x.dim(), 1)
            or kwargs.get("dtype") is not None or len(args) > 3):
        return None
    return _like(x)


def _dropout(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """Dropout outside training returns its input itself."""
    return None if arg(args, kwargs, 2, "training", True) else args[0]


def _layer_norm(args: tuple, kwargs: dict) -> torch.Tensor | None:
    x, shape = args[0], tuple(arg(args, kwargs, 1, "normalized_shape", ()))
    weight, bias = arg(args, kwargs, 2, "weight", None), arg(args, kwargs, 3, "bias", None)
    affine = [t for t in (weight, bias) if t is not None]
    if (not _plain(x, *affine, contiguous=False) or tuple(x.shape[x.dim() - len(shape):]) != shape
            or any(tuple(t.shape) != shape for t in affine)):
        return None
    return _empty(x.shape, x)  # the kernel normalises a contiguous copy


def _cat(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """Concatenation of contiguous tensors of one type and rank that agree off the joined dimension."""
    parts, dim = args[0], arg(args, kwargs, 1, "dim", 0)
    if not isinstance(parts, list | tuple) or not parts or not isinstance(dim, int) or set(kwargs) - {"dim"}:
        return None
    first = parts[0]
    if not all(isinstance(t, torch.Tensor) and t.is_meta and t.dtype == first.dtype and t.dim() == first.dim()
               for t in parts) or not _plain(*parts) or not -first.dim() <= dim < first.dim():
        return None
    dim %= first.dim()
    shape = list(first.shape)
    if any(t.shape[:dim] != first.shape[:dim] or t.shape[dim + 1:] != first.shape[dim + 1:] for t in parts):
        return None
    shape[dim] = sum(t.shape[dim] for t in parts)
    return _empty(shape, first)


def _attention_products(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """Scaled dot-product attention of (..., L, E) queries on (..., S, E) keys and (..., S, Ev) values:
    (..., L, Ev)."""
    if len(args) != 3 or set(kwargs) - {"attn_mask", "dropout_p", "is_causal", "scale"} or kwargs.get(
            "attn_mask") is not None:
        return None
    q, k, v = args
    if not (isinstance(k, torch.Tensor) and isinstance(v, torch.Tensor) and k.is_meta and v.is_meta
            and q.dim() == k.dim() == v.dim() >= 2 and _plain(q, k, v) and q.dtype == k.dtype == v.dtype
            and q.shape[-1] == k.shape[-1] and k.shape[-2] == v.shape[-2]):
        return None
    try:
        batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except RuntimeError:
        return None
    return _empty((*batch, q.shape[-2], v.shape[-1]), q)


def _multi_head_attention(args: tuple, kwargs: dict) -> tuple | None:
    """nn.MultiheadAttention's composite forward on batched (L, N, E) queries, without the rarely used
    extras (added key/value biases, zero attention, static keys): its output and attention weights."""
    names = ("query", "key", "value", "embed_dim_to_check", "num_heads", "in_proj_weight", "in_proj_bias",
             "bias_k", "bias_v", "add_zero_attn", "dropout_p", "out_proj_weight", "out_proj_bias",
             "training", "key_padding_mask", "need_weights", "attn_mask", "use_separate_proj_weight",
             "q_proj_weight", "k_proj_weight", "v_proj_weight", "static_k", "static_v",
             "average_attn_weights", "is_causal")
    if len(args) > len(names) or set(kwargs) - set(names):
        return None
    a = {**dict(zip(names, args, strict=False)), **kwargs}
    q, k, v, width, heads = (a.get(n) for n in names[:5])
    if any(a.get(n) is not None for n in ("bias_k", "bias_v", "static_k", "static_v")) or a.get(
            "add_zero_attn") or not all(isinstance(t, torch.Tensor) and t.is_meta and t.dim() == 3
                                        for t in (q, k, v)):
        return None
    if a.get("use_separate_proj_weight"):
        weights = (a.get("q_proj_weight"), a.get("k_proj_weight"), a.get("v_proj_weight"))
        expected = ((width, width), (width, k.shape[2]), (width, v.shape[2]))
    else:
        weights, expected = (a.get("in_proj_weight"),), ((3 * width, width),)
        if k.shape[2] != width or v.shape[2] != width:
            return None
    weights = (*weights, a.get("out_proj_weight"))
    expected = (*expected, (width, width))
    if (q.shape[2] != width or not isinstance(heads, int) or heads < 1 or width % heads
            or k.shape[:2] != v.shape[:2] or k.shape[1] != q.shape[1]
            or not all(isinstance(w, torch.Tensor) and tuple(w.shape) == e
                       for w, e in zip(weights, expected, strict=True))
            or not _plain(q, k, v, *weights)):
        return None
    out = _empty(q.shape, q)
    if not a.get("need_weights", True):
        return out, None
    target, batch, source = q.shape[0], q.shape[1], k.shape[0]
    per_head = a.get("average_attn_weights", True)
    return out, _empty((batch, target, source) if per_head else (batch, heads, target, source), q)


def _matmul(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """A product of (..., n, k) and (..., k, m) matrices with broadcast batch dimensions: (..., n, m)."""
    if len(args) != 2 or kwargs:
        return None
    a, b = args
    if not (isinstance(b, torch.Tensor) and b.is_meta and a.dim() >= 2 and b.dim() >= 2
            and a.shape[-1] == b.shape[-2] and a.dtype == b.dtype and _plain(a, b, contiguous=False)):
        return None
    try:
        batch = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except RuntimeError:
        return None
    return _empty((*batch, a.shape[-2], b.shape[-1]), a)


def _binary(inplace: bool, compare: bool = False) -> Any:
    """Elementwise arithmetic (or a comparison, `compare`) of a tensor with another or a number: the
    broadcast shape at the promoted type (booleans), laid out as the first operand where it has that
    shape (else both must be contiguous); in place, the first operand itself if its shape stays."""
    def run(args: tuple, kwargs: dict) -> torch.Tensor | None:
        if len(args) != 2 or set(kwargs) - {"alpha"}:
            return None
        x, other = args
        if isinstance(other, torch.Tensor):
            if not (other.is_meta and _plain(x, other, contiguous=False)):
                return None
            try:
                shape = torch.broadcast_shapes(x.shape, other.shape)
            except RuntimeError:
                return None  # the real kernel says why
        elif isinstance(other, int | float) and not isinstance(other, bool) and _plain(x, contiguous=False):
            shape = x.shape
        else:
            return None
        if inplace:
            return x if shape == x.shape else None
        dtype = torch.bool if compare else torch.result_type(x, other)
        if shape == x.shape:
            return _like(x, dtype)  # laid out as the operand of the full shape
        if isinstance(other, torch.Tensor) and x.is_contiguous() and other.is_contiguous():
            return _empty(shape, x, dtype)
        return None
    return run


def _pair(value: Any) -> tuple[int, int] | None:
    """A window argument as (height, width): one whole number or a sequence of one or two."""
    values = (value,) if isinstance(value, int) else tuple(value) if isinstance(value, list | tuple) else ()
    if not 1 <= len(values) <= 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return None
    return (values[0], values[-1])


def _conv2d(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """A 2-d convolution of a contiguous (N, C, H, W) batch by a contiguous weight with numeric stride,
    padding and dilation: (N, out, H', W'), contiguous, as the meta kernel makes it."""
    names = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
    if len(args) > len(names) or set(kwargs) - set(names[1:]):
        return None
    x, weight, bias = args[0], arg(args, kwargs, 1, "weight", None), arg(args, kwargs, 2, "bias", None)
    stride, padding, dilation = (_pair(arg(args, kwargs, i, n, d))
                                 for i, n, d in ((3, "stride", 1), (4, "padding", 0), (5, "dilation", 1)))
    groups = arg(args, kwargs, 6, "groups", 1)
    if (stride is None or padding is None or dilation is None or not isinstance(groups, int) or groups < 1
            or min(stride) < 1 or min(dilation) < 1 or min(padding) < 0):
        return None
    if not (isinstance(weight, torch.Tensor) and weight.is_meta and x.dim() == weight.dim() == 4
            and 0 not in x.shape and 0 not in weight.shape and x.dtype == weight.dtype and _plain(x, weight)
            and x.shape[1] == weight.shape[1] * groups and weight.shape[0] % groups == 0):
        return None
    if bias is not None and not (isinstance(bias, torch.Tensor) and bias.is_meta and bias.dtype == x.dtype
                                 and tuple(bias.shape) == (weight.shape[0],)):
        return None
    sides = [(x.shape[2 + a] + 2 * padding[a] - dilation[a] * (weight.shape[2 + a] - 1) - 1) // stride[a] + 1
             for a in range(2)]
    return _empty((x.shape[0], weight.shape[0], *sides), x) if min(sides) >= 1 else None


def _roll(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """A cyclic shift of a contiguous tensor along named dimensions: a contiguous tensor of its shape."""
    x, shifts, dims = args[0], arg(args, kwargs, 1, "shifts", None), arg(args, kwargs, 2, "dims", None)
    shifts = (shifts,) if isinstance(shifts, int) else shifts
    dims = (dims,) if isinstance(dims, int) else dims
    if (len(args) > 3 or set(kwargs) - {"shifts", "dims"} or not _plain(x)
            or not isinstance(shifts, tuple | list) or not isinstance(dims, tuple | list)
            or not shifts or len(shifts) != len(dims)
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in (*shifts, *dims))
            or not all(-x.dim() <= d < x.dim() for d in dims)):
        return None
    return _empty(x.shape, x)


def _masked_fill(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """A contiguous tensor filled with a number where a boolean mask that broadcasts to it holds: a new
    contiguous tensor of its shape."""
    if len(args) != 3 or kwargs:
        return None
    x, mask, value = args
    if not (isinstance(mask, torch.Tensor) and mask.is_meta and mask.dtype == torch.bool and _plain(x)
            and isinstance(value, int | float) and not isinstance(value, bool)):
        return None
    try:
        if torch.broadcast_shapes(x.shape, mask.shape) != x.shape:
            return None
    except RuntimeError:
        return None
    return _empty(x.shape, x)


_T = torch.Tensor
_JOINS = {torch.cat, torch.concat, torch.concatenate}
_SHORTCUTS: dict[Any, Any] = {
    **dict.fromkeys((_T.normal_, _T.uniform_, _T.zero_, _T.fill_, _T.random_, _T.exponential_,
                     _T.bernoulli_, _T.log_normal_, _T.geometric_, _T.cauchy_, _T.erfinv_, _T.clamp_), _fill),
    **dict.fromkeys((F.gelu, torch.sigmoid, _T.sigmoid, torch.tanh, _T.tanh, torch.relu, _T.relu,
                     F.sigmoid, F.tanh), _unary(None)),
    **dict.fromkeys((F.relu, F.relu6, F.silu, F.hardswish, F.hardsigmoid, F.mish), _unary(1)),
    **dict.fromkeys((F.leaky_relu, F.elu), _unary(2)),
    F.hardtanh: _unary(3),
    **dict.fromkeys((F.softmax, torch.softmax, _T.softmax), _softmax),
    F.dropout: _dropout,
    F.layer_norm: _layer_norm,
    **dict.fromkeys((torch.matmul, _T.matmul, _T.__matmul__), _matmul),
    F.scaled_dot_product_attention: _attention_products,
    F.multi_head_attention_forward: _multi_head_attention,
    **dict.fromkeys(_JOINS, _cat),
    **dict.fromkeys((_T.__add__, _T.__radd__, _T.__sub__, _T.__mul__, _T.__rmul__, _T.__truediv__,
                     torch.add, torch.sub, torch.mul, torch.div, _T.add, _T.sub, _T.mul, _T.div),
                    _binary(False)),
    **dict.fromkeys((_T.__iadd__, _T.__isub__, _T.__imul__, _T.__itruediv__, _T.add_, _T.sub_, _T.mul_,
                     _T.div_), _binary(True)),
    **dict.fromkeys((_T.__eq__, _T.__ne__, _T.__lt__, _T.__le__, _T.__gt__, _T.__ge__, torch.eq, torch.ne,
                     _T.eq, _T.ne), _binary(False, compare=True)),
    torch.conv2d: _conv2d,
    **dict.fromkeys((torch.roll, _T.roll), _roll),
    _T.masked_fill: _masked_fill,
}


def _linear(args: tuple, kwargs: dict) -> torch.Tensor:
    x, weight, bias = args[0], arg(args, kwargs, 1, "weight", None), arg(args, kwargs, 2, "bias", None)
    if x.dim() < 1 or weight.dim() != 2 or x.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({'x'.join(map(str, x.shape))} and "
                           f"{weight.shape[1]}x{weight.shape[0]})")
    if bias is not None and bias.numel() != weight.shape[0]:
        raise RuntimeError(f"linear bias has {bias.numel()} elements for {weight.shape[0]} outputs")
    return _empty((*x.shape[:-1], weight.shape[0]), x)


def _inference_batch_norm(args: tuple, kwargs: dict) -> torch.Tensor:
    """Inference batch norm keeps its input's shape: check the per-channel tensors, make the output."""
    x = args[0]
    for index, name in enumerate(("running_mean", "running_var", "weight", "bias"), 1):
        tensor = arg(args, kwargs, index, name, None)
        if tensor is not None and tensor.numel() != x.shape[1]:
            raise RuntimeError(f"batch norm {name} has {tensor.numel()} elements for {x.shape[1]} channels")
    return _like(x)
