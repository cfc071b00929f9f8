"""The effective receptive field against closed forms, and against the engine's theoretical field."""

import numpy as np
import pytest
import torch
from torch import nn

from cnnlab import build, model_config
from cnnlab.inspect import effective_field, find_layer, initial, spatial_layers
from cnnlab.inspect.field import crop_window
from cnnlab.spec import PRESETS


def conv_stack(k: int, kernel: int = 3) -> nn.Sequential:
    """k convolutions k×k, one channel, every weight 1/kernel², no bias, no nonlinearity."""
    stack = nn.Sequential(*(nn.Conv2d(1, 1, kernel, padding=kernel // 2, bias=False) for _ in range(k)))
    for conv in stack:
        nn.init.constant_(conv.weight, 1 / kernel**2)
    return stack


def trinomial(k: int) -> np.ndarray:
    """Coefficients of (1 + x + x²)^k / 3^k."""
    coefficients = np.array([1.0])
    for _ in range(k):
        coefficients = np.convolve(coefficients, [1.0, 1.0, 1.0])
    return coefficients / 3.0**k


def last_layer(model: nn.Module, side: int):
    layers = spatial_layers(model, (1, side, side))
    return layers[-1]


@pytest.mark.parametrize("k", [1, 2, 5, 9])
def test_stacked_3x3_convs_have_the_trinomial_marginal(k):
    side = 41
    model = conv_stack(k)
    layer = last_layer(model, side)
    field = effective_field(model, torch.rand(3, 1, side, side), layer, (20, 20))
    top, left, bottom, right = field.box
    assert (top, left, bottom, right) == (20 - k, 20 - k, 20 + k, 20 + k)
    expected = np.zeros(side)
    expected[top:bottom + 1] = trinomial(k)
    np.testing.assert_allclose(field.heatmap.sum(axis=1), expected, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(field.heatmap.sum(axis=0), expected, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(field.heatmap, np.outer(expected, expected), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize(("k", "kernel"), [(4, 3), (1, 5)])
def test_stacks_built_from_a_seq_string_have_the_closed_form_fields(k, kernel):
    """The same stacks through cnnlab's own model strings and builder (a classifier follows them)."""
    string = ",".join([f"c{kernel}-1p{kernel // 2}nb"] * k)
    model = build(model_config(f"seq:{string}", "1x21x21"), device="cpu")
    for conv in (m for m in model.modules() if isinstance(m, nn.Conv2d)):
        nn.init.constant_(conv.weight, 1 / kernel**2)
    layer = find_layer(model, spatial_layers(model, (1, 21, 21)), f"conv{k}")
    field = effective_field(model, torch.rand(2, 1, 21, 21), layer)
    reach = k * (kernel // 2)
    expected = np.zeros(21)
    expected[10 - reach:11 + reach] = trinomial(k) if kernel == 3 else 1 / kernel
    np.testing.assert_allclose(field.heatmap, np.outer(expected, expected), rtol=1e-12, atol=1e-300)


def test_a_5x5_conv_sees_a_flat_window():
    model = conv_stack(1, kernel=5)
    field = effective_field(model, torch.rand(2, 1, 16, 16), last_layer(model, 16), (7, 9))
    expected = np.zeros((16, 16))
    expected[5:10, 7:12] = 1 / 25
    np.testing.assert_allclose(field.heatmap, expected, rtol=1e-12, atol=0)
    # Centred squares of side 1, 3, 5 hold 1/25, 9/25 and all of the mass.
    assert (field.side50, field.side95, field.area_ratio95) == (5, 5, 1.0)
    assert field.images == 2


def test_side_figures_of_a_3x3_pair():
    # Two 3×3 convs: marginal (1, 2, 3, 2, 1)/9; the centred 3×3 square holds (7/9)² ≈ 0.60.
    model = conv_stack(2)
    field = effective_field(model, torch.rand(1, 1, 15, 15), last_layer(model, 15))
    assert field.unit == (7, 7)
    assert (field.side50, field.side95) == (3, 5)
    assert field.area_ratio95 == 1.0


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_float32_loses_the_tails_of_a_deep_stack_float64_keeps_them():
    """60 convs: the field's corners carry 9⁻⁶⁰ ≈ 6e-58 of the gradient, below float32's smallest
    number (1.4e-45); this is why the effective field is computed in float64."""
    k, side = 60, 125
    model = conv_stack(k)
    layer = last_layer(model, side)
    x = torch.rand(1, 1, side, side)
    box = np.zeros((side, side), dtype=bool)
    box[62 - k:62 + k + 1, 62 - k:62 + k + 1] = True
    exact = effective_field(model, x, layer, (62, 62))
    assert np.array_equal(exact.heatmap > 0, box)
    np.testing.assert_allclose(exact.heatmap.sum(axis=1)[2:-2], trinomial(k), rtol=1e-9, atol=0)
    single = effective_field(model, x, layer, (62, 62), dtype=torch.float32)
    lost = box & (single.heatmap == 0)
    assert lost[62 - k, 62 - k] and lost[62 + k, 62 + k]  # the corners underflow to zero
    assert lost.sum() >= 200  # of the 14,641 pixels of the box: those below float32's range
    assert (exact.heatmap[lost] < 1e-44).all()
    assert not (single.heatmap[~box] > 0).any()


SMALL = {"vgg11": 16, "vgg13": 16, "vgg16": 16, "vgg19": 16, "resnet18": 8, "resnet34": 8, "resnet50": 8}


@pytest.mark.slow  # a backward pass through every preset at its full input size
@pytest.mark.parametrize("preset", list(PRESETS))
def test_no_gradient_outside_the_theoretical_box_for_every_preset(preset):
    """At the default input; width divided where the family allows (channels do not change fields)."""
    options = {"width_divisor": SMALL[preset]} if preset in SMALL else {}
    subject = initial(model_config(preset, **options), seed=1)
    model = subject.model.train()  # the field is taken in eval mode whatever mode the model is in
    channels, height, width = subject.config.input.as_tuple()
    layers = spatial_layers(model, (channels, height, width))
    x = torch.rand(1, channels, height, width, generator=torch.Generator().manual_seed(0)) + 0.1
    for layer, unit in ((layers[len(layers) // 2], (0, 0)), (layers[-1], None), (layers[-1], (0, 0))):
        field = effective_field(model, x, layer, unit, crop=False)  # the whole image, every pixel
        if unit == (0, 0):  # the corner: the smallest crop
            cropped = effective_field(model, x, layer, unit)  # only the part the unit needs
            np.testing.assert_allclose(cropped.heatmap, field.heatmap, rtol=1e-9, atol=1e-15)
            assert (cropped.side50, cropped.side95) == (field.side50, field.side95)
        top, left, bottom, right = field.box
        inside = np.zeros((height, width), dtype=bool)
        inside[max(top, 0):bottom + 1, max(left, 0):right + 1] = True
        assert field.heatmap.sum() == pytest.approx(1.0)
        assert (field.heatmap[~inside] == 0).all(), f"{preset} {layer.name} {field.unit}"
        assert (bottom - top + 1, right - left + 1) == layer.rf


def test_lenet_sigmoids_spread_the_gradient_over_the_whole_box():
    # Sigmoids and average pools never zero a path: the gradient's support is the box, clipped.
    # By hand: conv1 5 p2 (rf 5, jump 1, start 0), pool1 2/2 (6, 2, 0.5), conv2 5 (14, 2, 4.5),
    # pool2 2/2 (16, 4, 5.5): unit (0, 4) is centred at (5.5, 21.5), rows -2..13, columns 14..29.
    subject = initial(model_config("lenet"), seed=0)
    layer = find_layer(subject.model, spatial_layers(subject.model, (1, 28, 28)), "pool2")
    field = effective_field(subject.model, torch.rand(2, 1, 28, 28), layer, (0, 4))
    assert layer.rf == (16, 16) and field.box == (-2, 14, 13, 29)
    inside = np.zeros((28, 28), dtype=bool)
    inside[0:14, 14:28] = True
    assert np.array_equal(field.heatmap > 0, inside)


def test_alexnet_pool3_box_is_195_pixels():
    # By hand: conv1 11/4 p1 (rf 11, jump 4, start 4), pool1 3/2 (19, 8, 8), conv2 5 p2 (51, 8, 8),
    # pool2 3/2 (67, 16, 16), conv3-5 3 p1 (163, 16, 16), pool3 3/2 (195, 32, 32).
    model = build(model_config("alexnet"))
    layer = find_layer(model, spatial_layers(model, (1, 224, 224)), "pool3")
    assert (layer.shape, layer.rf, layer.jump) == ((256, 5, 5), (195, 195), (32, 32))
    assert layer.start == (32.0, 32.0)
    assert layer.box((2, 2)) == (-1, -1, 193, 193)
    assert layer.box((0, 4)) == (-65, 63, 129, 257)


def test_resnet18_layer4_box_is_435_pixels_and_exceeds_the_image():
    # By hand: stem to rf 11 / jump 4, layer1 +4·8 = 43, layer2 +16·4 = 99 (jump 8), layer3 +32·3 + 16
    # = 211 (jump 16), layer4 +32 + 64·3 = 435 (jump 32); start 0.
    model = build(model_config("resnet18"))
    layer = find_layer(model, spatial_layers(model, (3, 224, 224)), "layer4")
    assert (layer.shape[1:], layer.rf, layer.jump, layer.start) == ((7, 7), (435, 435), (32, 32), (0.0, 0.0))
    assert layer.box((3, 3)) == (-121, -121, 313, 313)
    assert layer.box((0, 6)) == (-217, -25, 217, 409)


def test_the_crop_starts_on_the_jump_and_keeps_the_padding_at_the_edges():
    model = build(model_config("alexnet"))
    layer = find_layer(model, spatial_layers(model, (1, 224, 224)), "pool3")  # jump 32
    assert crop_window(layer, (2, 2), (224, 224)) == ((0, 194), (0, 194))  # box [-1, 193]: from the edge
    assert crop_window(layer, (4, 3), (224, 224)) == ((32, 224), (0, 224))  # box [63, 257] x [31, 225]
    conv = find_layer(model, spatial_layers(model, (1, 224, 224)), "conv2")  # rf 51, jump 8, start 8
    assert conv.box((10, 12)) == (63, 79, 113, 129)
    assert crop_window(conv, (10, 12), (224, 224)) == ((56, 114), (72, 130))


def test_the_callers_images_are_left_alone():
    model = conv_stack(1)
    images = torch.rand(2, 1, 8, 8)
    effective_field(model, images, last_layer(model, 8), dtype=torch.float32)
    assert not images.requires_grad and images.grad is None
