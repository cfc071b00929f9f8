"""The meta-device shortcuts agree with the real kernels: same output shapes, and errors where they err."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab import build, model_config
from cnnlab.meta import MetaMode


def outcome(fn, *tensors: torch.Tensor, **options):
    """The output shape of `fn`, or 'error' if it raises."""
    try:
        return tuple(fn(*tensors, **options).shape)
    except (RuntimeError, IndexError):
        return "error"


def meta(*tensors: torch.Tensor) -> list[torch.Tensor]:
    return [t.to("meta") for t in tensors]


@pytest.mark.parametrize("x, w, b", [
    ((2, 8), (5, 8), (5,)), ((2, 3, 8), (5, 8), None), ((8,), (5, 8), (5,)),
    ((2, 7), (5, 8), (5,)), ((2, 8), (5, 8), (4,)),
])
def test_linear_shortcut_matches_the_real_kernel(x, w, b):
    cpu = [torch.randn(x), torch.randn(w)] + ([torch.randn(b)] if b else [])
    with MetaMode():
        shortcut = outcome(F.linear, *meta(*cpu))
    assert shortcut == outcome(F.linear, *cpu)


@pytest.mark.parametrize("x, c", [((2, 4, 5, 5), 4), ((1, 4, 1, 1), 4), ((2, 4, 5, 5), 3), ((2, 6, 9), 6)])
def test_inference_batch_norm_shortcut_matches_the_real_kernel(x, c):
    cpu = [torch.randn(x), torch.zeros(c), torch.ones(c)]
    options = {"weight": torch.ones(c), "bias": torch.zeros(c)}
    meta_options = {k: v.to("meta") for k, v in options.items()}
    with MetaMode():
        shortcut = outcome(F.batch_norm, *meta(*cpu), **meta_options)
    assert shortcut == outcome(F.batch_norm, *cpu, **options)


def test_weight_initialisation_is_skipped_only_on_meta():
    with MetaMode():
        kept = nn.init.constant_(torch.zeros(3), 1.0)
    assert kept.sum() == 0
    model = build(model_config("vgg:1x8,1x16", "3x32x32", batch_norm=True), device="cpu")
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            bound = 1 / math.sqrt(module.weight[0].numel())  # torch's default kaiming-uniform bound
            assert module.weight.std() > bound / 4 and module.weight.abs().max() <= bound
        if isinstance(module, nn.BatchNorm2d):
            assert (module.weight == 1).all() and (module.running_var == 1).all()


@pytest.mark.parametrize("fn, shapes", [
    (F.gelu, [(2, 3, 4)]), (lambda x: F.relu(x, inplace=True), [(2, 3)]), (torch.sigmoid, [(5,)]),
    (lambda x: F.softmax(x, -1), [(2, 7)]), (lambda x: x.softmax(1), [(2, 7, 3)]),
    (lambda x: x.permute(1, 0) * 2, [(3, 4)]), (lambda x, y: x + y, [(2, 3, 4), (3, 1)]),
    (lambda x, y: x + y, [(2, 3, 4), (5, 4)]), (lambda x, y: torch.mul(x, y), [(3, 1), (2, 3, 4)]),
    (lambda x, y: x.add_(y), [(2, 3), (3,)]), (lambda x, y: x.add_(y), [(3,), (2, 3)]),
    (lambda x, y: x @ y, [(2, 1, 3, 4), (5, 4, 6)]), (lambda x, y: torch.matmul(x, y), [(3, 4), (5, 6)]),
    (lambda x, y: torch.cat([x, y], 1), [(2, 3, 4), (2, 5, 4)]),
    (lambda x, y: torch.cat([x, y], 1), [(2, 3, 4), (3, 5, 4)]),
    (lambda x, w: F.layer_norm(x.permute(0, 2, 1), (3,), w), [(2, 3, 4), (3,)]),
    (lambda x, w: F.layer_norm(x, (3,), w), [(2, 3, 4), (3,)]),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v), [(2, 4, 5, 8), (2, 4, 6, 8), (2, 4, 6, 3)]),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v), [(2, 4, 5, 8), (2, 4, 6, 7), (2, 4, 6, 3)]),
])
def test_elementwise_and_attention_shortcuts_match_the_real_kernels(fn, shapes):
    cpu = [torch.randn(s) for s in shapes]
    with MetaMode():
        shortcut = outcome(fn, *meta(*cpu))
    assert shortcut == outcome(fn, *cpu)


@pytest.mark.parametrize("kdim, need_weights, average", [(None, False, True), (6, True, True),
                                                         (None, True, False)])
def test_multi_head_attention_shortcut_matches_the_real_module(kdim, need_weights, average):
    attention = nn.MultiheadAttention(8, 2, kdim=kdim, vdim=kdim).eval()
    query, key = torch.randn(5, 3, 8), torch.randn(7, 3, kdim or 8)

    def shapes(module, q, k):
        out, weights = module(q, k, k, need_weights=need_weights, average_attn_weights=average)
        return tuple(out.shape), None if weights is None else tuple(weights.shape)

    with torch.no_grad():
        real = shapes(attention, query, key)
        with MetaMode():
            shortcut = shapes(attention.to("meta"), *meta(query, key))
    assert shortcut == real


def test_in_place_fills_leave_a_meta_tensor_and_fill_a_real_one():
    with MetaMode():
        kept = torch.zeros(3)
        kept.normal_()
        on_meta = torch.empty(3, device="meta")
        assert on_meta.uniform_() is on_meta
    assert kept.abs().sum() > 0


def layout(fn, *tensors: torch.Tensor):
    """The output's shape, strides and type, or 'error' if it raises."""
    try:
        out = fn(*tensors)
    except (RuntimeError, IndexError, ValueError):
        return "error"
    return tuple(out.shape), out.stride(), out.dtype


@pytest.mark.parametrize("fn, shapes", [
    (lambda x, w: F.conv2d(x, w), [(2, 3, 9, 9), (4, 3, 3, 3)]),
    (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), [(1, 3, 8, 8), (6, 3, 3, 3), (6,)]),
    (lambda x, w: F.conv2d(x, w, stride=(2, 1), padding=(0, 2), dilation=(1, 2)),
     [(1, 2, 9, 7), (4, 2, 3, 3)]),
    (lambda x, w: F.conv2d(x, w, groups=2), [(1, 4, 5, 5), (6, 2, 1, 1)]),
    (lambda x, w: F.conv2d(x, w, padding="same"), [(1, 2, 6, 6), (3, 2, 4, 4)]),
    (lambda x, w: F.conv2d(x, w), [(1, 3, 5, 5), (4, 2, 3, 3)]),  # channels do not match
    (lambda x, w: F.conv2d(x, w), [(1, 3, 2, 2), (4, 3, 3, 3)]),  # the kernel is larger than the input
    (lambda x, w, b: F.conv2d(x, w, b), [(1, 3, 5, 5), (4, 3, 3, 3), (3,)]),  # a bias of 3 for 4 outputs
    (lambda x, w: F.conv2d(x.permute(0, 3, 1, 2), w), [(1, 5, 5, 3), (4, 3, 3, 3)]),  # channels last
    (lambda x: torch.roll(x, (1, -2), (1, 2)), [(2, 5, 6, 3)]),
    (lambda x: x.permute(0, 2, 1).roll(1, 2), [(2, 5, 6)]),
    (lambda x: torch.roll(x, (1, 2), (1, 3)), [(2, 5, 6)]),  # no dimension 3
    (lambda x, m: x.masked_fill(m != 0, -100.0), [(4, 5, 5), (4, 1, 5)]),
    (lambda x, m: x.masked_fill(m == 0, 0.0), [(4, 5, 5), (3, 5, 5)]),  # the mask does not broadcast
    (lambda x, y: x != y, [(2, 3, 4), (3, 1)]), (lambda x: x.permute(2, 0, 1) == 0, [(2, 3, 4)]),
    (lambda x, y: x.permute(2, 0, 1) * y, [(2, 3, 4), (1, 1, 3)]),  # laid out as the permuted operand
    (lambda x: x[:, 1:] + 1, [(2, 3, 4)]),  # a slice: not dense, the real kernel lays it out
])
def test_convolution_and_elementwise_shortcuts_lay_out_their_output_as_the_meta_kernels(fn, shapes):
    """What the trace ran before the shortcut: the meta kernel itself (lenient where the CPU's is not:
    a bias of the wrong length, channels last)."""
    tensors = meta(*(torch.randn(s) for s in shapes))
    with MetaMode():
        shortcut = layout(fn, *tensors)
    assert shortcut == layout(fn, *tensors)
