"""Builders: textbook shape tables, torchvision parameter parity, real forwards, size errors."""

import pytest
import torch
import torchvision

from cnnlab import ConfigError, build, model_config
from cnnlab.analysis import analyze

# The shapes the textbook prints (d2l, chapters 7.1-7.3 / 8.1-8.2), one sample, batch dim dropped.
LENET_28 = [(6, 28, 28), (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 10, 10), (16, 5, 5),
            (400,), (120,), (120,), (84,), (84,), (10,)]
ALEXNET_224 = [(96, 54, 54), (96, 54, 54), (96, 26, 26), (256, 26, 26), (256, 26, 26), (256, 12, 12),
               (384, 12, 12), (384, 12, 12), (384, 12, 12), (384, 12, 12), (256, 12, 12), (256, 12, 12),
               (256, 5, 5), (6400,), (4096,), (4096,), (4096,), (4096,), (4096,), (4096,), (10,)]
VGG11_224 = [(64, 112, 112), (128, 56, 56), (256, 28, 28), (512, 14, 14), (512, 7, 7), (25088,),
             (4096,), (4096,), (4096,), (4096,), (4096,), (4096,), (10,)]


@pytest.mark.parametrize("name, table", [("lenet", LENET_28), ("alexnet", ALEXNET_224), ("vgg11", VGG11_224)])
def test_textbook_shape_tables_row_for_row(name, table):
    rows = analyze(name, levels=1).layers
    assert [row.output_shape for row in rows] == table


def test_vgg_rows_at_depth_one_are_blocks_then_classifier():
    rows = analyze("vgg11", levels=1).layers
    assert [r.type for r in rows[:6]] == ["Sequential"] * 5 + ["Flatten"]
    assert [r.type for r in rows[6:]] == ["Linear", "ReLU", "Dropout"] * 2 + ["Linear"]


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
@pytest.mark.parametrize("name", ["vgg11", "vgg13", "vgg16", "vgg19", "resnet18", "resnet34", "resnet50"])
def test_parameter_counts_equal_torchvision(name):
    ours = build(model_config(name, "3x224x224", classes=1000))
    theirs = getattr(torchvision.models, name)()
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_vgg_batch_norm_matches_torchvision_bn_variant():
    ours = build(model_config("vgg16", "3x224x224", classes=1000, batch_norm=True))
    theirs = torchvision.models.vgg16_bn()
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())


def test_classifier_follows_the_feature_map_size():
    for side, flat in [(224, 512 * 7 * 7), (96, 512 * 3 * 3), (32, 512)]:
        model = build(model_config("vgg11", f"1x{side}x{side}"))
        assert model.fc1.in_features == flat


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
@pytest.mark.parametrize("name, inp", [("lenet", "1x28x28"), ("alexnet", "1x96x96"),
                                       ("vgg:1x8,2x16", "3x32x32"), ("resnet18", "3x32x32")])
def test_builds_on_cpu_and_runs_a_real_forward(name, inp):
    config = model_config(name, inp, stem="cifar") if name == "resnet18" else model_config(name, inp)
    model = build(config, device="cpu")
    assert all(p.device.type == "cpu" and torch.isfinite(p).all() for p in model.parameters())
    out = model(torch.randn(2, *config.input.as_tuple()))
    assert out.shape == (2, 10)


def test_resnet_cifar_stem_keeps_resolution():
    imagenet = analyze("resnet18", "3x32x32", levels=1).layers
    cifar = analyze(model_config("resnet18", "3x32x32", stem="cifar"), levels=1).layers
    assert [r.output_shape for r in imagenet if r.name == "layer1"] == [(64, 8, 8)]
    assert [r.output_shape for r in cifar if r.name == "layer1"] == [(64, 32, 32)]


def test_too_many_pooling_blocks_names_the_block_and_the_limit():
    with pytest.raises(ConfigError) as err:
        build(model_config("vgg:1x8,1x8,1x8,1x8,1x8,1x8", "1x28x28"))
    assert str(err.value) == ("VGG block5 (5 of 6): max-pool 2×2 on a 1×1 map; "
                              "input 28×28 supports at most 4 pooling blocks")


@pytest.mark.parametrize("name, inp, message", [
    ("lenet", "1x11x11", "layer 6 of 11 (average-pool 2×2): input map 1×1 is smaller than the kernel; "
                         "this network needs at least 12×12"),
    ("alexnet", "1x64x64", "layer 13 of 20 (max-pool 3×3): input map 2×2 is smaller than the kernel; "
                           "this network needs at least 65×65"),
])
def test_inputs_too_small_for_fixed_networks_name_the_layer(name, inp, message):
    with pytest.raises(ConfigError) as err:
        build(model_config(name, inp))
    assert str(err.value) == message
    side = message.rsplit(" ", 1)[1].split("×")[0]
    build(model_config(name, f"1x{side}x{side}"))  # the size the message names does fit


def test_absurd_models_are_capped():
    with pytest.raises(ConfigError, match="cnnlab caps models at 1,000,000,000"):
        build(model_config("vgg:1x4096,1x4096,1x4096", "3x1024x1024"))
