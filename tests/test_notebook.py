"""docs/notebooks/d2l_in_cnnlab.ipynb, executed by a real Jupyter kernel (nbclient): the d2l chapter's own
modules analysed, the numbers as the textbook prints them, the HTML table and a figure in the outputs."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow  # a Jupyter kernel of its own

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "notebooks" / "d2l_in_cnnlab.ipynb"

def printout(rows: list[tuple[str, list[int]]], gap: str) -> str:
    """The d2l book's shape loop output: 'Conv2d output shape:<gap>torch.Size([1, 6, 28, 28])' per layer."""
    return "".join(f"{name} output shape:{gap}torch.Size({shape})\n" for name, shape in rows)


# d2l 7.6's printout of LeNet's shapes on a 1×1×28×28 input
LENET_SHAPES = printout([
    ("Conv2d", [1, 6, 28, 28]), ("Sigmoid", [1, 6, 28, 28]), ("AvgPool2d", [1, 6, 14, 14]),
    ("Conv2d", [1, 16, 10, 10]), ("Sigmoid", [1, 16, 10, 10]), ("AvgPool2d", [1, 16, 5, 5]),
    ("Flatten", [1, 400]), ("Linear", [1, 120]), ("Sigmoid", [1, 120]), ("Linear", [1, 84]),
    ("Sigmoid", [1, 84]), ("Linear", [1, 10])], " \t ")
# d2l 7.6 (first edition) printout of its ResNet-18's stages on a 1×1×224×224 input
RESNET_SHAPES = printout([
    ("Sequential", [1, 64, 56, 56]), ("Sequential", [1, 64, 56, 56]), ("Sequential", [1, 128, 28, 28]),
    ("Sequential", [1, 256, 14, 14]), ("Sequential", [1, 512, 7, 7]),
    ("AdaptiveAvgPool2d", [1, 512, 1, 1]), ("Flatten", [1, 512]), ("Linear", [1, 10])], "\t ")


@pytest.fixture(scope="module")
def cells(tmp_path_factory) -> list:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")  # stored clean
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path_factory.mktemp("nb"))}}).execute()
    return [c for c in notebook.cells if c.cell_type == "code"]


def text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_lenet_shapes_are_the_textbooks(cells):
    assert text(cells[2]) == LENET_SHAPES


def test_lenet_params_and_conv2_field_are_the_hand_derived_ones(cells):
    # 6·26 + 16·151 + 120·401 + 84·121 + 10·85; conv2 sees 6 + (5 − 1)·2 = 14 pixels with a jump of 2
    assert text(cells[3]) == "params 61706 61706\nconv2 receptive field 14 jump 2\n"


def test_the_summary_is_an_html_table_and_the_figure_a_plotly_one(cells):
    html = cells[1].outputs[0]["data"]["text/html"]
    assert "<table class='cnnlab-layers'>" in html
    assert "<td>3</td><td>Conv2d</td><td>16×10×10</td><td>5</td><td>1</td><td>0</td><td>2,416</td>" in html
    assert "<th>Total params</th><td>61,706 (trainable 61,706)</td>" in html
    rf = cells[4].outputs[0]["data"]["application/vnd.plotly.v1+json"]
    assert rf["layout"]["title"]["text"] == "Receptive field growth"
    assert rf["data"][0]["y"][:6] == [5, 5, 6, 14, 14, 16]


def test_vgg_blocks_built_in_a_loop(cells):
    html = cells[5].outputs[-1]["data"]["text/html"]  # d2l 8.2's small VGG: 224 → 7 after five poolings
    assert "<td>4</td><td>Sequential</td><td>128×7×7</td><td></td><td></td><td></td>" in html


def test_the_d2l_resnet_and_its_residual_block(cells):
    shapes, params = text(cells[6]).rsplit("params ", 1)
    assert shapes == RESNET_SHAPES
    ours, torchs = params.split()
    assert ours == torchs  # the engine's count is PyTorch's sum(p.numel())
    assert text(cells[7]) == "torch.Size([4, 6, 3, 3])\n"
    block = cells[7].outputs[-1]["data"]["text/html"]
    assert "<td>conv3</td><td>Conv2d</td><td>6×3×3</td><td>1</td><td>2</td><td>0</td>" in block
    assert "application/vnd.plotly.v1+json" in cells[8].outputs[0]["data"]
