"""Build: pick or assemble a network and see every layer's shape, parameters, MACs, memory and field."""

from __future__ import annotations

import json
import os
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cnnlab import ConfigError, ModelConfig, model_config
from cnnlab.analysis import Summary, analyze, format_pair
from cnnlab.spec import (
    PRESETS,
    SPEC_TYPES,
    VGG_BLOCKS,
    AlexNetSpec,
    InputSpec,
    ResNetSpec,
    VGGSpec,
)
from cnnlab.units import format_bytes, format_count
from dashboard import model_state
from dashboard.charts import memory_figure, params_figure, receptive_field_figure, shape_figure
from dashboard.text import literal

FAMILIES = {"LeNet": "lenet", "AlexNet": "alexnet", "VGG": "vgg", "ResNet": "resnet"}
VGG_PRESETS = {"VGG-11": "vgg11", "VGG-13": "vgg13", "VGG-16": "vgg16", "VGG-19": "vgg19", "custom": None}
UPLOAD_LIMIT = 64 * 1024


@st.cache_data(max_entries=128, show_spinner=False)
def summarize(config_json: str, depth: int | None) -> Summary:
    """The analysis of one config (cached: a rerun with the same config costs nothing)."""
    return analyze(ModelConfig.from_dict(json.loads(config_json)), depth=depth)


@st.cache_resource(max_entries=256, show_spinner=False)
def chart(kind: str, config_json: str, *options: Any) -> go.Figure:
    """One chart of one config ("shape", "params", "rf", or "memory" with batch size and optimiser), built
    once per server and shared by every session: a Plotly figure costs 20-30 ms to build (validation),
    while st.plotly_chart only copies it, and no page changes it."""
    if kind == "shape":
        return shape_figure(summarize(config_json, 1))
    summary = summarize(config_json, None)
    if kind == "params":
        return params_figure(summary)
    if kind == "rf":
        return receptive_field_figure(summary)
    batch, optimizer = options
    memory = summary.training_memory(batch, optimizer.split()[0], 0.9 if "momentum" in optimizer else 0.0)
    return memory_figure(memory, *available_memory())


def available_memory() -> tuple[int, str]:
    """Total memory of the training device: the GPU's if there is one, else the machine's RAM."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_properties(0).total_memory, torch.cuda.get_device_name(0)
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "CPU RAM"


def init_widgets(config: ModelConfig) -> None:
    """Give every control its value from `config` unless the user has set it already."""
    arch = config.arch
    family = next(label for label, name in FAMILIES.items() if name == arch.family)
    defaults = {"family": family, "in_channels": config.input.channels, "in_size": config.input.height,
                "classes": arch.classes}
    if isinstance(arch, VGGSpec):
        if "preset_shown" in st.session_state:  # the table's blocks changed the preset (see sync_preset)
            st.session_state["vgg_preset"] = st.session_state.pop("preset_shown")
        defaults |= {"vgg_preset": preset_label(arch.blocks), "width_divisor": arch.width_divisor,
                     "fc_width": arch.fc_width, "batch_norm": arch.batch_norm}
        # The table's edits are kept relative to `vgg_base`. Without them (a first visit, a return from
        # another page, "custom" chosen) the table starts from the model itself; after a preset choice,
        # from that preset.
        if "blocks" not in st.session_state and not st.session_state.pop("preset_chosen", False):
            st.session_state["vgg_base"] = [list(b) for b in arch.blocks]
    if isinstance(arch, AlexNetSpec):
        defaults |= {"fc_width": arch.fc_width}
    if isinstance(arch, ResNetSpec):
        defaults |= {"resnet_depth": arch.depth, "stem": arch.stem, "width_divisor": arch.width_divisor}
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)


def preset_label(blocks: tuple[tuple[int, int], ...]) -> str:
    """The preset with these blocks, or "custom"."""
    return next((label for label, name in VGG_PRESETS.items() if name and VGG_BLOCKS[name] == blocks),
                "custom")


def sync_preset(config: ModelConfig) -> None:
    """After a table edit, show the preset the blocks now match, or "custom" (one more rerun)."""
    if isinstance(config.arch, VGGSpec):
        label = preset_label(config.arch.blocks)
        if st.session_state.get("vgg_preset") != label:
            st.session_state["preset_shown"] = label
            st.rerun()


def reset_controls() -> None:
    """Forget every control's value (after a family switch or an upload) so they follow the model."""
    for key in ("family", "vgg_preset", "vgg_base", "blocks", "width_divisor", "fc_width", "batch_norm",
                "resnet_depth", "stem", "in_channels", "in_size", "classes"):
        st.session_state.pop(key, None)


def on_family_change() -> None:
    family = FAMILIES[st.session_state["family"]]
    preset = {"vgg": "vgg11", "resnet": "resnet18"}.get(family, family)
    reset_controls()
    st.session_state[model_state.KEY] = model_config(PRESETS[preset])


def on_preset_change() -> None:
    name = VGG_PRESETS[st.session_state["vgg_preset"]]
    if name:
        st.session_state["vgg_base"] = [list(b) for b in VGG_BLOCKS[name]]
        st.session_state["preset_chosen"] = True
    st.session_state.pop("blocks", None)


def block_editor() -> pd.DataFrame:
    """The VGG block table, as edited."""
    base = pd.DataFrame(st.session_state["vgg_base"], columns=["num_convs", "out_channels"])
    return st.data_editor(
        base, key="blocks", num_rows="dynamic", width="stretch", hide_index=True,
        column_config={
            "num_convs": st.column_config.NumberColumn("3×3 convs", help="convolutions in the block",
                                                       min_value=1, max_value=16, step=1, width="small"),
            "out_channels": st.column_config.NumberColumn("channels", help="output channels of the block",
                                                          min_value=1, max_value=4096, step=1, width="small"),
        })


def blocks_of(table: pd.DataFrame) -> tuple[tuple[int, int], ...]:
    blocks = []
    for i, (convs, channels) in enumerate(table.itertuples(index=False), 1):
        if pd.isna(convs) or pd.isna(channels):
            raise ConfigError(f"VGG block {i} has an empty cell; fill in both numbers or delete the row")
        blocks.append((int(convs), int(channels)))
    return tuple(blocks)


def controls(side: DeltaGenerator) -> ModelConfig:
    """Draw the model controls in `side`, then turn them into a model config (ConfigError if it makes
    no sense). Every control is drawn before anything is checked, so an error leaves them all in place."""
    family = side.selectbox("Family", list(FAMILIES), key="family", on_change=on_family_change)
    values = {}
    if family == "VGG":
        side.selectbox("Preset", list(VGG_PRESETS), key="vgg_preset", on_change=on_preset_change,
                       help="The VGG paper's configurations A, B, D and E; edit the table for your own.")
        side.caption("Blocks: each is N 3×3 convolutions then a 2×2 max-pool. Add or delete rows.")
        with side:
            table = block_editor()
        values["width_divisor"] = side.number_input(
            "Width divisor", 1, 64, key="width_divisor",
            help="Divide every block's channels (the textbook's small VGG uses 4).")
        values["fc_width"] = side.number_input("FC width", 1, 16384, key="fc_width",
                                               help="Width of the two hidden fully connected layers.")
        values["batch_norm"] = side.checkbox("Batch norm", key="batch_norm")
    elif family == "ResNet":
        values["depth"] = side.selectbox("Depth", [18, 34, 50], key="resnet_depth",
                                         help="18/34: basic blocks; 50: bottlenecks.")
        values["stem"] = side.radio("Stem", ["imagenet", "cifar"], key="stem", horizontal=True,
                                    help="imagenet: 7×7/2 conv + max-pool; cifar: one 3×3/1 conv.")
        values["width_divisor"] = side.number_input("Width divisor", 1, 64, key="width_divisor")
    elif family == "AlexNet":
        values["fc_width"] = side.number_input("FC width", 1, 16384, key="fc_width")
    side.divider()
    left, right = side.columns(2)
    channels = left.selectbox("Input channels", [1, 3], key="in_channels", help="1: grey, 3: colour.")
    size = right.number_input("Input size", 28, 256, key="in_size", help="Height = width, in pixels.")
    values["classes"] = side.number_input("Classes", 2, 1000, key="classes")
    if family == "VGG":
        values["blocks"] = blocks_of(table)
    return ModelConfig(SPEC_TYPES[FAMILIES[family]](**values), InputSpec(channels, size, size))


def spec_files(config: ModelConfig) -> None:
    """Download the spec as JSON; upload one back (validated, size-capped)."""
    st.sidebar.divider()
    st.sidebar.download_button("Download spec (JSON)", json.dumps(config.to_dict(), indent=2),
                               file_name=f"{config.name.replace(':', '_')}.json", mime="application/json",
                               key="download_spec")
    upload = st.sidebar.file_uploader("Load a spec", type=["json"], key="upload_spec",
                                      help="A JSON file saved with the button above (64 KB at most).")
    if upload is None or st.session_state.get("loaded_upload") == upload.file_id:
        return
    st.session_state["loaded_upload"] = upload.file_id
    try:
        if upload.size > UPLOAD_LIMIT:
            raise ConfigError(f"{upload.name} is {format_bytes(upload.size)}; a spec is at most 64 KB")
        try:
            data = json.loads(upload.getvalue().decode("utf-8"))
        except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, absurd numbers or nesting
            raise ConfigError(f"{upload.name} is not valid JSON ({exc})") from exc
        loaded = model_state.checked(ModelConfig.from_dict(data))
    except ConfigError as exc:
        st.sidebar.error(literal(f"Could not load {upload.name}: {exc}"))
        return
    reset_controls()
    model_state.remember(loaded)
    st.rerun()


def headline(summary: Summary) -> None:
    t, final = summary.totals, summary.final_field
    cols = st.columns(5)
    cols[0].metric("Parameters", format_count(t.params), help=f"{t.params:,} weights and biases")
    cols[1].metric("MACs per image", format_count(t.macs),
                   help="Multiply-accumulates of one forward pass (convolutions and linear layers).")
    cols[2].metric("Weight memory", format_bytes(t.param_bytes), help="float32 parameters")
    cols[3].metric("Activation memory", format_bytes(t.activation_bytes),
                   help="The distinct layer outputs of one image (float32; in-place layers and views "
                        "share memory), kept for the backward pass.")
    cols[4].metric("Receptive field", "-" if final is None else f"{format_pair(final.rf)} px",
                   help="How many input pixels one unit of the last feature map sees (padding included).")


def layer_table(config_json: str) -> None:
    view = st.radio("Rows", ["blocks (depth 1)", "every layer"], horizontal=True, key="table_view",
                    help="Depth 1 prints one row per block, as the textbook does.")
    rows = summarize(config_json, 1 if view.startswith("blocks") else None)
    frame = rows.to_frame()[["name", "type", "output_shape", "rf", "jump", "params", "macs", "output_bytes"]]
    frame["output_bytes"] = frame["output_bytes"].map(format_bytes)
    frame[["rf", "jump"]] = frame[["rf", "jump"]].fillna("—")
    st.dataframe(frame, hide_index=True, width="stretch", key="layer_table",
                 height=min(35 * len(frame) + 38, 640),
                 column_config={"output_shape": "output shape", "output_bytes": "output (1 image)",
                                "params": st.column_config.NumberColumn("params", format="localized",
                                                                        width=105),
                                "macs": st.column_config.NumberColumn("MACs", format="localized", width=125),
                                "rf": st.column_config.TextColumn("RF", help="receptive field, input pixels"),
                                "jump": st.column_config.TextColumn("jump", help="stride product")})


def memory_panel(config_json: str) -> None:
    left, right = st.columns(2)
    batch = left.number_input("Batch size", 1, 4096, 128, key="mem_batch")
    optimizer = right.selectbox("Optimiser", ["sgd", "sgd + momentum", "adam", "adamw"], key="mem_opt")
    st.plotly_chart(chart("memory", config_json, int(batch), optimizer), width="stretch", key="memory_chart")
    st.caption("An estimate: weights + gradients + optimiser state + one copy of every distinct layer "
               "output per image; the framework's workspaces come on top.")


st.title("Build a network")
st.caption("Pick a classic or assemble a VGG block by block; every number updates as you edit. "
           "The link in the address bar reproduces this model.")
start = model_state.current()
init_widgets(start)
headline_area = st.container()
panel, results = st.columns([1.3, 2.7], gap="large")
try:
    config = controls(panel)
    summary = summarize(json.dumps(config.to_dict()), None)
except ConfigError as exc:
    results.error(literal(exc))
    results.info(literal(f"Still showing the last valid model: {model_state.describe(start)}."))
    config, summary = start, summarize(json.dumps(start.to_dict()), None)
else:
    model_state.remember(config)
    sync_preset(config)
spec_files(config)
config_json = json.dumps(config.to_dict())
with headline_area:
    headline(summary)
with results:
    st.subheader(literal(model_state.describe(config)))
    tabs = st.tabs(["Layers", "Shapes", "Parameters", "Receptive field", "Training memory"])
    with tabs[0]:
        layer_table(config_json)
    with tabs[1]:
        st.plotly_chart(chart("shape", config_json), width="stretch", key="shape_chart")
    with tabs[2]:
        st.plotly_chart(chart("params", config_json), width="stretch", key="params_chart")
    with tabs[3]:
        st.plotly_chart(chart("rf", config_json), width="stretch", key="rf_chart")
        st.caption("Each 3×3 convolution adds 2 × jump pixels; each stride-2 layer doubles the jump. "
                   "Where paths merge (ResNet shortcuts) a unit sees the union of its paths.")
    with tabs[4]:
        memory_panel(config_json)
