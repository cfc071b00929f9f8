"""Multiply-accumulates of one torch call, from its arguments' and output's shapes.

Every operation that multiplies two tensors is counted: convolutions (any dimensions, groups, dilation,
transposed), linear layers, matrix products (`matmul` and `@`, `mm`, `bmm`, `addmm`, `baddbmm`),
`einsum`, `scaled_dot_product_attention` and `multi_head_attention_forward` (a composite call the tracer
sees whole: its projections and its two attention products). The counts are those of
`torch.utils.flop_counter.FlopCounterMode`, halved (one MAC is two FLOPs); docs/ANALYSIS.md lists
what counts 0.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.nn import functional as F

from cnnlab.meta import arg

_CONV = {"conv1d", "conv2d", "conv3d"}
_CONV_TRANSPOSE = {"conv_transpose1d", "conv_transpose2d", "conv_transpose3d"}
# Matrix products, with the position of their right-hand factor (`a @ b` for a non-tensor `a` calls
# b.__rmatmul__(a)): the summed dimension is its second-to-last (its only one for a vector).
_PRODUCTS = {"matmul": 1, "__matmul__": 1, "__rmatmul__": 0, "mm": 1, "bmm": 1, "addmm": 2, "baddbmm": 2}


def macs_of(func: Any, name: str, args: tuple, kwargs: dict, out: Any) -> int:
    """The MACs of `func(*args, **kwargs)` that returned `out` (0 for an operation that does not multiply
    two tensors)."""
    if name in _CONV or name == "linear":  # each output value sums one weight row times its inputs
        return out.numel() * arg(args, kwargs, 1, "weight", None)[0].numel()
    if name in _CONV_TRANSPOSE:  # each input value is spread by one weight slice over the outputs
        return args[0].numel() * arg(args, kwargs, 1, "weight", None)[0].numel()
    if name in _PRODUCTS:
        right = args[_PRODUCTS[name]] if len(args) > _PRODUCTS[name] else kwargs["other"]
        return out.numel() * right.shape[-2 if right.dim() >= 2 else 0]
    if name == "scaled_dot_product_attention":
        query, key = args[0], arg(args, kwargs, 1, "key", None)
        positions = out.numel() // out.shape[-1]  # (batch, heads, queries)
        return positions * key.shape[-2] * (query.shape[-1] + out.shape[-1])
    if name == "einsum":
        return _einsum_macs(args, out)
    if func is F.multi_head_attention_forward:
        return _attention_macs(args, kwargs)
    return 0


def _einsum_macs(args: tuple, out: torch.Tensor) -> int:
    """Two operands: the product of the sizes of every index that is kept or summed over both (an index
    of one operand alone that the result drops is summed before the product, costing no MAC; with no
    index summed over both it is an elementwise product). More operands, or an ellipsis: torch chooses
    the pairwise products, so PyTorch's own counter counts them."""
    equation = args[0] if isinstance(args[0], str) else ""
    operands = tuple(args[1]) if len(args) == 2 and isinstance(args[1], list | tuple) else args[1:]
    if len(operands) != 2 or "." in equation or not equation:
        return _counted(torch.einsum, args)
    inputs, arrow, output = equation.replace(" ", "").partition("->")
    left, right = inputs.split(",")
    if not arrow:  # implicit form: the result keeps the indices that appear once, in order
        output = "".join(sorted(c for c in set(inputs) if inputs.count(c) == 1))
    sizes: dict[str, int] = {}
    for letters, operand in ((left, operands[0]), (right, operands[1])):
        for letter, size in zip(letters, operand.shape, strict=True):
            sizes[letter] = max(sizes.get(letter, 1), size)
    if not set(left) & set(right) - set(output):
        return 0  # nothing summed over both: an elementwise product, as torch computes it
    return math.prod(size for c, size in sizes.items() if c in output or (c in left and c in right))


def _counted(func: Any, args: tuple) -> int:
    """MACs by PyTorch's own counter, for the rare call whose products torch chooses itself."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        func(*args)
    return counter.get_total_flops() // 2


def _attention_macs(args: tuple, kwargs: dict) -> int:
    """Multi-head attention's input and output projections (its linear layers) and its two products
    (queries × keys, weights × values), for a (L, N, E) query or an unbatched (L, E) one."""
    query, key = args[0], args[1]
    targets, sources, width = query.shape[0], key.shape[0], query.shape[-1]
    batch = query.shape[1] if query.dim() == 3 else 1
    if arg(args, kwargs, 17, "use_separate_proj_weight", False):
        q, k, v = (arg(args, kwargs, i, f"{n}_proj_weight", None).numel()
                   for i, n in ((18, "q"), (19, "k"), (20, "v")))
    else:
        q = k = v = arg(args, kwargs, 5, "in_proj_weight", None).numel() // 3
    projections = targets * (q + arg(args, kwargs, 11, "out_proj_weight", None).numel()) + sources * (k + v)
    return batch * (projections + 2 * targets * sources * width)
