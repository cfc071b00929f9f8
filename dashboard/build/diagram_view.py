"""The Build page's Diagram tab: the network drawn by Graphviz (`cnnlab.diagram`), blocks collapsible,
each box a link to the See page on its layer, and the drawing as SVG or PNG for slides."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from urllib.parse import urlencode

import streamlit as st

from cnnlab import ConfigError, ModelConfig, limits
from cnnlab.diagram import Diagram, diagram
from dashboard import model_state
from dashboard.text import literal

BOX_HEIGHT = 620  # pixels of diagram on screen before it scrolls


@st.cache_data(max_entries=32, show_spinner="Tracing the network…")
def traced(config_json: str, collapse: bool) -> Diagram:
    return diagram(ModelConfig.from_dict(json.loads(config_json)), collapse=collapse)


@st.cache_data(max_entries=32, show_spinner="Drawing the network…")
def drawing(config_json: str, collapse: bool, fmt: str, linked: bool) -> bytes:
    """The diagram as SVG or PNG; `linked`: each box with a spatial layer links to the See page."""
    config = ModelConfig.from_dict(json.loads(config_json))
    return traced(config_json, collapse).render(fmt, _see_link(config) if linked else None)


def _see_link(config: ModelConfig) -> Callable[[str], str]:
    """A layer's link: the See page on that layer of this model."""
    params = model_state.to_params(config)
    return lambda layer: "see?" + urlencode({**params, "layer": layer})


def panel(config: ModelConfig) -> None:
    """The diagram of `config`, collapsed by default."""
    config_json = json.dumps(config.to_dict())
    left, middle, right = st.columns([2, 1, 1], vertical_alignment="bottom")
    collapse = left.toggle("Collapse blocks", True, key="diagram_collapse",
                           help="One box per block (VGG's blocks, ResNet's basic blocks), identical "
                                "consecutive blocks as one box × n; off: one box per layer.")
    try:
        if not collapse and len(traced(config_json, False).links) > limits.DASHBOARD_DIAGRAM_LINKS:
            st.info(f"Every layer of this network makes more than {limits.DASHBOARD_DIAGRAM_LINKS} links, "
                    f"too many to lay out here in time: showing its blocks. "
                    f"`python -m cnnlab diagram {config.name} --output net.svg` draws every layer.")
            collapse = True
        source = traced(config_json, collapse).dot(_see_link(config)).source
    except ConfigError as exc:
        st.error(literal(exc))
        return
    stem = re.sub(r"[^A-Za-z0-9_]+", "_", config.name)[:60] + ("_blocks" if collapse else "")
    middle.download_button("Download SVG", lambda: drawing(config_json, collapse, "svg", False),
                           file_name=f"{stem}.svg", mime="image/svg+xml", key="diagram_svg",
                           on_click="ignore")
    right.download_button("Download PNG", lambda: drawing(config_json, collapse, "png", False),
                          file_name=f"{stem}.png", mime="image/png", key="diagram_png", on_click="ignore")
    st.caption("Boxes in the order the network runs, each with its output shape; hover for parameters, "
               "MACs and receptive field, click a box to see its layer's field on the See page. "
               "“+” adds a residual shortcut (dashed red), blue arrows feed a concatenation.")
    with st.container(height=BOX_HEIGHT, key="diagram_box"):
        st.graphviz_chart(source, width="content")
