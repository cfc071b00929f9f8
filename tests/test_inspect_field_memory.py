"""The effective field goes through its images in chunks: the same field, a peak that does not grow with
the number of images, and a refusal when one image alone would not fit (limits.MAX_FIELD_BYTES)."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from cnnlab import limits
from cnnlab.cli import main
from cnnlab.errors import ConfigError
from cnnlab.inspect import effective_field, spatial_layers
from cnnlab.inspect.field import chunk_size, image_bytes


def relu_stack(channels: int = 4) -> nn.Sequential:
    """Two 3×3 convs with ReLUs: per-image gradients differ, so averaging them in chunks is tested."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU())


def test_one_images_estimate_counts_the_input_and_each_leaf_output_three_times_in_float64():
    model = relu_stack(4)
    layers = spatial_layers(model, (1, 10, 10))
    # Up to the second conv: input 100 values, conv 400, ReLU 400, conv 400; three times, 8 bytes each.
    assert image_bytes(model, layers[2], (1, 10, 10)) == 3 * 8 * (100 + 3 * 400)
    assert image_bytes(model, layers[3], (1, 10, 10)) == 3 * 8 * (100 + 4 * 400)
    assert image_bytes(model, layers[3], (1, 10, 10), dtype=torch.float32) == 3 * 4 * (100 + 4 * 400)
    # The model as a whole (a container): every leaf in it.
    assert image_bytes(nn.Sequential(model), spatial_layers(nn.Sequential(model), (1, 10, 10))[0],
                       (1, 10, 10)) == 3 * 8 * (100 + 4 * 400)


def test_the_chunk_is_as_many_images_as_the_bound_holds():
    model = relu_stack(4)
    layer = spatial_layers(model, (1, 10, 10))[-1]
    need = 3 * 8 * (100 + 4 * 400)
    assert chunk_size(model, layer, (1, 10, 10), memory=need) == 1
    assert chunk_size(model, layer, (1, 10, 10), memory=3 * need - 1) == 2
    assert chunk_size(model, layer, (1, 10, 10)) == limits.MAX_FIELD_BYTES // need


@pytest.mark.parametrize("per_chunk", [1, 2, 3])
def test_chunks_give_the_field_of_one_pass(per_chunk):
    model = relu_stack(4)
    layer = spatial_layers(model, (1, 12, 12))[-1]
    images = torch.randn(7, 1, 12, 12, generator=torch.Generator().manual_seed(1))
    whole = effective_field(model, images, layer, (3, 8))
    need = image_bytes(model, layer, (1, 12, 12))
    chunked = effective_field(model, images, layer, (3, 8), memory=per_chunk * need)
    # By hand, one image at a time: the mean of the absolute input gradients, normalised.
    grads = []
    for image in images.double():
        x = image[None].clone().requires_grad_(True)
        out = model.double()(x)
        (grad,) = torch.autograd.grad(out[0, :, 3, 8].sum(), x)
        grads.append(grad.abs().sum(dim=1)[0].numpy())
    expected = np.mean(grads, axis=0) / np.mean(grads, axis=0).sum()
    np.testing.assert_allclose(chunked.heatmap, whole.heatmap, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(chunked.heatmap, expected, rtol=1e-12, atol=1e-300)
    assert (chunked.side50, chunked.side95, chunked.images) == (whole.side50, whole.side95, 7)


def test_an_image_over_the_bound_is_refused_in_one_line():
    model = relu_stack(4)
    layer = spatial_layers(model, (1, 10, 10))[-1]
    with pytest.raises(ConfigError, match=r"limits\.MAX_FIELD_BYTES") as info:
        effective_field(model, torch.rand(1, 1, 10, 10), layer, memory=3 * 8 * 1700 - 1)
    assert "\n" not in str(info.value) and "39.8 KiB" in str(info.value)


def test_the_cli_refuses_a_huge_input_naming_the_limit(capsys):
    # Two 64-channel convs on 16×1024×1024: 3·8·(16 + 64 + 64)·2²⁰ bytes = 3.375 GiB per image.
    status = main(["field", "seq:c3-64p1,c3-64p1,gap,fc10", "--input", "16x1024x1024", "--layer", "conv2",
                   "--images", "1"])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err == ("cnnlab: error: one image's effective field at conv2 needs about 3.4 GiB, over the "
                   "limit of 2.0 GiB (limits.MAX_FIELD_BYTES); choose an earlier layer or a smaller input\n")


PEAK = """
import json, resource, sys, torch
from torch import nn
from cnnlab.inspect import effective_field, spatial_layers
from cnnlab.inspect.field import image_bytes
torch.set_num_threads(1)
count = int(sys.argv[1])
torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU())
layer = spatial_layers(model, (1, 128, 128))[-1]
need = image_bytes(model, layer, (1, 128, 128))
images = torch.rand(count, 1, 128, 128)
effective_field(model, images[:8], layer, crop=False, memory=2 * need)  # warm up: kernels, allocator
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
effective_field(model, images, layer, crop=False, memory=2 * need)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"need": need, "before": before, "after": after}))
"""


@pytest.mark.slow  # a cnnlab process of its own
def test_the_peak_memory_does_not_grow_with_the_number_of_images():
    """Chunks of 2 images, each estimated at 48.4 MiB: once 8 images have gone through, 48 more raise
    the peak by less than two images' estimate, one chunk (measured: 0 to 34 MiB; the allocator's
    reuse varies). In one pass the 48 would raise it by about 2.2 GiB."""
    done = subprocess.run([sys.executable, "-c", PEAK, "48"], capture_output=True, text=True, timeout=300,
                          check=True)
    peak = json.loads(done.stdout)
    assert peak["need"] == 3 * 8 * (128 * 128 + 4 * 32 * 128 * 128)
    assert peak["after"] - peak["before"] < 2 * peak["need"]


def test_more_images_than_the_image_budget_holds_is_refused_before_any_is_loaded(capsys):
    # 256 images of 16×1024×1024 float32 values: 256 × 64 MiB = 16 GiB; 2 GiB holds 32 of them.
    status = main(["field", "seq:c3-4p1,relu", "--input", "16x1024x1024", "--layer", "conv1",
                   "--images", "256", "--dataset", "shapes"])
    assert status == 2
    assert capsys.readouterr().err == (
        "cnnlab: error: 256 images at 16x1024x1024 take 16.0 GiB, over the limit of 2.0 GiB "
        "(limits.MAX_IMAGE_BYTES): at most 32 fit; ask for fewer images or a smaller input\n")
