"""FC→conv: the rewritten networks compute the FC networks' outputs, and slide over larger images."""

import pytest
import torch
from torch import nn

import cnnlab
from cnnlab import ConfigError, model_config
from cnnlab.fc_as_conv import fc_as_conv, fc_as_conv_summary
from cnnlab.spec import InputSpec

SMALL = {"lenet": {}, "alexnet": {"fc_width": 64}, "vgg11": {"width_divisor": 16, "fc_width": 64}}
INPUTS = {"lenet": "1x28x28", "alexnet": "1x96x96", "vgg11": "1x64x64"}


@pytest.mark.parametrize("name", list(SMALL))
def test_outputs_equal_the_fc_network_on_the_training_input(name):
    torch.manual_seed(0)
    config = model_config(name, INPUTS[name], **SMALL[name])
    model = cnnlab.build(config, device="cpu").eval()
    converted = fc_as_conv(model, config.input).eval()
    assert [type(m) for m in converted.modules()].count(nn.Linear) == 0
    x = torch.randn(3, *config.input.as_tuple())
    with torch.no_grad():
        expected, scores = model(x), converted(x)
    assert scores.shape == (3, 10, 1, 1)
    assert (scores.flatten(1) - expected).abs().max().item() <= 1e-5


def test_a_larger_image_gives_a_map_of_the_windows_scores():
    """Without padding, each score of the map is the FC network's output on one training-sized window."""
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),  # 10×10 -> 4×4
                          nn.Linear(4 * 4 * 4, 16), nn.ReLU(), nn.Linear(16, 5)).eval()
    converted = fc_as_conv(model, (2, 10, 10)).eval()
    image = torch.randn(1, 2, 18, 14)
    with torch.no_grad():
        scores = converted(image)
        assert scores.shape == (1, 5, 5, 3)  # jump 2: (18 - 10) / 2 + 1 = 5 rows, (14 - 10) / 2 + 1 = 3
        for i in range(5):
            for j in range(3):
                window = image[:, :, 2 * i:2 * i + 10, 2 * j:2 * j + 10]
                assert (scores[:, :, i, j] - model(window)).abs().max().item() <= 1e-5


def test_vgg11_at_320_reports_the_class_score_map_its_field_and_jump():
    summary = fc_as_conv_summary(model_config("vgg11"), InputSpec(1, 320, 320))
    last = summary.layers[-1]
    # 320 / 2**5 = 10; the 7×7 kernel of fc1 leaves 10 - 7 + 1 = 4 positions per side.
    assert last.name == "fc3" and last.type == "Conv2d" and last.output_shape == (10, 4, 4)
    # block5's field is 150 with jump 32 (README); a 7×7 kernel adds (7 - 1) · 32 = 192; 1×1s add nothing.
    assert last.rf == (342, 342) and last.jump == (32, 32)
    assert summary.classes == 10 and summary.model == "vgg11 (FC as conv)"
    # The weights are the FC network's: the parameter count does not change.
    assert summary.totals.params == sum(p.numel() for p in cnnlab.build(model_config("vgg11")).parameters())


def test_a_resnet_is_refused_with_a_clear_message():
    with pytest.raises(ConfigError, match=r"^FC→conv rewrites networks that flatten.*ResNet is not one"):
        fc_as_conv_summary(model_config("resnet18"))


def test_a_smaller_run_input_is_refused():
    with pytest.raises(ConfigError, match="1x100x100 is smaller than the training input 1x224x224"):
        fc_as_conv_summary(model_config("vgg11"), InputSpec(1, 100, 100))


def test_a_layer_that_is_not_element_wise_between_fc_layers_is_named():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 8), nn.BatchNorm1d(8),
                          nn.Linear(8, 2))
    with pytest.raises(ConfigError, match=r"layer '3' \(BatchNorm1d\) between fully connected layers"):
        fc_as_conv(model, (1, 8, 8))


def test_a_network_without_fc_layers_is_refused():
    with pytest.raises(ConfigError, match="has no fully connected layer to rewrite"):
        fc_as_conv(nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU()), (1, 8, 8))


def test_a_seq_network_is_rewritten_with_its_weights():
    torch.manual_seed(2)
    config = model_config("seq:c3-8p1,relu,m2,c3-16,relu,fc32,relu,drop0.5,fc10", "1x16x16")
    model = cnnlab.build(config, device="cpu").eval()
    converted = fc_as_conv(model, config.input).eval()
    x = torch.randn(2, 1, 16, 16)
    with torch.no_grad():
        assert (converted(x).flatten(1) - model(x)).abs().max().item() <= 1e-5
    # 16 → conv 3 pad 1 → pool 2: 8 → conv 3: 6, so fc32 becomes a 6×6 convolution; at 40: 40/2 - 2 - 5 = 13.
    last = fc_as_conv_summary(config, InputSpec(1, 40, 40)).layers[-1]
    assert last.output_shape == (10, 13, 13)


def test_a_seq_batch_norm_between_fc_layers_is_named():
    with pytest.raises(ConfigError, match=r"layer 'bn1' \(BatchNorm1d\) between fully connected layers"):
        fc_as_conv_summary(model_config("seq:c3-4,fc8,bn,relu,fc10", "1x8x8"))
