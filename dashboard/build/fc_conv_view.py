"""The Build page's FC→conv switch: the model's FC layers as convolutions, run on a larger image."""

from __future__ import annotations

import json

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cnnlab import ConfigError, ModelConfig
from cnnlab.analysis import Summary, format_pair
from cnnlab.fc_as_conv import fc_as_conv_summary
from cnnlab.limits import MAX_INPUT_SIDE
from cnnlab.spec import InputSpec
from cnnlab.units import format_bytes
from dashboard import class_map_view
from dashboard.text import literal

DEFAULT_SIDE = 320


@st.cache_data(max_entries=32, show_spinner=False)
def converted_summary(config_json: str, side: int) -> Summary:
    """The FC→conv analysis of one config on a side×side image (cached)."""
    config = ModelConfig.from_dict(json.loads(config_json))
    return fc_as_conv_summary(config, InputSpec(config.input.channels, side, side), levels=1)


def panel(config: ModelConfig, side: DeltaGenerator) -> None:
    """The switch and the larger image's size in `side` (under the controls); when on, the class-score
    map's table here."""
    side.divider()
    if not side.toggle("FC layers as convolutions", key="fc_as_conv",
                             help="Rewrite the classifier as convolutions (weights copied) and run the "
                                  "network on a larger image: the output becomes a map of class scores."):
        return
    size = config.input.height
    if st.session_state.get("fc_conv_side", 0) < size:  # first use, or the input grew past it
        st.session_state["fc_conv_side"] = max(size, DEFAULT_SIDE)
    larger = side.number_input("Larger image (side)", size, MAX_INPUT_SIDE, key="fc_conv_side",
                               help="Height = width, at least the model's input size.")
    try:
        summary = converted_summary(json.dumps(config.to_dict()), larger)
    except ConfigError as exc:
        st.error(literal(f"FC as convolutions: {exc}"))
        return
    scores = summary.layers[-1]
    c, h, w = scores.output_shape
    st.markdown(f"**FC layers as convolutions, on a {summary.input[0]}×{larger}×{larger} image**")
    st.caption(f"The output is a {c}×{h}×{w} map of class scores: {h * w} windows of the training input's "
               f"{size}×{size}, {format_pair(scores.jump)} pixels apart, each unit seeing "
               f"{format_pair(scores.rf)} pixels.")
    columns = ["name", "type", "output_shape", "rf", "jump", "params", "macs", "output_bytes"]
    frame = summary.to_frame()[columns]
    frame["output_bytes"] = frame["output_bytes"].map(format_bytes)
    frame = frame.rename(columns={"output_shape": "output shape", "rf": "RF", "macs": "MACs",
                                  "output_bytes": "output (1 image)"})
    st.container(key="fc_conv_table").dataframe(
        frame, hide_index=True, width="stretch", height=min(35 * len(frame) + 38, 640), column_config={
        name: st.column_config.NumberColumn(name, format="localized") for name in ("params", "MACs")})
    class_map_view.show(config, "fc_map")
