"""Build: pick or assemble a network and see every layer's shape, parameters, MACs, memory and field."""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cnnlab import ConfigError, ModelConfig
from cnnlab.analysis import Summary
from cnnlab.code_export import python_code
from cnnlab.devices import device_memory
from cnnlab.figures import memory_figure, params_figure, receptive_field_figure, shape_figure
from cnnlab.jobs import tasks
from cnnlab.train.recipes import recipe_of
from cnnlab.units import format_bytes, format_count
from dashboard import controls, jobs, model_state, model_upload, pin_compare, summary_view
from dashboard.build import diagram_view, fc_conv_view
from dashboard.build.number_field import range_problem, whole, whole_number
from dashboard.text import literal

UPLOAD_LIMIT = 64 * 1024
MAX_MEMORY_BATCH = 4096  # the Training memory tab's batch
MEMORY_OPTIMIZERS = ("sgd", "sgd + momentum", "adam", "adamw")
TABS = ("Layers", "Diagram", "Shapes", "Parameters", "Receptive field", "Training memory")


@st.cache_data(max_entries=32, show_spinner=False)
def exported_code(config_json: str) -> str:
    """The config as a PyTorch file (cached like the analysis)."""
    return python_code(ModelConfig.from_dict(json.loads(config_json)))


@st.cache_resource(max_entries=256, show_spinner=False)
def shared_chart(kind: str, config_json: str, *options: Any) -> go.Figure:
    """One chart of one config ("shape", "params", "rf", or "memory" with batch size and optimiser), built
    once per server and shared by every session: a Plotly figure costs 20-30 ms to build (validation),
    while st.plotly_chart only copies it, and no page changes it."""
    if kind == "shape":
        return shape_figure(model_state.summarize(config_json, 1))
    if kind == "memory":
        batch, optimizer = options
        momentum = 0.9 if "momentum" in optimizer else 0.0
        memory = jobs.result(("memory", config_json, optimizer, batch), "The memory estimate", tasks.memory,
                             config_json, optimizer.split()[0], momentum, batch)
        return memory_figure(memory, *device_memory())
    summary = model_state.summarize(config_json, None)
    if kind == "params":
        (log,) = options
        return params_figure(summary, log=log)
    return receptive_field_figure(summary)


def file_stem(name: str) -> str:
    """A download's file name from a model's name: letters, digits and underscores, at most 60."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", name)[:60]


def spec_files(config: ModelConfig, side: DeltaGenerator) -> None:
    """Download the spec as JSON or the model as PyTorch code; upload a spec back (validated,
    size-capped); under the controls."""
    side.divider()
    stem = file_stem(config.name)
    side.download_button("Download spec (JSON)", json.dumps(config.to_dict(), indent=2),
                               file_name=f"{stem}.json", mime="application/json", key="download_spec")
    try:
        code = exported_code(json.dumps(config.to_dict()))
    except ConfigError as exc:
        side.caption(literal(f"No PyTorch code: {exc}."))
    else:
        side.download_button("Download PyTorch code", code, file_name=f"{stem}.py",
                                   mime="text/x-python", key="download_code",
                                   help="A .py file that needs only torch: the network as cnnlab builds it "
                                        "and build_model().")
    limit = format_bytes(UPLOAD_LIMIT)
    # Streamlit's own line states the server's limit (that of a .pt2 model): this box says its own.
    st.html("<style>.st-key-upload_spec [data-testid='stFileUploaderDropzoneInstructions'] {display: none}"
            "</style>")
    upload = side.file_uploader(f"Load a spec (JSON, {limit} at most)", type=["json"], key="upload_spec",
                                max_upload_size=1, help="A JSON file saved with the button above.")
    if upload is None or st.session_state.get("loaded_upload") == upload.file_id:
        return
    st.session_state["loaded_upload"] = upload.file_id
    try:
        if upload.size > UPLOAD_LIMIT:
            raise ConfigError(f"{upload.name} is {format_bytes(upload.size)}; a spec is at most {limit}")
        try:
            data = json.loads(upload.getvalue().decode("utf-8"))
        except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, absurd numbers or nesting
            raise ConfigError(f"{upload.name} is not valid JSON ({exc})") from exc
        loaded = model_state.checked(ModelConfig.from_dict(data))
    except ConfigError as exc:
        side.error(literal(f"Could not load {upload.name}: {exc}"))
        return
    controls.reset_controls()
    model_state.remember(loaded)
    st.rerun()


def layer_table(config_json: str) -> None:
    """Every row (or block) with its window, shape, field, parameters and MACs; the whole table shows
    up to TABLE_ROWS rows, and names are never cut. Under it, the output-size formula of each
    convolution and pooling row."""
    view = st.radio("Rows", ["blocks (depth 1)", "every layer"], horizontal=True, key="table_view",
                    help="Depth 1 prints one row per block, as the textbook does.")
    rows = model_state.summarize(config_json, 1 if view.startswith("blocks") else None)
    summary_view.layer_table(rows, "layer_table")
    copies = st.container(horizontal=True)  # the table for slides and notes; buttons as wide as their labels
    stem = file_stem(rows.model)
    copies.download_button("Table as Markdown", rows.to_markdown(), file_name=f"{stem}.md",
                           mime="text/markdown", key="download_table_markdown")
    copies.download_button("Table as text", rows.to_text(), file_name=f"{stem}.txt", mime="text/plain",
                           key="download_table_text")
    formulas = [(row.name, row.size_formula()) for row in rows.layers if row.window is not None]
    with st.expander("Why this size? The output-size formula of each convolution and pooling row"):
        st.caption("side out = ⌊(side in + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1; "
                   "with dilation 1 that is ⌊(side in + 2·padding − kernel) / stride⌋ + 1 "
                   "(⌈ ⌉ for pooling in ceil mode).")
        if formulas:
            st.dataframe(pd.DataFrame(formulas, columns=["layer", "output side"]), hide_index=True,
                         width="stretch", key="size_formulas",
                         height=summary_view.table_height(len(formulas)))
        else:
            st.write("A block has several windows: choose “every layer” to see each one.")


def params_panel(summary: Summary, summary_json: str) -> None:
    """Parameters per layer, and beside it the totals by kind (convolution, fully connected, other)."""
    chart, shares = st.columns([3, 1])
    log = shares.toggle("Log scale", value=True, key="params_log",
                        help="A log axis keeps the small convolutions visible beside the large layers")
    chart.plotly_chart(shared_chart("params", summary_json, log), width="stretch", key="params_chart")
    total = summary.totals.params or 1
    for kind, count in summary.params_by_kind().items():
        if count:
            shares.metric(f"{kind.capitalize()} layers", f"{count / total:.1%}",
                          help=f"{count:,} of the {summary.totals.params:,} parameters")
    shares.caption(f"of {format_count(summary.totals.params)} parameters")


def memory_panel(config: ModelConfig, config_json: str) -> None:
    """The peak memory of one training step; the optimiser starts as the family's recipe's (as on Train)."""
    left, right = st.columns(2)
    batch = whole_number(left, "Batch size", 1, MAX_MEMORY_BATCH, key="mem_batch", default=128)
    optimizer = right.selectbox("Optimiser", MEMORY_OPTIMIZERS, key="mem_opt",
                                index=MEMORY_OPTIMIZERS.index(recipe_of(config).optimizer),
                                help="The Train page's default for this family (its recipe) at first")
    if problem := range_problem("Batch size", batch, 1, MAX_MEMORY_BATCH):
        st.error(literal(problem))
        return
    try:
        jobs.check_allowed("model_params", model_state.summarize(config_json, None).totals.params)
    except ConfigError as exc:
        st.error(literal(exc))
        return
    with st.spinner("Simulating a training step…"):
        chart = shared_chart("memory", config_json, whole(batch), optimizer)
    st.plotly_chart(chart, width="stretch", key="memory_chart")
    st.caption("The peak of a training step, from one step of this model and optimiser simulated on "
               "shapes alone: weights, gradients, optimiser state (with its step's temporaries), what "
               "backward really keeps and the temporaries in flight, at the moment they add up to most. "
               "Memory a kernel takes for itself (cuDNN's workspace, the CPU convolution's buffers) is "
               "not counted; runs record their measured peak beside this estimate (Train, Compare).")


st.title("Build a network")
st.caption("Pick a classic, assemble a VGG block by block or any network layer by layer, or pick a "
           "torchvision model; every number updates as you edit. "
           "The link in the address bar reproduces this model.")
start = model_state.current()
pin_compare.pinned()  # read the link's model A before the URL is rewritten for B
controls.init_widgets(start)
upload_area = st.container()
headline_area = st.container()
wide_area = st.container()
panel, results = st.columns([1, 3], gap="medium")
try:
    config = controls.controls(panel, wide_area)
    summary = model_state.summarize(json.dumps(config.to_dict()), None)
    stale = None
except ConfigError as exc:  # under a table drawn across the page (seq's layers) right below it
    (wide_area if controls.drawn_wide() else results).error(literal(exc))
    results.info(literal(f"Still showing the last valid model: {model_state.describe(start)}."))
    config, summary = start, model_state.summarize(json.dumps(start.to_dict()), None)
    stale = model_state.describe(start)
else:
    model_state.remember(config)
    controls.sync(config)
spec_files(config, panel)
model_upload.uploader(panel)
config_json = json.dumps(config.to_dict())
with upload_area:
    model_upload.panel()
with headline_area:
    if model_upload.current() is not None:  # this headline is not the uploaded model's (that is above)
        st.caption(literal(f"The Build page's model: {model_state.describe(config)}"))
    summary_view.headline(summary, "headline", stale)
    pin_compare.panel(config, panel)
with results:
    st.subheader(literal(model_state.describe(config)))
    fc_conv_view.panel(config, panel)
    tabs = st.tabs(TABS)
    with tabs[0]:
        layer_table(config_json)
    with tabs[1]:
        diagram_view.panel(config)
    with tabs[2]:
        st.plotly_chart(shared_chart("shape", config_json), width="stretch", key="shape_chart")
    with tabs[3]:
        params_panel(summary, config_json)
    with tabs[4]:
        st.plotly_chart(shared_chart("rf", config_json), width="stretch", key="rf_chart")
        st.caption("Layers in the order they run. Each 3×3 convolution adds 2 × jump pixels; each "
                   "stride-2 layer doubles the jump. Diamonds are side branches (ResNet's downsampling "
                   "shortcuts, run from the block's input); where paths merge a unit sees their union.")
    with tabs[5]:
        memory_panel(config, config_json)
