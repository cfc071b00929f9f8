"""`cnnlab explain`: the JSON contract against an independent forward, a run's weights, a `.pt2` file,
the text form, and every kind of bad input as one line with exit status 2."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.inspect import dataset_images, from_run, initial
from cnnlab.spec import model_config
from tests.test_inspect_unit import lenet_run, reference


def test_json_of_a_padded_stride_2_corner_unit(cnnlab):
    model = "seq:c3-4s2p1,relu,fc10"
    status, out, err = cnnlab("explain", model, "--input", "1x12x12", "--layer", "conv1", "--channel", "2",
                              "--unit", "0,0", "--image", "5", "--format", "json")
    assert status == 0, err
    data = json.loads(out)
    assert {"window", "kernel", "bias", "sum", "value"} <= set(data)
    assert (data["layer"], data["channel"], data["unit"], data["image"]) == ("conv1", 2, [0, 0], 5)
    image = dataset_images("shapes", 1, model_config(model, input="1x12x12").input, first=5)[0]
    padded = F.pad(image, (1, 1, 1, 1))  # the window: padded rows and columns 0..2 = input -1..1
    np.testing.assert_array_equal(np.array(data["window"]), padded[:, 0:3, 0:3].double().numpy())
    net = initial(model_config(model, input="1x12x12"), seed=0).model
    np.testing.assert_array_equal(np.array(data["kernel"]), net.conv1.weight[2].detach().double().numpy())
    assert data["bias"] == net.conv1.bias[2].item()
    _, output = reference(net, image, "conv1")
    assert data["value"] == output[2, 0, 0].item()
    assert data["sum"] == pytest.approx(data["value"], rel=1e-5, abs=1e-6)
    assert data["padding"] == [[True, True, True], [True, False, False], [True, False, False]]


def test_a_runs_weights_and_the_text_form(cnnlab, tmp_path):
    run_id = lenet_run(tmp_path)
    status, out, err = cnnlab("explain", "--run", str(run_id), "--home", str(tmp_path), "--layer", "conv2",
                              "--channel", "7", "--unit", "3,4", "--format", "json")
    assert status == 0, err
    data = json.loads(out)
    subject = from_run(run_id, tmp_path)
    np.testing.assert_array_equal(np.array(data["kernel"]), subject.model.conv2.weight[7].detach().double())
    image = dataset_images("shapes", 1, subject.input)[0]
    _, output = reference(subject.model, image, "conv2")
    assert data["value"] == output[7, 3, 4].item() and data["weights"] == f"run {run_id}"
    assert data["activation"] == "Sigmoid"
    status, text, err = cnnlab("explain", "--run", str(run_id), "--home", str(tmp_path), "--layer", "conv2",
                               "--channel", "7", "--unit", "3,4")
    assert status == 0, err
    lines = text.splitlines()
    assert lines[0] == f"conv2 (conv), channel 7, unit (3, 4); run {run_id}, test image 0"
    assert lines[1] == ("window: 6 input channel(s) × 5×5 at input rows [3, 4, 5, 6, 7], columns "
                        "[4, 5, 6, 7, 8] (0 padding cell(s))")
    assert lines[-2] == f"the layer's real output there: {data['value']:.6g}"
    assert lines[-1] == f"then Sigmoid: {data['activated']:.6g}"


def test_a_pt2_file(cnnlab, tmp_path):
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 26 * 26, 3))
    with torch.no_grad():
        net[0].weight.copy_(torch.arange(18, dtype=torch.float32).reshape(2, 1, 3, 3) / 10)
    path = tmp_path / "small.pt2"
    torch.export.save(torch.export.export(net.eval(), (torch.zeros(1, 1, 28, 28),)), path)
    status, out, err = cnnlab("explain", str(path), "--layer", "0", "--channel", "1", "--unit", "5,6",
                              "--format", "json")
    assert status == 0, err
    data = json.loads(out)
    assert np.array(data["kernel"]).ravel().tolist() == pytest.approx([v / 10 for v in range(9, 18)])
    image = dataset_images("shapes", 1, model_config("lenet").input)[0]
    window = image[0, 5:8, 6:9].double().numpy()
    np.testing.assert_array_equal(np.array(data["window"])[0], window)
    expected = float((window * np.arange(9, 18).reshape(3, 3) / 10).sum()) + net[0].bias[1].item()
    assert data["sum"] == pytest.approx(expected, rel=1e-6)
    assert data["value"] == pytest.approx(expected, rel=1e-5) and data["weights"] == "small.pt2"


@pytest.mark.parametrize(("argv", "message"), [
    (["lenet", "--layer", "sigmoid2", "--channel", "0"],
     "layer 'sigmoid2' is a Sigmoid, not a convolution, pooling or linear layer; those are: conv1, pool1, "
     "conv2, pool2, fc1, fc2, fc3"),
    (["lenet", "--layer", "conv1", "--channel", "6"],
     "channel 6 is outside conv1's 6 channels; they run from 0 to 5"),
    (["lenet", "--layer", "pool2", "--channel", "0", "--unit", "0,5"],
     "unit (0, 5) is outside pool2's 5×5 map; rows and columns run from 0 to 4 and 4"),
    (["lenet", "--layer", "fc2", "--channel", "84"], "output feature 84 is outside fc2's 84 output features; "
                                                     "they run from 0 to 83"),
    (["lenet", "--layer", "conv1", "--channel", "0", "--image", "1000"],
     "shapes's test split has 1000 images (0 to 999); image 1000 was asked for"),
    (["lenet", "--layer", "conv1", "--channel", "0", "--unit", "a,b"],
     "unit 'a,b' is not of the form ROW,COL (e.g. 3,4)"),
    (["--layer", "conv1", "--channel", "0"],
     "explain needs a MODEL or --run ID (see: cnnlab explain --help)"),
])
def test_bad_input_is_one_line_and_exit_status_2(cnnlab, argv, message):
    status, out, err = cnnlab("explain", *argv)
    assert (status, out, err) == (2, "", f"cnnlab: error: {message}\n")
