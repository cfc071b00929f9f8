"""The See page's unit view: one unit's arithmetic on the chosen image, and the unit sliding across its map.

One forward pass per (model, image, layer), kept; choosing another channel or unit, stepping or sliding
reads the kept input and output (`cnnlab.inspect.explain_unit`) without running the model again.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnlab.figures import slide_figure, unit_figure, unit_grid_figure
from cnnlab.inspect import (
    LayerIO,
    SpatialLayer,
    Subject,
    UnitComputation,
    UnitLayer,
    dataset_images,
    explain_unit,
    layer_io,
    model_input,
    unit_layers,
)
from dashboard.text import literal

TOP = 6  # input channels drawn, by |contribution|; the others are summed


@st.cache_data(max_entries=16, show_spinner=False)
def layers_of(key: str, _subject: Subject) -> list[UnitLayer]:
    """The subject's convolution, pooling and linear layers (`key` names the subject)."""
    return unit_layers(_subject.model, _subject.input.as_tuple())


@st.cache_resource(max_entries=4, show_spinner="Running the model up to the layer…")
def io_of(key: str, dataset: str, index: int, layer: UnitLayer,
          _subject: Subject) -> tuple[LayerIO, np.ndarray, bool]:
    """The layer's input and output on test image `index`, the image as shown, and whether the layer
    reads the image itself."""
    image = dataset_images(dataset, 1, _subject.input, first=index)
    x = model_input(image, _subject.normalize)[0]
    io = layer_io(_subject.model, x, layer)
    return io, image[0].numpy(), io.input.shape == x.shape and bool(io.input.eq(x).all())


def _step(delta: int, count: int) -> None:
    st.session_state["see_u_pos"] = (st.session_state["see_u_pos"] + delta) % count


def choose_position(layer: UnitLayer, grid: SpatialLayer | None) -> tuple[int, int]:
    """Step buttons, a slider over the map in reading order and a click on the grid move the unit; a new
    layer starts at its centre."""
    _, rows, cols = layer.output_shape
    count, state = rows * cols, st.session_state
    if state.get("see_u_for") != (layer.name, rows, cols):
        state["see_u_for"] = (layer.name, rows, cols)
        state["see_u_pos"] = (rows // 2) * cols + cols // 2
        state["see_u_clicked"] = None
    points = (state.get("see_u_grid") or {}).get("selection", {}).get("points", [])
    if points:
        clicked = int(points[0]["y"]) * cols + int(points[0]["x"])
        if clicked != state.get("see_u_clicked"):
            state["see_u_clicked"] = state["see_u_pos"] = clicked
    state["see_u_pos"] = min(max(int(state["see_u_pos"]), 0), count - 1)
    back, forward, slider = st.columns([1, 1, 8], vertical_alignment="bottom")
    back.button("◀ Step", key="see_u_back", on_click=_step, args=(-1, count), width="stretch")
    forward.button("Step ▶", key="see_u_next", on_click=_step, args=(1, count), width="stretch")
    if count > 1:
        slider.slider("Slide the unit across the map (its number in reading order)", 0, count - 1,
                      key="see_u_pos")
    return divmod(int(state["see_u_pos"]), cols)


def show_numbers(got: UnitComputation) -> None:
    """The sum in parts: channels' sums, bias, pre-activation, activation, the real output."""
    if got.kernel is None:
        parts = [("Max of the window" if got.winner is not None else f"Window sum ÷ {got.divisor}", got.sum)]
    else:
        parts = [(f"Σ of {len(got.channel_sums)} {'products' if got.kind == 'linear' else 'channel sums'}",
                  float(got.channel_sums.sum())), ("+ bias", got.bias), ("= pre-activation", got.sum)]
    parts.append(("Real output (forward pass)", got.value))
    if got.activation is not None:
        parts.append((f"after {got.activation}", got.activated))
    for column, (label, value) in zip(st.columns(len(parts)), parts, strict=True):
        column.metric(label, "none" if value is None else f"{value:.5g}")


def show(subject: Subject, key: str, layers: list[SpatialLayer], dataset: str, index: int) -> None:
    """The view for `subject` (`key` names it for the caches), on test image `index` of `dataset`;
    `layers` are its layers with a spatial field (the unit's box on the image)."""
    choices = layers_of(key, subject)
    if not choices:
        st.info("This model has no convolution, pooling or linear layer.")
        return
    names, state = [layer.name for layer in choices], st.session_state
    if state.get("see_u_layer") not in names:
        state["see_u_layer"] = state.get("see_layer") if state.get("see_layer") in names else names[0]
    pick, pick_channel = st.columns([3, 1])
    name = pick.selectbox("Convolution, pooling or linear layer", names, key="see_u_layer",
                          format_func=lambda n: f"{n} ({choices[names.index(n)].kind}) → "
                                                f"{'×'.join(map(str, choices[names.index(n)].output_shape))}")
    layer = choices[names.index(name)]
    channels = layer.output_shape[0]
    state["see_u_channel"] = min(int(state.get("see_u_channel", 0)), channels - 1)
    channel = pick_channel.number_input("Output feature" if layer.kind == "linear" else "Output channel", 0,
                                        channels - 1, key="see_u_channel")
    spatial = {s.name: s for s in layers}.get(layer.name)
    unit = None if layer.kind == "linear" else choose_position(layer, spatial)
    io, image, reads_image = io_of(key, dataset, index, layer, subject)
    got = explain_unit(io, int(channel), unit)
    show_numbers(got)
    if unit is not None:
        left, right = st.columns([3, 1])
        first = got.inputs[0] if got.channel_sums is None else got.top(1).inputs[0]  # pool: its channel
        shown_input = None if reads_image else (int(first), io.input[int(first)].numpy())
        left.plotly_chart(slide_figure(image, got, spatial.box(unit) if spatial else None, shown_input,
                                       io.output[int(channel)].numpy(), height=300),
                          key="see_u_slide", width="stretch")
        if spatial is not None:
            right.caption(literal(f"{layer.name}: click a unit"))
            right.plotly_chart(unit_grid_figure(spatial, unit, height=220), key="see_u_grid",
                               on_select="rerun", selection_mode="points", width="stretch",
                               config={"displayModeBar": False})
    st.plotly_chart(unit_figure(got, TOP), key="see_u_figure", width="stretch")
    st.caption("Window: the values the unit multiplies (yellow: padding, read as 0); kernel: the layer's "
               "weights for this output channel over the input channels that feed it; products: the two "
               f"multiplied cell by cell. With many input channels, the {TOP} that add most are drawn and "
               "the others summed: the total stays exact. The real output comes from the model's own "
               "forward pass.")

