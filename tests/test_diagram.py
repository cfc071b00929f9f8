"""The network diagram: boxes and links equal the traced graph, counted from each architecture by hand
or from torchvision's own module tree; collapsing; the SVG and PNG files; the CLI verb."""

import struct
import xml.etree.ElementTree as ET

import pytest
import torchvision
from torch import nn

from cnnlab.cli import main
from cnnlab.diagram import diagram

SVG = "{http://www.w3.org/2000/svg}"


def leaves(model: nn.Module) -> int:
    return sum(1 for m in model.modules() if not any(True for _ in m.children()))


def kinds(d) -> dict[str, int]:
    counts: dict[str, int] = {}
    for box in d.boxes:
        counts[box.kind] = counts.get(box.kind, 0) + 1
    return counts


def test_lenet_is_a_chain_of_its_twelve_layers():
    # conv1 sigmoid pool1 conv2 sigmoid pool2 flatten fc1 sigmoid fc2 sigmoid fc3: 12 layers + the input
    d = diagram("lenet")
    assert kinds(d) == {"input": 1, "layer": 12}
    assert [(link.source, link.target) for link in d.links] == [(f"n{i}", f"n{i + 1}") for i in range(12)]
    assert d.boxes[1].title == "conv1" and d.boxes[1].detail == "Conv2d 5×5, pad 2"
    assert d.boxes[1].shape == (6, 28, 28) and d.boxes[1].params == 6 * 25 + 6


def test_vgg11_is_a_chain_and_collapses_to_one_box_per_block():
    # VGG-11: 8 convs, 8 ReLUs, 5 pools; flatten; fc, relu, dropout, fc, relu, dropout, fc -> 29 layers
    d = diagram("vgg11", width_divisor=4)
    assert kinds(d) == {"input": 1, "layer": 29} and len(d.links) == 29
    assert not any(link.shortcut for link in d.links)
    c = diagram("vgg11", width_divisor=4, collapse=True)
    titles = [box.title for box in c.boxes]
    assert titles == ["input", "block1", "block2", "block3", "block4", "block5", "flatten", "fc1", "relu1",
                      "dropout1", "fc2", "relu2", "dropout2", "fc3"]
    assert len(c.links) == 13
    convs = (1, 1, 2, 2, 2)
    channels = (16, 32, 64, 128, 128)
    sides = (112, 56, 28, 14, 7)
    for box, n, ch, side in zip(c.boxes[1:6], convs, channels, sides, strict=True):
        assert len(box.members) == 2 * n + 1 and box.shape == (ch, side, side)
        assert box.detail.startswith("Conv2d 3×3, pad 1" + (f" ×{n}" if n > 1 else "") + " · ReLU")
    assert c.boxes[3].params == (9 * 32 + 1) * 64 + (9 * 64 + 1) * 64  # block3: two 3×3 convs


@pytest.mark.parametrize("model", ["resnet18", "tv:resnet18"])
def test_resnet18_has_its_eight_shortcuts(model):
    tv = torchvision.models.resnet18()
    blocks = [m for m in tv.modules() if isinstance(m, torchvision.models.resnet.BasicBlock)]
    # every leaf runs once, except each block's ReLU, which runs twice; one addition per block
    layers = leaves(tv) + len(blocks)
    d = diagram(model)
    assert len(blocks) == 8 and kinds(d) == {"input": 1, "layer": layers, "add": 8}
    # each layer has one input, each addition two; the second is the shortcut
    assert len(d.links) == layers + 2 * 8
    assert sum(link.shortcut for link in d.links) == 8
    adds = {box.id for box in d.boxes if box.kind == "add"}
    assert {link.target for link in d.links if link.shortcut} == adds


def test_resnet18_collapses_to_blocks_with_the_identical_pair_merged():
    d = diagram("resnet18", collapse=True)
    assert [(box.title, box.detail) for box in d.boxes[5:8]] == [
        ("layer1.0 … layer1.1", "BasicBlock × 2 + add"), ("layer2.0", "BasicBlock + add"),
        ("layer2.1", "BasicBlock + add")]
    assert len(d.boxes) == 14 and len(d.links) == 13  # input, 4 stem layers, 7 block boxes, avgpool, fc
    assert d.boxes[5].layer == "layer1.1.relu (2)" and d.boxes[5].rf == (43, 43)
    # conv1 7×7/2 -> 7 px, maxpool 3×3/2 -> 7 + 2·2 = 11 px at jump 4, four 3×3 convs -> 11 + 4·(2·4)


def test_densenet121_draws_its_concatenations():
    tv = torchvision.models.densenet121()
    sizes = [len(getattr(tv.features, f"denseblock{i}")) for i in range(1, 5)]
    # a dense layer concatenates the block's input with every earlier layer's output (the first
    # layer has only the input: no concatenation), and each block ends with one of all of them
    concats = sum(sizes)
    concat_inputs = sum(n * (n + 1) // 2 - 1 + (n + 1) for n in sizes)
    d = diagram("tv:densenet121")
    assert sizes == [6, 12, 24, 16]
    assert kinds(d) == {"input": 1, "layer": leaves(tv), "concat": concats}
    assert len(d.links) == leaves(tv) + concat_inputs
    assert sum(link.concat for link in d.links) == concat_inputs
    assert not any(link.shortcut for link in d.links)


def test_a_seq_model_is_its_chain_of_tokens():
    # 7 tokens and the flatten the fc adds after a map: 8 layers
    d = diagram("seq:c3-8p1,relu,m2,c3-16p1,relu,m2,fc10", "1x28x28")
    assert [box.title for box in d.boxes] == ["input", "conv1", "relu1", "pool1", "conv2", "relu2", "pool2",
                                              "flatten", "fc1"]
    assert len(d.links) == 8 and d.boxes[-1].shape == (10,)


def test_the_svg_opens_with_a_box_per_node_and_dashed_shortcuts():
    d = diagram("resnet18")
    root = ET.fromstring(d.svg(href=lambda layer: f"/see?layer={layer}"))
    groups = root.iter(f"{SVG}g")
    classes = [g.get("class") for g in groups]
    assert classes.count("node") == len(d.boxes) == 69 and classes.count("edge") == len(d.links) == 76
    dashed = [g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"
              and any(p.get("stroke-dasharray") for p in g.iter(f"{SVG}path"))]
    assert len(dashed) == 8
    links = {a.get("{http://www.w3.org/1999/xlink}href") for a in root.iter(f"{SVG}a")}
    assert "/see?layer=layer4.1.relu (2)" in links and "/see?layer=conv1" in links


def test_the_png_is_a_png_at_slide_resolution():
    data = diagram("lenet", collapse=True).png()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert height > width > 150  # a tall chain of 13 boxes, drawn at 150 dpi


def test_cli_writes_the_collapsed_svg(tmp_path, capsys):
    out = tmp_path / "vgg.svg"
    assert main(["diagram", "vgg11", "--width-divisor", "4", "--collapse", "--output", str(out)]) == 0
    nodes = [g for g in ET.parse(out).getroot().iter(f"{SVG}g") if g.get("class") == "node"]
    assert len(nodes) == 14 and capsys.readouterr() == ("", "")


@pytest.mark.parametrize(("args", "message"), [
    (("lenet", "--output", "x.pdf"), "cnnlab: error: --output must end in .svg or .png, not 'x.pdf'"),
    (("lenet", "--depth", "18", "--output", "x.svg"), "cnnlab: error: option 'depth' does not apply to "
                                                       "lenet; it takes classes"),
])
def test_cli_bad_input_is_one_line_and_status_2(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(["diagram", *args]) == 2
    assert capsys.readouterr().err == message + "\n" and not list(tmp_path.iterdir())
