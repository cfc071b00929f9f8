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
    except RuntimeError:
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
