"""One unit's arithmetic (`cnnlab.inspect.unit`): the window is the layer's padded input at the unit's
place, the kernel the layer's weight, the sum Σ window·kernel + bias, and all of it equals the layer's real
output, read here by an independent hook."""

import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.errors import ConfigError
from cnnlab.inspect import dataset_images, from_file, from_run, initial, model_input
from cnnlab.inspect.unit import explain, find_unit_layer, layer_io, unit_layers
from cnnlab.runs import service
from cnnlab.runs.store import RunStore
from cnnlab.runs.weights import save_weights
from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.weights import state_bytes
from cnnlab.zoo import build


def reference(model: nn.Module, image: torch.Tensor, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The first call of module `name`: its input and output on `image`, by a hook of this test's own."""
    seen = {}
    module = dict(model.named_modules())[name]

    def hook(_module: nn.Module, args: tuple, out: torch.Tensor) -> None:
        seen.setdefault("io", (args[0][0].clone(), out[0].clone()))

    handle = module.register_forward_hook(hook)
    with torch.no_grad():
        model.eval()(image.unsqueeze(0))
    handle.remove()
    return seen["io"]


def conv_window(x: torch.Tensor, conv: nn.Conv2d, channels: slice, unit: tuple[int, int]) -> np.ndarray:
    """The window by padding the map first, then slicing with the stride and the dilation's step."""
    (kh, kw), (sh, sw), (dh, dw), (ph, pw) = conv.kernel_size, conv.stride, conv.dilation, conv.padding
    padded = F.pad(x, (pw, pw, ph, ph))
    r, c = unit[0] * sh, unit[1] * sw
    return padded[channels, r:r + dh * (kh - 1) + 1:dh, c:c + dw * (kw - 1) + 1:dw].double().numpy()


def check_conv(model: nn.Module, image: torch.Tensor, name: str, channel: int, unit: tuple[int, int],
               channels: slice) -> object:
    """Every part of the explanation of a conv unit against the independent reading."""
    layer = find_unit_layer(model, unit_layers(model, tuple(image.shape)), name)
    got = explain(model, image, layer, channel, unit)
    x, out = reference(model, image, name)
    conv = dict(model.named_modules())[name]
    np.testing.assert_array_equal(got.window, conv_window(x, conv, channels, unit))
    np.testing.assert_array_equal(got.kernel, conv.weight[channel].detach().double().numpy())
    bias = None if conv.bias is None else conv.bias[channel].item()
    assert got.bias == bias
    expected = float((got.window * got.kernel).sum()) + (bias or 0.0)
    assert got.sum == pytest.approx(expected, rel=1e-12, abs=1e-12)
    real = out[channel, unit[0], unit[1]].item()
    assert got.value == real
    assert got.sum == pytest.approx(real, rel=1e-5, abs=1e-5)
    return got


def lenet_run(home) -> int:  # noqa: ANN001
    """A done LeNet run whose weights file holds weights this test set (seeded, far from the init's)."""
    store = RunStore(home)
    config = RunConfig(model=fit_input(model_config("lenet"), "shapes"), device="cpu")
    run_id = service.record_run(store, config)
    model = build(model_config("lenet"), device="cpu")
    with torch.no_grad():
        for weight in model.parameters():
            weight.copy_(torch.randn(weight.shape, generator=torch.Generator().manual_seed(weight.numel())))
    store.claim(run_id, os.getpid(), "cpu")
    store.finish(run_id, "done", weights_path=str(save_weights(store, run_id, state_bytes(model))))
    return run_id


def test_lenet_conv2_with_a_runs_saved_weights(tmp_path):
    subject = from_run(lenet_run(tmp_path), tmp_path)
    assert subject.model.conv2.weight[0, 0, 0, 0].item() == torch.randn(
        16 * 6 * 25, generator=torch.Generator().manual_seed(16 * 6 * 25))[0].item()  # the saved weights
    image = model_input(dataset_images("shapes", 1, subject.input, first=3), subject.normalize)[0]
    got = check_conv(subject.model, image, "conv2", channel=5, unit=(4, 7), channels=slice(0, 6))
    assert got.window.shape == (6, 5, 5) and not got.padding.any()  # conv2 is 5×5 over 6 channels, no pad
    assert got.activation == "Sigmoid"  # LeNet's: sig after every conv
    assert got.activated == pytest.approx(1 / (1 + np.exp(-got.value)), rel=1e-6)
    np.testing.assert_allclose(got.channel_sums, got.products.sum(axis=(1, 2)))


def test_a_stride_2_padded_conv_at_the_corner_reads_zero_padding():
    model = initial(model_config("seq:c3-4s2p1,relu,fc10", input="3x9x9"), seed=1).model
    image = torch.rand(3, 9, 9, generator=torch.Generator().manual_seed(0)) + 0.5  # no zero pixel
    got = check_conv(model, image, "conv1", channel=2, unit=(0, 0), channels=slice(0, 3))
    # Unit (0, 0) of a stride-2, pad-1 3×3 conv reads input rows and columns -1, 0, 1: its top row and
    # left column are padding, the other 2×2 cells the image's corner.
    assert got.rows.tolist() == [-1, 0, 1] and got.cols.tolist() == [-1, 0, 1]
    assert got.padding.tolist() == [[True, True, True], [True, False, False], [True, False, False]]
    assert (got.window[:, 0, :] == 0).all() and (got.window[:, :, 0] == 0).all()
    np.testing.assert_array_equal(got.window[:, 1:, 1:], image[:, :2, :2].double().numpy())
    assert got.activation == "ReLU" and got.activated == max(got.value, 0.0)
    last = check_conv(model, image, "conv1", channel=0, unit=(4, 4), channels=slice(0, 3))
    assert last.rows.tolist() == [7, 8, 9]  # the other corner: row and column 9 are padding
    assert last.padding[2].all() and last.padding[:, 2].all() and not last.padding[:2, :2].any()


def test_a_dilated_conv_reads_its_window_with_gaps():
    model = initial(model_config("seq:c3-4p2d2,relu,fc10", input="2x10x10"), seed=2).model
    image = torch.rand(2, 10, 10, generator=torch.Generator().manual_seed(1))
    got = check_conv(model, image, "conv1", channel=3, unit=(5, 1), channels=slice(0, 2))
    assert got.rows.tolist() == [3, 5, 7] and got.cols.tolist() == [-1, 1, 3]  # dilation 2, pad 2
    assert got.padding[:, 0].all() and not got.padding[:, 1:].any()


def test_a_depthwise_conv_reads_only_its_own_channel():
    model = initial(model_config("seq:c3-8p1,relu,c3-8p1g8,relu,fc10", input="1x8x8"), seed=3).model
    image = torch.rand(1, 8, 8, generator=torch.Generator().manual_seed(2))
    got = check_conv(model, image, "conv2", channel=5, unit=(2, 6), channels=slice(5, 6))
    assert got.inputs.tolist() == [5] and got.window.shape == (1, 3, 3)


def test_a_grouped_conv_reads_its_groups_channels():
    model = initial(model_config("seq:c3-8p1,relu,c3-4g2,relu,fc10", input="1x8x8"), seed=4).model
    image = torch.rand(1, 8, 8, generator=torch.Generator().manual_seed(3))
    got = check_conv(model, image, "conv2", channel=3, unit=(1, 1), channels=slice(4, 8))
    assert got.inputs.tolist() == [4, 5, 6, 7]  # 4 outputs in 2 groups: output 3 is group 1's


def test_a_resnet_conv_inside_a_residual_block():
    model = initial(model_config("resnet18", input="3x32x32"), seed=0).model
    image = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(4))
    got = check_conv(model, image, "layer2.0.conv1", channel=17, unit=(0, 3), channels=slice(0, 64))
    assert got.bias is None and got.window.shape == (64, 3, 3)  # stride 2, pad 1, no bias (batch norm)
    assert got.activation is None  # a batch norm follows it, not an activation
    top = got.top(8)
    assert len(top.inputs) == 8 and top.rest_count == 56
    assert float(top.sums.sum()) + top.rest == pytest.approx(float(got.channel_sums.sum()), rel=1e-12)
    assert list(np.abs(top.sums)) == sorted(np.abs(got.channel_sums), reverse=True)[:8]


def test_an_uploaded_pt2_whose_weights_the_test_sets(tmp_path):
    net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 2))
    with torch.no_grad():
        net[0].weight.copy_(torch.arange(54, dtype=torch.float32).reshape(3, 2, 3, 3) / 100)
        net[0].bias.copy_(torch.tensor([0.5, -1.0, 2.0]))
    path = tmp_path / "net.pt2"
    torch.export.save(torch.export.export(net.eval(), (torch.zeros(1, 2, 4, 4),)), path)
    model = from_file(path).model
    image = torch.arange(32, dtype=torch.float32).reshape(2, 4, 4) / 10
    layer = find_unit_layer(model, unit_layers(model, (2, 4, 4)), "0")
    got = explain(model, image, layer, channel=1, unit=(0, 1))
    # Output 1, unit (0, 1): rows -1..1 (row -1 padding), columns 0..2; weight w[1, c, i, j] =
    # (18 + 9c + 3i + j)/100, pixel x[c, y, x] = (16c + 4y + x)/10. Channel 0: 21·0 + 22·1 + 23·2 + 24·4
    # + 25·5 + 26·6 = 445; channel 1: 30·16 + 31·17 + 32·18 + 33·20 + 34·21 + 35·22 = 3727; so
    # (445 + 3727)/1000 - 1 = 3.172.
    expected = 3.172
    assert got.sum == pytest.approx(expected, rel=1e-6)  # the file holds float32 weights
    assert got.value == pytest.approx(expected, rel=1e-6)
    assert got.padding[0].all() and not got.padding[1:].any() and got.activation == "ReLU"


def test_a_max_pool_units_winner_is_its_windows_max():
    model = initial(model_config("seq:c3-4p1,relu,m3s2p1,fc10", input="1x9x9"), seed=5).model
    image = torch.rand(1, 9, 9, generator=torch.Generator().manual_seed(5))
    layer = find_unit_layer(model, unit_layers(model, (1, 9, 9)), "pool1")
    x, out = reference(model, image, "pool1")
    for unit in [(0, 0), (2, 3), (4, 4)]:
        got = explain(model, image, layer, channel=2, unit=unit)
        inside = got.window[0][~got.padding]
        assert got.window[0][got.winner] == inside.max() == got.sum == got.value == out[2, unit[0], unit[1]]
        r, c = got.rows[got.winner[0]], got.cols[got.winner[1]]
        assert x[2, r, c].item() == got.value  # the winner is a real cell of the input
    corner = explain(model, image, layer, channel=2, unit=(0, 0))
    assert corner.padding[0].all() and corner.padding[:, 0].all()


def test_a_mean_pool_unit_and_a_linear_unit():
    subject = initial(model_config("lenet"), seed=0)
    image = torch.rand(1, 28, 28, generator=torch.Generator().manual_seed(6))
    layers = unit_layers(subject.model, (1, 28, 28))
    pool = explain(subject.model, image, find_unit_layer(subject.model, layers, "pool2"), 7, (3, 1))
    assert pool.divisor == 4 and pool.sum == pytest.approx(pool.window.mean()) and pool.winner is None
    assert pool.value == pytest.approx(pool.sum, rel=1e-6)
    fc = find_unit_layer(subject.model, layers, "fc2")
    x, out = reference(subject.model, image, "fc2")
    got = explain(subject.model, image, fc, 11)
    weight = subject.model.fc2.weight[11].detach().double().numpy()
    np.testing.assert_array_equal(got.window, x.double().numpy())
    assert got.sum == pytest.approx(float(x.double().numpy() @ weight) + subject.model.fc2.bias[11].item())
    assert got.value == out[11].item() and got.sum == pytest.approx(got.value, rel=1e-5, abs=1e-6)


def test_stepping_reads_units_from_one_forward():
    model = initial(model_config("lenet"), seed=0).model
    image = torch.rand(1, 28, 28, generator=torch.Generator().manual_seed(7))
    layer = find_unit_layer(model, unit_layers(model, (1, 28, 28)), "conv1")
    from cnnlab.inspect.unit import explain_unit

    io = layer_io(model, image, layer)
    _, out = reference(model, image, "conv1")
    for unit in [(0, 0), (0, 1), (13, 27)]:
        assert explain_unit(io, 4, unit).value == out[4, unit[0], unit[1]].item()


def test_bad_layers_channels_and_units_are_one_line_each():
    model = initial(model_config("lenet"), seed=0).model
    layers = unit_layers(model, (1, 28, 28))
    with pytest.raises(ConfigError, match=r"^layer 'sigmoid1' is a Sigmoid, not a convolution, pooling or "
                                          r"linear layer; those are: conv1, pool1, conv2, pool2, fc1, fc2, "
                                          r"fc3$"):
        find_unit_layer(model, layers, "sigmoid1")
    with pytest.raises(ConfigError, match=r"^the model has no layer 'conv9'"):
        find_unit_layer(model, layers, "conv9")
    conv2 = find_unit_layer(model, layers, "conv2")
    with pytest.raises(ConfigError, match=r"^channel 16 is outside conv2's 16 channels; they run from 0 to "
                                          r"15$"):
        conv2.check(16, (0, 0))
    with pytest.raises(ConfigError, match=r"^unit \(10, 0\) is outside conv2's 10×10 map; rows and columns "
                                          r"run from 0 to 9 and 9$"):
        conv2.check(0, (10, 0))
    with pytest.raises(ConfigError, match="fc1 is a linear layer: it has no map of units"):
        find_unit_layer(model, layers, "fc1").check(0, (0, 0))
