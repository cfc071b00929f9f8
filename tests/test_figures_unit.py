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


def test_a_conv_unit_shows_the_top_channels_rows_and_blanks_padding():
    corner = unit("conv1", 1, (0, 0))
    fig = corner.figure()
    assert len(fig.data) == 9  # 3 input channels × (window, kernel, products)
    window = np.array(fig.data[0].z, dtype=float)
    assert np.isnan(window[0]).all() and np.isnan(window[:, 0]).all() and not np.isnan(window[1:, 1:]).any()
    wide = unit("conv2", 3, (2, 2)).figure(top=2)
    assert len(wide.data) == 6 and "the other 2 input channels add" in wide.layout.title.text


def test_the_equation_adds_up_and_names_the_activation():
    got = unit("conv2", 3, (2, 2))
    text = equation(got)
    assert text == (f"Σ 4 channel sums {got.channel_sums.sum():.4g} + bias {got.bias:.4g} = {got.sum:.4g} "
                    f"(the layer's real output: {got.value:.4g}) → ReLU = {got.activated:.4g}")


def test_a_max_pool_outlines_its_winner_and_a_linear_unit_is_bars():
    pool = unit("pool1", 5, (3, 1))
    shape = pool.figure().layout.shapes[0]
    assert (shape.x0 + 0.5, shape.y0 + 0.5) == (pool.winner[1], pool.winner[0])
    fc = unit("fc1", 7, None)
    bars = fc.figure(top=5).data[0]
    assert list(bars.y) == [*(f"input {i}" for i in fc.top(5).inputs), "251 others", "bias"]
    assert sum(bars.x) == pytest.approx(fc.sum, rel=1e-9)
