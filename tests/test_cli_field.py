"""`python -m cnnlab field`: the JSON contract, the PNG, runs' weights and every kind of bad input."""

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab.inspect import dataset_images, find_layer, spatial_layers
from cnnlab.inspect.render import BOX
from cnnlab.runs import service
from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input


def trained_run(home, save_weights: bool = True) -> int:
    """A one-epoch LeNet run on 256 built-in images, trained in this process."""
    config = RunConfig(model=fit_input(model_config("lenet"), "shapes"), epochs=1, batch_size=64,
                       limit_train=256, limit_test=64, device="cpu", optimizer="adam",
                       save_weights=save_weights)
    run_id = service.create_run(config, home=home)
    assert service.execute(run_id, home=home).status == "done"
    return run_id


def test_json_follows_the_contract(cnnlab):
    status, out, err = cnnlab("field", "lenet", "--layer", "pool2", "--images", "3")
    assert status == 0, err
    data = json.loads(out)
    assert set(data) == {"layer", "unit", "input", "theoretical", "effective", "images", "dataset", "weights"}
    assert (data["layer"], data["unit"], data["input"]) == ("pool2", [2, 2], [1, 28, 28])
    # pool2: rf 16, jump 4, start 5.5 (by hand, see test_inspect_field); unit (2, 2) centred at 13.5.
    assert data["theoretical"] == {"rf": [16, 16], "jump": [4, 4], "start": [5.5, 5.5], "box": [6, 6, 21, 21]}
    heatmap = np.array(data["effective"]["heatmap"])
    assert heatmap.shape == (28, 28) and heatmap.sum() == pytest.approx(1.0)
    outside = np.ones((28, 28), dtype=bool)
    outside[6:22, 6:22] = False
    assert (heatmap[outside] == 0).all() and (heatmap[~outside] > 0).all()
    effective = data["effective"]
    assert 1 <= effective["side50"] <= effective["side95"] <= 16
    assert effective["area_ratio95"] == pytest.approx(effective["side95"] ** 2 / 256)
    assert (data["images"], data["dataset"], data["weights"]) == (3, "shapes", "init seed 0")


def test_png_draws_the_box_over_the_image(cnnlab, tmp_path):
    target = tmp_path / "field.png"
    status, _, err = cnnlab("field", "lenet", "--layer", "conv2", "--unit", "0,0", "--images", "2",
                            "--format", "png", "--output", str(target))
    assert status == 0, err
    image = np.asarray(Image.open(io.BytesIO(target.read_bytes())).convert("RGB"))
    # conv2 unit (0, 0): rf 14 centred at 4.5, so input rows and columns -2..11; the canvas starts at
    # -2 and a 30-pixel canvas is scaled ×14 to 420 pixels; the box's left edge is column 0 of the PNG.
    # Right of it: a 16-pixel gap, the 24-pixel colour bar and 80 pixels of labels.
    assert image.shape == (420, 420 + 16 + 24 + 80, 3)
    assert tuple(image[100, 0]) == BOX and tuple(image[0, 100]) == BOX
    assert tuple(image[13 * 14 + 1, 13 * 14 + 1]) != BOX


@pytest.mark.parametrize("scale", ["linear", "sqrt"])
def test_png_has_a_colour_bar_from_white_to_the_heat_at_the_peak(cnnlab, tmp_path, scale):
    target = tmp_path / "field.png"
    status, _, err = cnnlab("field", "lenet", "--layer", "conv2", "--unit", "0,0", "--images", "2",
                            "--format", "png", "--scale", scale, "--output", str(target))  # 420 px high
    assert status == 0, err
    image = np.asarray(Image.open(io.BytesIO(target.read_bytes())).convert("RGB")).astype(int)
    bar = image[:, 420 + 16 + 12]  # the bar's middle column: 20 pixels of margin, 100% at row 20
    # At the peak: white with 80% of the heat colour (255, 40, 0) over it; at 0: white.
    assert tuple(bar[20]) == (255, round(255 * 0.2 + 40 * 0.8), round(255 * 0.2))
    assert tuple(bar[400]) == (255, 255, 255)  # the bottom row, 0
    # Halfway up the bar the drawn value is 0.5: linear that is 50% of the peak, √ 25%. The tick is
    # drawn where the label's share sits, so the 50% tick is at the middle for linear only.
    tick = image[:, 420 + 16 + 24 + 2]
    middle = 400 - round(0.5 * 380)
    quarter = 400 - round((0.25 if scale == "linear" else 0.5) * 380)
    assert tuple(tick[middle]) == (0, 0, 0) and tuple(tick[quarter]) == (0, 0, 0)
    status, _, err = cnnlab("field", "lenet", "--layer", "conv2", "--format", "png", "--scale", "log",
                            "--output", str(target))
    assert status == 2 and "argument --scale: invalid choice: 'log'" in err


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_a_run_with_weights_and_one_without(cnnlab, tmp_path):
    with_weights = trained_run(tmp_path)
    without = trained_run(tmp_path, save_weights=False)
    status, out, err = cnnlab("field", "--run", str(with_weights), "--home", str(tmp_path),
                              "--layer", "conv1", "--images", "2")
    assert status == 0, err
    data = json.loads(out)
    assert (data["weights"], data["dataset"], data["theoretical"]["rf"]) == (f"run {with_weights}", "shapes",
                                                                             [5, 5])
    status, out, err = cnnlab("field", "--run", str(without), "--home", str(tmp_path), "--layer", "conv1")
    assert status == 2 and err.strip() == (f"cnnlab: error: run {without} has no saved weights (train it "
                                           "with --save-weights, or from the dashboard, which saves them)")
    status, _, err = cnnlab("field", "lenet", "--run", str(with_weights), "--home", str(tmp_path),
                            "--layer", "conv1")
    assert status == 2 and "drop --model" in err


@pytest.mark.parametrize(("args", "message"), [
    (["lenet", "--layer", "fc1"], "layer 'fc1' has no spatial map"),
    (["lenet", "--layer", "nope"], "the model has no layer 'nope'"),
    (["lenet", "--layer", "pool2", "--unit", "5,0"], "unit (5, 0) is outside pool2's 5×5 map"),
    (["lenet", "--layer", "pool2", "--unit", "a,b"], "unit 'a,b' is not of the form ROW,COL"),
    (["lenet", "--layer", "pool2", "--images", "0"], "number of images must be at least 1, got 0"),
    (["lenet", "--layer", "pool2", "--images", "100000"],
     "number of images is 100000; cnnlab caps it at 256"),
    (["lenet", "--layer", "pool2", "--dataset", "mnist", "--data-dir", "/nonexistent"],
     "dataset mnist not found in /nonexistent/MNIST/raw"),
    (["lenet", "--layer", "pool2", "--dataset", "imagenet"], "unknown dataset 'imagenet'"),
    (["lenet", "--layer", "pool2", "--format", "png"], "--format png needs --output FILE"),
    (["--layer", "pool2"], "field needs a MODEL or --run ID"),
    (["lenet", "--layer", "pool2", "--output", "/dev/null/field.json"],
     "cannot write /dev/null/field.json: Not a directory"),
    (["lenet", "--layer", "pool2", "--format", "png", "--output", "/dev/null/field.png"],
     "cannot write /dev/null/field.png: Not a directory"),
])
def test_bad_input_is_one_line_and_status_2(cnnlab, args, message):
    status, out, err = cnnlab("field", *args)
    assert status == 2 and out == ""
    assert err.startswith("cnnlab: error: ") and message in err and err.count("\n") == 1


def test_grey_images_feed_a_colour_model_and_colour_a_grey_one():
    rgb = model_config("resnet18", "3x32x32", stem="cifar")
    grey = dataset_images("shapes", 2, rgb.input)
    assert grey.shape == (2, 3, 32, 32) and torch.equal(grey[:, 0], grey[:, 2])
    colour = dataset_images("shapes-rgb", 2, model_config("lenet").input)
    source = dataset_images("shapes-rgb", 2, model_config("lenet", "3x28x28").input)
    torch.testing.assert_close(colour[:, 0], source.mean(dim=1))


def test_a_second_call_of_a_module_is_its_own_layer():
    from cnnlab import build

    model = build(model_config("resnet18", "3x64x64", width_divisor=8))
    layers = spatial_layers(model, (3, 64, 64))
    first, second = find_layer(model, layers, "layer1.0.relu"), find_layer(model, layers, "layer1.0.relu (2)")
    assert find_layer(model, layers, "layer1.0.relu (1)") == first
    assert (first.rf, second.rf) == ((19, 19), (27, 27))  # after conv1 of the block, then after conv2
