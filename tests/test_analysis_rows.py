"""Rows that explain themselves: unique names, and the window (kernel, stride, padding) of every
convolution and pooling row with the output-size formula filled in."""

import json

import pytest
import torchvision
from torch import nn

from cnnlab.analysis import analyze
from cnnlab.spec import PRESETS

TORCHVISION = {"resnet18": (3, 64, 64), "googlenet": (3, 64, 64), "mobilenet_v2": (3, 64, 64),
               "densenet121": (3, 64, 64), "squeezenet1_0": (3, 64, 64)}


@pytest.mark.parametrize("name", list(PRESETS))
@pytest.mark.parametrize("depth", [None, 1])
def test_every_preset_has_unique_row_names(name, depth):
    names = [row.name for row in analyze(name, levels=depth).layers]
    assert len(names) == len(set(names))


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
@pytest.mark.parametrize("name", list(TORCHVISION))
def test_torchvision_models_have_unique_row_names(name):
    model = getattr(torchvision.models, name)(weights=None)
    names = [row.name for row in analyze(model, TORCHVISION[name]).layers]
    assert len(names) == len(set(names))


def test_a_module_called_twice_gets_numbered_rows():
    names = [row.name for row in analyze("resnet18").layers]
    # torchvision's BasicBlock calls its one ReLU after bn1 and again after the residual addition
    assert names[names.index("layer1.0.relu"):][:4] == ["layer1.0.relu", "layer1.0.conv2", "layer1.0.bn2",
                                                        "layer1.0.relu (2)"]
    assert sum(name.endswith(" (2)") for name in names) == 8  # one per basic block
    assert len(names) == 60


def test_lenet_rows_say_why_28_becomes_10():
    rows = {row.name: row for row in analyze("lenet").layers}
    conv1, pool1, conv2 = rows["conv1"], rows["pool1"], rows["conv2"]
    assert (conv1.window.kernel, conv1.window.stride, conv1.window.padding) == ((5, 5), (1, 1), (2, 2))
    assert conv1.size_formula() == "⌊(28 + 2·2 − 5)/1⌋ + 1 = 28"
    assert pool1.size_formula() == "⌊(28 + 2·0 − 2)/2⌋ + 1 = 14"
    assert conv2.size_formula() == "⌊(14 + 2·0 − 5)/1⌋ + 1 = 10"
    assert rows["fc1"].window is None and rows["fc1"].size_formula() is None


def test_dilation_groups_ceil_mode_and_unequal_axes_in_the_formula():
    model = nn.Sequential(nn.Conv2d(4, 8, (3, 5), stride=(1, 2), padding=(2, 0), dilation=2, groups=4),
                          nn.MaxPool2d(3, 2, ceil_mode=True))
    conv, pool = analyze(model, (4, 20, 21)).layers
    # height: (20 + 4 - 2·2 - 1)/1 + 1 = 20; width: floor((21 + 0 - 2·4 - 1)/2) + 1 = 7
    assert conv.output_shape == (8, 20, 7)
    assert conv.size_formula() == ("height ⌊(20 + 2·2 − 2·(3 − 1) − 1)/1⌋ + 1 = 20; "
                                   "width ⌊(21 + 2·0 − 2·(5 − 1) − 1)/2⌋ + 1 = 7")
    assert conv.window.groups == 4
    # ceil mode: height ceil((20 - 3)/2) + 1 = 10; width ceil((7 - 3)/2) + 1 = 3
    assert pool.output_shape == (8, 10, 3)
    assert pool.size_formula() == "height ⌈(20 + 2·0 − 3)/2⌉ + 1 = 10; width ⌈(7 + 2·0 − 3)/2⌉ + 1 = 3"


@pytest.mark.parametrize("name", ["alexnet", "vgg11", "resnet50"])
def test_every_formula_gives_the_traced_output_size(name):
    for row in analyze(name).layers:
        if row.window is not None:
            assert row.size_formula().endswith(f"= {row.output_shape[1]}"), row.name


def test_json_and_table_carry_the_window():
    data = json.loads(json.dumps(analyze("alexnet").to_dict()))
    conv1 = data["layers"][0]
    assert (conv1["kernel"], conv1["stride"], conv1["padding"]) == ([11, 11], [4, 4], [1, 1])
    assert (conv1["dilation"], conv1["groups"]) == ([1, 1], 1)
    assert conv1["input_shape"] == [1, 224, 224]
    relu = data["layers"][1]
    assert relu["kernel"] is relu["stride"] is relu["padding"] is relu["groups"] is None
    lines = analyze("lenet").to_text().splitlines()
    assert lines[0].split()[:6] == ["Layer", "Type", "Output", "shape", "Kernel", "Stride"]
    assert lines[2].split()[:6] == ["conv1", "Conv2d", "6×28×28", "5", "1", "2"]
    assert "Groups" not in lines[0] and "Dilation" not in lines[0]
    grouped = analyze(nn.Sequential(nn.Conv2d(4, 8, 3, groups=2)), (4, 8, 8)).to_text().splitlines()
    assert grouped[0].split()[:8] == ["Layer", "Type", "Output", "shape", "Kernel", "Stride", "Pad", "Groups"]
    assert grouped[2].split()[:7] == ["0", "Conv2d", "8×6×6", "3", "1", "0", "2"]
