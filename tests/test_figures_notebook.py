"""What a notebook shows: a Summary as an HTML table, `summary.figure(kind)` and the inspect results'
`.figure()`; a clear error without plotly."""

import sys
from html.parser import HTMLParser

import numpy as np
import pytest
import torch
from torch import nn

import cnnlab
from cnnlab.errors import ConfigError
from cnnlab.inspect import effective_field, feature_maps, kernels, spatial_layers


class Cells(HTMLParser):
    """Each table row's cell texts, table by table."""

    def __init__(self):
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> list[list[list[str]]]:
    parser = Cells()
    parser.feed(html)
    return parser.tables


def test_the_html_table_has_every_layer_with_its_window_field_and_jump():
    layers, totals = tables(cnnlab.analyze("lenet")._repr_html_())
    assert layers[0] == ["Layer", "Type", "Output shape", "Kernel", "Stride", "Pad", "Params", "MACs", "RF",
                         "Jump"]
    # LeNet by hand: conv1 5×5 pad 2 (6·26 params, 28·28·6·25 MACs), pool 2×2 stride 2, conv2 5×5 (16·151,
    # 10·10·16·150 MACs) seeing 6 + 4·2 = 14 pixels with a jump of 2
    assert layers[1] == ["conv1", "Conv2d", "6×28×28", "5", "1", "2", "156", "117.60K", "5", "1"]
    assert layers[3] == ["pool1", "AvgPool2d", "6×14×14", "2", "2", "0", "0", "0", "6", "2"]
    assert layers[4] == ["conv2", "Conv2d", "16×10×10", "5", "1", "0", "2,416", "240.00K", "14", "2"]
    assert layers[8][:3] == ["fc1", "Linear", "120"] and layers[8][3:6] == ["", "", ""]
    assert layers[8][-2:] == ["-", "-"]
    assert len(layers) == 1 + 12
    assert totals[0] == ["Total params", "61,706 (trainable 61,706)"]
    assert totals[4] == ["Receptive field", "16 pixels at pool2"]


def test_layer_names_are_escaped():
    net = nn.Sequential()
    net.add_module("<b>x</b>", nn.Conv2d(1, 1, 3))
    html = cnnlab.analyze(net, (1, 8, 8))._repr_html_()
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_summary_figures_are_the_build_pages():
    summary = cnnlab.analyze("lenet")
    rf = summary.figure("rf")
    assert list(rf.data[0].y) == [5, 5, 6, 14, 14, 16]  # conv1, sigmoid1, pool1, conv2, sigmoid2, pool2
    sides, channels = summary.figure("shapes").data
    assert list(sides.y) == [28, 28, 14, 10, 10, 5] and list(channels.y) == [6, 6, 6, 16, 16, 16]
    by_kind = {t.name: list(t.y) for t in summary.figure("params").data}
    assert by_kind == {"Conv2d": [156, 2416], "Linear": [48120, 10164, 850]}
    memory = summary.figure("memory", batch_size=64, optimizer="adam")
    # 61,706 float32 weights = 246,824 bytes. The peak comes during backward, before conv1's gradient
    # (6·1·5·5 + 6 = 156 floats, 624 bytes) exists; Adam keeps two moments and a 4-byte step count for
    # each of its 10 tensors.
    assert [t.x[0] * 2**30 for t in memory.data[:3]] == pytest.approx([246824, 246824 - 624,
                                                                        2 * 246824 + 10 * 4])
    with pytest.raises(ConfigError, match="unknown figure 'heat'; choose one of rf, shapes, params, memory"):
        summary.figure("heat")


def test_inspect_results_draw_the_see_pages_figures():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 3, 3))
    layers = spatial_layers(net, (1, 9, 9))
    image = torch.rand(1, 9, 9, generator=torch.Generator().manual_seed(0))
    (maps,) = feature_maps(net, image, [layers[-1]], channels=3)
    assert maps.figure().layout.title.text == "2: 3×5×5 (first 3 channels)"
    field = effective_field(net, image.unsqueeze(0), layers[-1], (2, 2))
    drawn = field.figure(image.numpy(), "unit (2, 2)")
    box = next(s for s in drawn.layout.shapes if s.name == "theoretical field")
    assert (box.x0, box.x1) == (1.5, 6.5)  # two 3×3 convs: unit 2 sees input columns 2..6
    weights = kernels(net, "2")
    assert weights.weights.shape == (3, 3, 3)
    np.testing.assert_array_equal(weights.weights, net[2].weight.detach().mean(dim=1).numpy())
    assert weights.figure().layout.title.text == "2: 3 kernels averaged over input channels, 3×3"


def test_without_plotly_the_figures_say_what_to_install(monkeypatch):
    for name in [n for n in sys.modules if n == "plotly" or n.startswith(("plotly.", "cnnlab.figures"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delattr(cnnlab, "figures", raising=False)
    monkeypatch.setitem(sys.modules, "plotly", None)
    with pytest.raises(ImportError, match=r"cnnlab's figures need plotly: pip install 'cnnlab\[notebook\]'"):
        cnnlab.analyze("lenet").figure("rf")
