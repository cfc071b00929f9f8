"""The See page's figure builders on real fields: the drawn box is the engine's, padding included."""

import numpy as np
import pytest
import torch

from cnnlab import model_config
from cnnlab.figures import field_figure, top_images_figure, unit_grid_figure
from cnnlab.inspect import TopImage, effective_field, find_layer, initial, spatial_layers


def shape(fig, name: str) -> dict:
    return next(s for s in fig.to_dict()["layout"]["shapes"] if s.get("name") == name)


def drawn(subject, layer_name: str, unit):
    model, inp = subject.model, subject.config.input.as_tuple()
    layer = find_layer(model, spatial_layers(model, inp), layer_name)
    image = torch.rand(1, *inp, generator=torch.Generator().manual_seed(0))
    field = effective_field(model, image, layer, unit)
    return layer, field_figure(image[0].numpy(), field, "t")


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_alexnet_pool3_box_is_drawn_195_pixels_wide():
    layer, fig = drawn(initial(model_config("alexnet")), "pool3", (2, 2))
    box = shape(fig, "theoretical field")
    assert (box["y0"], box["x0"], box["y1"], box["x1"]) == (-1.5, -1.5, 193.5, 193.5)
    assert box["x1"] - box["x0"] == 195 == layer.rf[1]
    padding = shape(fig, "padding")  # one pixel of padding on the top and left, the image to 223
    assert (padding["y0"], padding["x0"], padding["y1"], padding["x1"]) == (-1.5, -1.5, 223.5, 223.5)


def test_resnet18_layer4_box_is_drawn_435_pixels_wide_beyond_the_image():
    layer, fig = drawn(initial(model_config("resnet18", width_divisor=16)), "layer4", (3, 3))
    box = shape(fig, "theoretical field")
    assert (box["y0"], box["x0"], box["y1"], box["x1"]) == (-121.5, -121.5, 313.5, 313.5)
    assert box["x1"] - box["x0"] == 435 == layer.rf[1]
    layout = fig.to_dict()["layout"]
    assert list(layout["xaxis"]["range"]) == [-121.5, 313.5]  # the whole box is in view, padding grey
    assert list(layout["yaxis"]["range"]) == [313.5, -121.5]
    image, heat = fig.data
    assert image.type == "image" and np.asarray(heat.customdata).shape == (224, 224)
    assert abs(np.sum(heat.customdata) - 1) < 1e-9


def test_the_unit_grid_marks_the_chosen_unit():
    subject = initial(model_config("lenet"))
    layer = find_layer(subject.model, spatial_layers(subject.model, (1, 28, 28)), "pool2")
    trace = unit_grid_figure(layer, (1, 3)).data[0]
    colours = np.asarray(trace.marker.color)
    assert len(colours) == 25 and (colours == "#dc2626").sum() == 1
    chosen = int(np.flatnonzero(colours == "#dc2626")[0])
    assert (trace.y[chosen], trace.x[chosen]) == (1, 3)


def test_top_image_boxes_are_clipped_to_their_tile():
    images = np.zeros((3, 1, 10, 10))
    tops = [TopImage(2, 0.9, (0, 0), (-3, -3, 4, 4)), TopImage(0, 0.5, (1, 1), (2, 5, 9, 12))]
    fig = top_images_figure(images, tops, "conv", 0, columns=2).to_dict()
    first, second = fig["layout"]["shapes"]
    assert (first["x0"], first["y0"], first["x1"], first["y1"]) == (-0.5, -0.5, 4.5, 4.5)
    # the second tile starts 12 pixels to the right (10 + a 2-pixel gap); its box stops at the tile's edge
    assert (second["x0"], second["y0"], second["x1"], second["y1"]) == (16.5, 1.5, 21.5, 9.5)


def test_the_field_has_a_colour_bar_in_share_of_the_peak_linear_or_square_root():
    subject = initial(model_config("lenet"))
    model = subject.model
    layer = find_layer(model, spatial_layers(model, (1, 28, 28)), "conv2")
    field = effective_field(model, torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(1)),
                            layer, (3, 3))
    share = field.heatmap / field.heatmap.max()
    linear = field.figure(np.zeros((1, 28, 28))).data[1]
    np.testing.assert_allclose(np.array(linear.z), share)
    assert linear.showscale is not False and linear.colorbar.title.text == "share of the peak"
    assert list(linear.colorbar.tickvals) == [0.0, 0.1, 0.25, 0.5, 0.75, 1.0]
    assert list(linear.colorbar.ticktext) == ["0%", "10%", "25%", "50%", "75%", "100%"]
    root = field.figure(np.zeros((1, 28, 28)), scale="sqrt").data[1]
    np.testing.assert_allclose(np.array(root.z), np.sqrt(share))
    assert root.colorbar.title.text == "share of the peak (drawn as √)"
    # The labels stay shares of the peak; on the √ scale 25% sits at the middle of the bar.
    assert list(root.colorbar.ticktext) == list(linear.colorbar.ticktext)
    assert list(root.colorbar.tickvals) == [0.0, 0.1 ** 0.5, 0.5, 0.5 ** 0.5, 0.75 ** 0.5, 1.0]
