"""Specs: parsing, validation messages, JSON round trips."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnnlab import ConfigError, InputSpec, ModelConfig, model_config
from cnnlab.families.resnet import ResNetSpec
from cnnlab.families.vgg import VGGSpec, parse_vgg_blocks
from cnnlab.spec import PRESETS, model_name, parse_model, spec_from_dict, spec_to_dict


def test_vgg_string_form_parses_to_blocks():
    assert parse_vgg_blocks("1x64,1x128,2x256,2x512,2x512") == (
        (1, 64), (1, 128), (2, 256), (2, 512), (2, 512))
    assert parse_model("vgg:1x64,1x128,2x256,2x512,2x512") == PRESETS["vgg11"]
    assert model_name(parse_model("vgg:2x16")) == "vgg:2x16"


@pytest.mark.parametrize("text, culprit", [
    ("vgg:1x64,2y256", "block 2 '2y256'"),
    ("vgg:1x64,,1x8", "block 2 ''"),
    ("vgg:", "at least one block"),
    ("vgg:0x64", "block 1: number of convolutions must be at least 1"),
    ("vgg:1x0", "block 1: output channels must be at least 1"),
    ("vgg:1x-4", "block 1 '1x-4'"),
    ("vgg:1x999999", "block 1: output channels is 999999; cnnlab caps it at 4096"),
    ("vgg:1x²", "block 1 '1x²'"),
    ("vgg:1x" + "9" * 5000, "block 1 '1x999"),
    ("resnet101", "unknown model 'resnet101'"),
])
def test_bad_model_names_are_config_errors_naming_the_culprit(text, culprit):
    with pytest.raises(ConfigError, match=culprit.replace("(", r"\(")):
        parse_model(text)


@pytest.mark.parametrize("options, message", [
    ({"classes": 0}, "classes must be at least 2"),
    ({"classes": 2.5}, "classes must be a whole number"),
    ({"width_divisor": 128}, "width divisor is 128; cnnlab caps it at 64"),
    ({"fc_width": -1}, "FC width must be at least 1"),
    ({"stem": "cifar"}, "'stem' does not apply to vgg"),
    ({"batch_norm": "yes"}, "batch norm must be true or false"),
])
def test_bad_options_name_the_option(options, message):
    with pytest.raises(ConfigError, match=message):
        model_config("vgg11", **options)


@pytest.mark.parametrize("text", ["1x28", "3x224x-1", "axbxc", "0x28x28", "1x28x5000", "3x²x4",
                                  "3x4x" + "9" * 5000])
def test_bad_inputs_are_rejected(text):
    with pytest.raises(ConfigError, match="input"):
        InputSpec.parse(text)


def test_width_divisor_that_empties_a_block_is_named():
    message = "VGG block 2: 16 channels divided by width divisor 32 leaves no channel"
    with pytest.raises(ConfigError, match=message):
        model_config("vgg:1x64,1x16", width_divisor=32)


def test_defaults_follow_the_textbook():
    assert model_config("lenet").input == InputSpec(1, 28, 28)
    assert model_config("alexnet").input == InputSpec(1, 224, 224)
    assert model_config("vgg16").input == InputSpec(1, 224, 224)
    assert model_config("resnet50").input == InputSpec(3, 224, 224)
    assert model_config("vgg11").arch.classes == 10


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_round_trip_through_json(name):
    config = model_config(name)
    data = json.loads(json.dumps(config.to_dict()))
    assert data["schema_version"] == 1
    assert ModelConfig.from_dict(data) == config


def test_a_config_without_schema_version_reads_as_version_1_and_a_newer_one_is_refused():
    data = model_config("lenet").to_dict()
    unversioned = {k: v for k, v in data.items() if k != "schema_version"}
    assert ModelConfig.from_dict(unversioned) == model_config("lenet")
    with pytest.raises(ConfigError, match="schema_version 2 is not one this cnnlab reads"):
        ModelConfig.from_dict({**data, "schema_version": 2})


@given(
    blocks=st.lists(st.tuples(st.integers(1, 4), st.integers(1, 512)), min_size=1, max_size=8),
    divisor=st.integers(1, 4), batch_norm=st.booleans(), fc=st.integers(1, 8192),
)
def test_vgg_specs_round_trip(blocks, divisor, batch_norm, fc):
    try:
        spec = VGGSpec(blocks=tuple(blocks), width_divisor=divisor, batch_norm=batch_norm, fc_width=fc)
    except ConfigError:
        assert any(c // divisor < 1 for _, c in blocks)
        return
    assert spec_from_dict(json.loads(json.dumps(spec_to_dict(spec)))) == spec


@pytest.mark.parametrize("data, message", [
    ([1, 2], "must be a JSON object"),
    ({"family": "transformer"}, "unknown architecture family 'transformer'"),
    ({"family": "vgg", "blocks": [[1, 64]], "exec": "rm -rf /"}, "unknown vgg field"),
    ({"family": "vgg", "blocks": [[1, 64, 3]]}, "block 1 must be a pair"),
    ({"family": "vgg", "blocks": "1x64"}, "non-empty list of blocks"),
    ({"family": "resnet", "depth": 101}, "ResNet depth must be one of 18, 34, 50"),
    ({"family": "resnet", "depth": 18.0}, "ResNet depth must be one of 18, 34, 50, got 18.0"),
    ({"family": "seq", "layers": "c3-8"}, "seq layers must be a list of layer strings"),
    ({"family": "seq", "layers": ["c3-8", "x"]}, "layer 2 of 3 \\('x'\\): 'x' is not a layer"),
    ({"family": "tv", "name": "resnet5000"}, "'resnet5000' is not a torchvision classification model"),
])
def test_spec_from_dict_rejects_malformed_data(data, message):
    with pytest.raises(ConfigError, match=message):
        spec_from_dict(data)


def test_resnet_spec_validates_stem():
    with pytest.raises(ConfigError, match="stem"):
        ResNetSpec(stem="tiny")
