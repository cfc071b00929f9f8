"""The Build page's Diagram tab, through AppTest: the drawn graph is the model's, collapsible, linked."""

import re
from urllib.parse import parse_qs, urlparse


def graph_source(at) -> str:
    return at.get("graphviz_chart")[0].proto.spec


def test_vgg_blocks_drawn_collapsed_and_every_layer_when_expanded(app):
    app.query_params["model"] = "vgg11"
    app.query_params["width_divisor"] = "4"
    app.run()
    assert not app.exception
    source = graph_source(app)
    # input, 5 blocks, flatten and the 7 classifier layers; 13 arrows between them
    assert len(re.findall(r"^\t(?:n|b)\d+ \[", source, re.M)) == 14
    assert len(re.findall(r"->", source)) == 13
    assert 'label="block3\nConv2d 3×3, pad 1 ×2 · ReLU ×2 · MaxPool2d 2×2, stride 2\n64×28×28"' in source
    app.toggle(key="diagram_collapse").set_value(False).run()
    source = graph_source(app)
    assert len(re.findall(r"^\tn\d+ \[", source, re.M)) == 30 and len(re.findall(r"->", source)) == 29


def test_a_box_links_to_the_see_page_on_its_layer(app):
    app.query_params["model"] = "resnet18"
    app.run()
    hrefs = re.findall(r'href="([^"]+)"', graph_source(app))
    link = urlparse(next(h for h in hrefs if "layer2.0" in h).replace("&amp;", "&"))
    assert link.path == "see"
    assert parse_qs(link.query) == {"model": ["resnet18"], "input": ["3x224x224"],
                                    "layer": ["layer2.0.relu (2)"]}
