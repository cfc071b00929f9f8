"""The See page's unit view: the unit's numbers are the model's real forward values, stepping and
sliding move the unit, a click on the grid picks one."""

import numpy as np
import torch

from cnnlab.inspect import dataset_images, initial
from cnnlab.spec import model_config
from tests.dashboard.conftest import shown
from tests.dashboard.test_see_page import figures, metric, open_see
from tests.test_data import make_fashion_mnist


def lenet_output(layer: str) -> torch.Tensor:
    """LeNet's (seed 0) output of `layer` on shapes test image 0, by a hook of the test's own."""
    model = initial(model_config("lenet"), seed=0).model
    seen = {}

    def hook(_module: torch.nn.Module, _args: tuple, out: torch.Tensor) -> None:
        seen["out"] = out[0].clone()

    getattr(model, layer).register_forward_hook(hook)
    with torch.no_grad():
        model(dataset_images("shapes", 1, model_config("lenet").input))
    return seen["out"]


def test_a_conv_unit_steps_and_slides_with_its_real_values(app):
    open_see(app, "lenet")
    app.radio(key="see_view").set_value("One unit").run()
    assert not app.exception and not app.error
    assert app.selectbox(key="see_u_layer").value == "pool2"  # the page's layer, where it is one
    app.selectbox(key="see_u_layer").set_value("conv2").run()
    app.number_input(key="see_u_channel").set_value(3).run()
    out = lenet_output("conv2")
    assert app.slider(key="see_u_pos").value == 55  # the centre of a 10×10 map: unit (5, 5)
    assert metric(app, "Real output (forward pass)") == [f"{out[3, 5, 5].item():.5g}"]
    [figure] = figures(app, "conv2, channel 3, unit (5, 5)")
    assert [t["name"] for t in figure["data"]] == ["window", "kernel", "products"]
    assert len(figure["layout"]["yaxis"]["ticktext"]) == 6  # all 6 input channels, one above the other
    assert figure["data"][0]["texttemplate"] == "%{text}"  # each 5×5 window carries its numbers
    app.button(key="see_u_next").click().run()
    assert metric(app, "Real output (forward pass)") == [f"{out[3, 5, 6].item():.5g}"]
    assert figures(app, "conv2, channel 3, unit (5, 6)")
    app.slider(key="see_u_pos").set_value(99).run()
    assert metric(app, "Real output (forward pass)") == [f"{out[3, 9, 9].item():.5g}"]
    app.button(key="see_u_next").click().run()  # past the last unit: back to the first
    assert app.slider(key="see_u_pos").value == 0 and figures(app, "conv2, channel 3, unit (0, 0)")
    assert not app.exception and not app.error


def test_a_pool_unit_and_a_linear_unit(app):
    open_see(app, "lenet")
    app.radio(key="see_view").set_value("One unit").run()
    app.selectbox(key="see_u_layer").set_value("pool1").run()
    out = lenet_output("pool1")
    assert metric(app, "Real output (forward pass)") == [f"{out[0, 7, 7].item():.5g}"]
    assert metric(app, "Window sum ÷ 4") == [f"{out[0, 7, 7].item():.5g}"]
    app.selectbox(key="see_u_layer").set_value("fc3").run()
    app.number_input(key="see_u_channel").set_value(9).run()
    assert not app.exception and not app.error
    assert metric(app, "Real output (forward pass)") == [f"{lenet_output('fc3')[9].item():.5g}"]
    assert figures(app, "fc3, output 9: input × weight")


def test_an_image_past_the_dataset_is_an_error_and_the_view_comes_back(app, tmp_path):
    """Fashion-MNIST files with 5 test images (in CNNLAB_DATA): image 7 is named as out of range with the
    range, nothing is drawn under the error; image 4 then shows the unit's real value."""
    images = make_fashion_mnist(tmp_path / "data", np.random.default_rng(0))["t10k-images-idx3-ubyte"]
    open_see(app, "lenet")
    app.selectbox(key="see_dataset").set_value("fashion-mnist").run()
    app.radio(key="see_view").set_value("One unit").run()
    app.selectbox(key="see_u_layer").set_value("conv1").run()
    app.text_input(key="see_image").input("7").run()
    assert not app.exception
    assert [shown(e) for e in app.error] == [
        "fashion-mnist's test split has 5 images (0 to 4); image 7 was asked for"]
    assert not app.metric and not figures(app, "conv1, channel 0")  # no stale result under the error
    app.text_input(key="see_image").input("4").run()
    assert not app.exception and not app.error
    model = initial(model_config("lenet"), seed=0).model
    x = torch.from_numpy(images[4].astype(np.float32) / 255).reshape(1, 1, 28, 28)
    with torch.no_grad():
        out = model.conv1(x)[0]  # LeNet's first layer reads the image as it is
    assert metric(app, "Real output (forward pass)") == [f"{out[0, 14, 14].item():.5g}"]
    assert figures(app, "conv1, channel 0, unit (14, 14)")
