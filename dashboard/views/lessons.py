"""Lessons: each claim of the chapter in one sentence, proved by the engine's numbers for the inputs given."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from cnnlab import ConfigError, ModelConfig, lessons
from cnnlab.families.vgg import VGG_BLOCKS
from cnnlab.units import format_bytes
from dashboard import class_map_view, controls, model_state, pin_compare
from dashboard.build.number_field import Fields
from dashboard.run_store import open_store
from dashboard.text import literal

FORMATS = {"params": "{:,}".format, "MACs": "{:,}".format, "FC params": "{:,}".format,
           "FC share": "{:.2%}".format, "MACs vs first": "{:.2%}".format, "best test acc": "{:.3f}".format,
           "weight memory": format_bytes, "activation memory": format_bytes}


def display(rows: list[dict]) -> pd.DataFrame:
    """The lesson's rows with counts, shares and bytes written out; a missing value as "—"."""
    def text(key: str, value: object) -> str:
        return "—" if value is None else FORMATS[key](value) if key in FORMATS else str(value)

    return pd.DataFrame([{k: text(k, v) for k, v in row.items()} for row in rows])


def open_on_build(models: tuple[ModelConfig, ...]) -> None:
    """Go to the Build page in this tab with the lesson's models: the last as B, the first pinned as A
    (one model: nothing pinned); the controls follow B, and the address bar gets B's and A's link."""
    a = models[0] if len(models) > 1 else None
    controls.reset_controls()
    st.session_state[model_state.KEY], st.session_state[pin_compare.KEY] = models[-1], a
    st.switch_page("views/build.py", query_params=pin_compare.link_params(a, models[-1]))


def show(key: str, inputs: Callable[[Fields], dict], compute: Callable[..., lessons.Lesson]) -> None:
    """One panel: inputs, the claim, what the engine found, its table and a link to the Build page; a
    field out of range is an error naming its range, and no result stays under it."""
    with st.container(border=True, key=f"lesson_{key}"):
        head = st.container()  # the title and the claim go above the inputs
        fields = Fields()
        values = inputs(fields)
        for problem in fields.problems:
            st.error(literal(problem))
        if fields.problems:
            return
        try:
            lesson = compute(**values)
        except ConfigError as exc:
            st.error(literal(exc))
            return
        head.subheader(lesson.title)
        head.markdown(lesson.claim)
        st.info(lesson.finding)
        st.dataframe(display(lesson.rows), hide_index=True, width="stretch", key=f"lesson_{key}_table")
        if lesson.models:
            build_button(key, lesson.models)


def build_button(key: str, models: tuple) -> None:
    """The link to the Build page, or why the Build page cannot show these models."""
    try:
        checked = tuple(model_state.checked(m) for m in models)
    except ConfigError as exc:
        st.caption(literal(f"The Build page cannot show this: {exc}"))
        return
    label = "Open A and B on the Build page" if len(checked) > 1 else "Open on the Build page"
    if st.button(label, key=f"lesson_{key}_link", help="The Build page, in this tab"):
        open_on_build(checked)


def stack_inputs(key: str, depth: int) -> Callable[[Fields], dict]:
    def inputs(fields: Fields) -> dict:
        left, middle, right = st.columns(3)
        return {"channels": fields.number(left, "Channels C", 1, 1024, f"{key}_c", 64),
                "size": fields.number(middle, "Input size", 8, 256, f"{key}_size", 56),
                "depth": fields.number(right, "3×3 layers", 1, 8, f"{key}_depth", depth)}
    return inputs


def fc_share_inputs(fields: Fields) -> dict:
    left, middle, right = st.columns(3)
    return {"name": left.selectbox("VGG", list(VGG_BLOCKS), index=2, key="fc_share_name"),
            "size": fields.number(middle, "Input size", 32, 256, "fc_share_size", 224),
            "channels": right.selectbox("Input channels", [1, 3], index=1, key="fc_share_channels")}


def cost_inputs(fields: Fields) -> dict:
    left, middle, right = st.columns(3)
    return {"sizes": (fields.number(left, "Input size", 32, 256, "costs_a", 224),
                      fields.number(middle, "Smaller input", 32, 256, "costs_b", 96)),
            "channels": right.selectbox("Input channels", [1, 3], key="costs_channels")}


def evolution_inputs(fields: Fields) -> dict:
    left, right = st.columns(2)
    return {"size": fields.number(left, "Input size (AlexNet, VGG, ResNet)", 65, 256, "evolution_size", 224),
            "channels": right.selectbox("Input channels", [1, 3], key="evolution_channels"),
            "store": open_store()}


def residual_inputs(fields: Fields) -> dict:
    left, middle, right = st.columns(3)
    return {"channels": fields.number(left, "Channels C", 1, 512, "residual_c", 16),
            "size": fields.number(middle, "Input size", 8, 256, "residual_size", 32),
            "blocks": fields.number(right, "Residual blocks", 1, 16, "residual_blocks", 3)}


def fc_conv_inputs(fields: Fields) -> dict:
    left, middle, right = st.columns(3)
    return {"name": left.selectbox("Network", ["vgg11", "vgg16", "alexnet", "lenet"], key="fc_conv_name"),
            "train_size": fields.number(middle, "Training input", 28, 256, "fc_conv_train", 224),
            "size": fields.number(right, "Larger image", 28, 1024, "fc_conv_size", 320)}


@st.cache_data(max_entries=32, show_spinner="Measuring the effective field…")
def measured_field(channels: int, size: int, depth: int) -> lessons.Lesson:
    """The effective-field lesson (autograd on a CPU: seconds, so kept per input)."""
    return lessons.effective_field(channels, size, depth)


def erf_inputs(fields: Fields) -> dict:
    left, middle, right = st.columns(3)
    return {"channels": fields.number(left, "Channels C", 1, 64, "erf_c", 16),
            "size": fields.number(middle, "Input size", 16, 128, "erf_size", 64),
            "depth": fields.number(right, "3×3 layers", 1, 16, "erf_depth", 8)}


st.title("Lessons")
st.caption("Each claim of the chapter, proved by the analysis engine: change the numbers it depends on and "
           "every figure follows. Nothing on this page is typed in.")
show("stack2", stack_inputs("stack2", 2), lessons.stacked_3x3)
show("stack3", stack_inputs("stack3", 3), lessons.stacked_3x3)
show("fc_share", fc_share_inputs, lessons.vgg_fc_share)
show("costs", cost_inputs, lessons.vgg_costs)
show("evolution", evolution_inputs, lessons.evolution)
show("residual", residual_inputs, lessons.residual_field)
show("fc_conv", fc_conv_inputs, lessons.fc_conv_larger_image)
class_map_view.lesson_panel()
show("erf", erf_inputs, measured_field)
