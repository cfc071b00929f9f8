"""Feature maps, kernels and top images against the real model's own forward pass and hand-made cases."""

import numpy as np
import pytest
import torch
from torch import nn

from cnnlab import model_config
from cnnlab.analysis import analyze
from cnnlab.errors import ConfigError
from cnnlab.inspect import feature_maps, find_layer, initial, kernels, spatial_layers, top_images


@pytest.mark.parametrize(("name", "shape", "options"), [
    ("resnet18", "3x64x64", {"width_divisor": 8}),
    ("vgg11", "1x64x64", {"width_divisor": 16, "batch_norm": True}),
    ("lenet", "1x28x28", {}),
])
def test_feature_maps_have_the_engines_shapes_and_a_hooks_values(name, shape, options):
    subject = initial(model_config(name, shape, **options), seed=3)
    model, inp = subject.model, subject.config.input.as_tuple()
    layers = spatial_layers(model, inp)
    image = torch.rand(*inp, generator=torch.Generator().manual_seed(1))
    maps = {m.layer: m for m in feature_maps(model, image, layers, channels=5)}
    # The engine's table (leaf rows, in call order): a module called twice has two rows.
    rows: dict[str, list] = {}
    for row in analyze(subject.config).layers:
        rows.setdefault(row.name.split(" (")[0], []).append(row)
    for layer in layers:
        if layer.module in rows:
            assert maps[layer.name].shape == rows[layer.module][layer.call - 1].output_shape
    # Values: an independent forward hook on the real model, copying each call's output as it is made.
    seen: dict[str, list[torch.Tensor]] = {}
    hooks = [module.register_forward_hook(
        lambda _m, _i, out, key=key: seen.setdefault(key, []).append(out.detach().clone()))
        for key, module in model.named_modules() if key]
    with torch.no_grad():
        model.eval()(image.unsqueeze(0))
    for hook in hooks:
        hook.remove()
    for layer in layers:
        expected = seen[layer.module][layer.call - 1][0, :5].numpy()
        np.testing.assert_array_equal(maps[layer.name].maps, expected)
        assert maps[layer.name].maps.shape == (min(5, layer.shape[0]), *layer.shape[1:])


def test_first_colour_kernels_stay_rgb_later_ones_are_averaged_over_inputs():
    subject = initial(model_config("resnet18", "3x32x32", stem="cifar", width_divisor=16))
    model = subject.model
    conv = model.layer1[0].conv1  # 4 -> 4 channels, 3×3
    with torch.no_grad():
        conv.weight.copy_(torch.arange(4).view(4, 1, 1, 1) * 10.0 + torch.arange(4).view(1, 4, 1, 1))
    np.testing.assert_array_equal(kernels(model, "layer1.0.conv1").weights, np.broadcast_to(
        (np.arange(4) * 10.0 + 1.5).reshape(4, 1, 1), (4, 3, 3)))
    first = kernels(model, "conv1").weights
    assert first.shape == (4, 3, 3, 3)
    np.testing.assert_array_equal(first, model.conv1.weight.detach().numpy())
    with pytest.raises(ConfigError, match="'fc' is not a convolution of this model"):
        kernels(model, "fc")


def test_top_images_rank_by_the_channels_peak_and_give_its_unit():
    model = nn.Sequential(nn.Conv2d(1, 2, 1, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([1.0, -1.0]).view(2, 1, 1, 1))
    images = torch.zeros(5, 1, 6, 6)
    peaks = [(0.2, 1, 1), (0.9, 4, 2), (0.5, 0, 5), (0.7, 3, 3), (0.1, 5, 0)]
    for i, (value, row, col) in enumerate(peaks):
        images[i, 0, row, col] = value
    layer = find_layer(model, spatial_layers(model, (1, 6, 6)), "0")
    tops = top_images(model, images, layer, channel=0, k=3)
    assert [(t.index, t.unit, t.box) for t in tops] == [(1, (4, 2), (4, 2, 4, 2)), (3, (3, 3), (3, 3, 3, 3)),
                                                        (2, (0, 5), (0, 5, 0, 5))]
    assert [t.activation for t in tops] == pytest.approx([0.9, 0.7, 0.5])
    with pytest.raises(ConfigError, match="channel 2 is outside 0's 2 channels"):
        top_images(model, images, layer, channel=2)
    with pytest.raises(ConfigError, match="number of top images is 9; cnnlab caps it at 5"):
        top_images(model, images, layer, channel=0, k=9)


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_a_runs_untrained_weights_are_the_ones_its_training_starts_from():
    from cnnlab.inspect.subject import initial_model
    from cnnlab.train.config import RunConfig, fit_input
    from cnnlab.train.setup import prepare

    config = RunConfig(model=fit_input(model_config("lenet"), "shapes"), seed=7, device="cpu",
                       limit_train=64, limit_test=64)
    started = prepare(config, torch.device("cpu")).model  # as a run sets it up
    fresh = initial_model(config.model, config.seed, config.init)
    for (name, a), (_, b) in zip(started.state_dict().items(), fresh.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    other = initial_model(config.model, 8, config.init)
    assert not torch.equal(other.conv1.weight, fresh.conv1.weight)
