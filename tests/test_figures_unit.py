"""The unit's figure: a row of window, kernel and products per shown input channel, padding blank, the
max-pool winner outlined, a linear unit's products as bars adding up to the sum."""

import numpy as np
import pytest
import torch

from cnnlab.figures.unit import equation
from cnnlab.inspect import explain, find_unit_layer, initial, unit_layers
from cnnlab.spec import model_config

MODEL = initial(model_config("seq:c3-4s2p1,relu,c3-16p1,relu,m2,fc10", input="3x16x16"), seed=0).model
IMAGE = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(0))
LAYERS = unit_layers(MODEL, (3, 16, 16))


def unit(name: str, channel: int, at: tuple[int, int] | None):  # noqa: ANN201
    return explain(MODEL, IMAGE, find_unit_layer(MODEL, LAYERS, name), channel, at)


def test_a_conv_unit_shows_the_top_channels_one_above_the_other_and_blanks_padding():
    corner = unit("conv1", 1, (0, 0))
    fig = corner.figure()
    assert [t.name for t in fig.data] == ["padding", "padding", "window", "kernel", "products"]
    window = np.array(fig.data[2].z, dtype=float)
    assert window.shape == (3 * 3 + 2, 3)  # 3 input channels' 3×3 windows, a blank row between two
    first = window[:3]  # the window of the channel adding most
    assert np.isnan(first[0]).all() and np.isnan(first[:, 0]).all() and not np.isnan(first[1:, 1:]).any()
    assert np.isnan(window[3]).all() and np.isnan(window[7]).all()
    pads = np.array(fig.data[0].z, dtype=float)[:3]
    assert (np.isnan(pads) == ~np.isnan(first)).all()  # yellow exactly where the window is blank
    best = corner.top(3)
    assert list(fig.layout.yaxis.ticktext) == [f"input {i}" for i in best.inputs]
    assert list(fig.layout.yaxis3.ticktext) == [f"Σ {v:.3g}" for v in best.sums]
    kernel = np.array(fig.data[3].z, dtype=float)
    first_channel = np.flatnonzero(corner.inputs == best.inputs[0])[0]
    np.testing.assert_array_equal(kernel[:3], corner.kernel[first_channel])
    wide = unit("conv2", 3, (2, 2)).figure(top=2)
    assert [t.name for t in wide.data] == ["window", "kernel", "products"]
    assert np.array(wide.data[0].z, dtype=float).shape == (7, 3)
    assert "the other 2 input channels add" in wide.layout.title.text


def test_the_equation_adds_up_and_names_the_activation():
    got = unit("conv2", 3, (2, 2))
    text = equation(got)
    assert text == (f"Σ 4 channel sums {got.channel_sums.sum():.4g} + bias {got.bias:.4g} = {got.sum:.4g} "
                    f"(the layer's real output: {got.value:.4g}) → ReLU = {got.activated:.4g}")


def test_a_max_pool_outlines_its_winner_and_a_linear_unit_is_bars():
    pool = unit("pool1", 5, (3, 1))
    [shape] = [s for s in pool.figure().layout.shapes if s.name == "winner"]
    assert (shape.x0 + 0.5, shape.y0 + 0.5) == (pool.winner[1], pool.winner[0])
    fc = unit("fc1", 7, None)
    bars = fc.figure(top=5).data[0]
    assert list(bars.y) == [*(f"input {i}" for i in fc.top(5).inputs), "251 others", "bias"]
    assert sum(bars.x) == pytest.approx(fc.sum, rel=1e-9)
