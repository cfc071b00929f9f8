"""See: a unit's theoretical and effective receptive field on real images, feature maps, kernels and the
images that excite a channel most, for the Build page's model, a trained run or an uploaded model."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import streamlit as st
import torch
from streamlit.delta_generator import DeltaGenerator

from cnnlab import ConfigError, ModelConfig, build, heat
from cnnlab.analysis import analyze, format_pair
from cnnlab.data import DATASET_NAMES, available_datasets, dataset_info
from cnnlab.figures import (
    feature_maps_figure,
    field_figure,
    top_images_figure,
    unit_grid_figure,
)
from cnnlab.inspect import (
    EffectiveField,
    SpatialLayer,
    Subject,
    conv_layers,
    dataset_images,
    default_dataset,
    feature_maps,
    from_run,
    initial,
    kernels,
    model_input,
    spatial_layers,
)
from cnnlab.inspect.subject import check_weights
from cnnlab.jobs import tasks
from cnnlab.limits import (
    IMAGE_CACHE_MIB,
    MAX_FEATURE_CHANNELS,
    MAX_INSPECT_IMAGES,
    MAX_TOP_SAMPLE,
    MODEL_CACHE_MIB,
)
from cnnlab.spec import InputSpec
from dashboard import caches, jobs, model_state, model_upload
from dashboard.build.number_field import Fields, whole
from dashboard.run_store import open_store
from dashboard.see import unit_view
from dashboard.see.source import Source
from dashboard.text import literal

VIEWS = ("Receptive field", "Feature maps", "Filters", "Top images", "One unit")
SOURCES = ("The Build page's model", "A trained run", "Your uploaded model")
BUDGET_MACS = 8e9  # default number of images: about this many MACs per effective field
MAX_IMAGE_INDEX = 999  # the page offers the first 1,000 test images
MAX_TOP_K = 16


@caches.bounded(MODEL_CACHE_MIB)
def load(source: Source) -> Subject:
    """The subject (kept: it does not change; effective fields and top images are computed by the
    worker pool, which loads its own)."""
    if source.model_file:
        return model_upload.subject_of(source.model_file, source.name)
    if source.run_id is None:
        return initial(ModelConfig.from_dict(json.loads(source.config_json)), seed=source.seed)
    return from_run(source.run_id, source.home, trained=source.trained)


@caches.bounded(IMAGE_CACHE_MIB)
def images_of(dataset: str, count: int, input_text: str, first: int = 0) -> np.ndarray:
    from cnnlab.spec import InputSpec

    return dataset_images(dataset, count, InputSpec.parse(input_text), first=first,
                          cap=MAX_TOP_SAMPLE).numpy()


@st.cache_data(max_entries=64, show_spinner=False)
def layers_of(config_json: str) -> list[SpatialLayer]:
    config = ModelConfig.from_dict(json.loads(config_json))
    return spatial_layers(build(config), config.input.as_tuple())


def facts(source: Source) -> tuple[list[SpatialLayer], InputSpec, int]:
    """The source's layers, input and MACs per image."""
    if source.model_file:
        subject = load(source)
        summary = model_upload.summary_of(source.model_file, source.name)
        return spatial_layers(subject.model, subject.input.as_tuple()), subject.input, summary.totals.macs
    config = ModelConfig.from_dict(json.loads(source.config_json))
    return layers_of(source.config_json), config.input, analyze(config).totals.macs


def params_of(source: Source) -> int:
    if source.model_file:
        return model_upload.summary_of(source.model_file, source.name).totals.params
    return model_state.summarize(source.config_json).totals.params


def field_of(source: Source, dataset: str, count: int, layer: SpatialLayer,
             unit: tuple[int, int]) -> EffectiveField | None:
    """The field from the server's worker pool; None while it runs (its progress shown) or if cancelled.
    A request over the class's limits is refused before it starts."""
    jobs.check_allowed("field_images", count)
    jobs.check_allowed("model_params", params_of(source))
    return jobs.watched(("field", source, dataset, count, layer, unit),
                        f"Effective field of {layer.name} over {count} images ({source.label})",
                        tasks.field, tasks.SubjectRef(**asdict(source)), dataset, count, layer, unit)


@st.cache_data(max_entries=32, show_spinner=False)
def maps_of(source: Source, dataset: str, index: int, layers: tuple[SpatialLayer, ...],
            channels: int) -> list:
    subject = load(source)
    x = torch.from_numpy(images_of(dataset, 1, str(subject.input), first=index))
    return feature_maps(subject.model, model_input(x, subject.normalize)[0], list(layers), channels)


def tops_of(source: Source, dataset: str, sample: int, layer: SpatialLayer, channel: int,
            k: int) -> list | None:
    """The top images from the server's worker pool; None while they are ranked or if cancelled. A
    request over the class's limits is refused before it starts."""
    jobs.check_allowed("top_images_sample", sample)
    jobs.check_allowed("model_params", params_of(source))
    return jobs.watched(("tops", source, dataset, sample, layer, channel, k),
                        f"Ranking {sample} images by {layer.name} channel {channel}", tasks.tops,
                        tasks.SubjectRef(**asdict(source)), dataset, sample, layer, channel, k)


def choose_sources(fields: Fields) -> tuple[list[Source], str | None]:
    """The model(s) to look at and the dataset they were trained on (if a run)."""
    left, right = st.columns([3, 2])  # wide enough for the three choices on one line at 1024 px
    kind = left.radio("Model", SOURCES, horizontal=True, key="see_source")
    if kind == SOURCES[2]:
        model = model_upload.current()
        if model is None:
            st.info("No model uploaded in this session: load a .pt2 file (saved with torch.export.save) on "
                    "the Build page.")
            st.stop()
        left.caption(literal(f"{model['name']}, with the weights saved in it"))
        return [Source("", model_file=model["path"], name=model["name"])], None
    if kind == SOURCES[0]:
        config = model_state.current()
        seed = fields.number(right, "Initialisation seed", 0, 2**31 - 1, "see_seed", 0,
                             help="The untrained weights a run with this seed starts from")
        left.caption(f"{model_state.describe(config)}, untrained")
        return [Source(json.dumps(config.to_dict()), seed=seed or 0)], None
    store = open_store()
    if store is None:
        st.stop()
    runs = [run for run in store.list_runs() if run.weights_path]
    if not runs:
        st.info("No run has saved weights yet: runs launched from the Train page save them "
                "(from the CLI: `--save-weights`).")
        st.stop()
    labels = {run.id: f"#{run.id} {run.name} [{run.status}]" for run in runs}
    run_id = right.selectbox("Run", list(labels), format_func=labels.get, key="see_run")
    run = store.get(run_id)
    check_weights(run)
    config_json = json.dumps(run.config["model"])
    home = str(store.home)
    return [Source(config_json, run_id=run_id, trained=False, home=home),
            Source(config_json, run_id=run_id, trained=True, home=home)], run.dataset


def choose_data(inp: InputSpec, run_dataset: str | None, subject: Source, left: DeltaGenerator,
                right: DeltaGenerator, fields: Fields) -> tuple[str, int | None]:
    """The images: a run's own dataset (else the built-in set of the input's channels) each time another
    model is chosen; the user's pick while it stays."""
    ready = [name for name in DATASET_NAMES if available_datasets()[name]]
    preferred = run_dataset if run_dataset in ready else default_dataset(inp)
    if run_dataset is not None and run_dataset not in ready:
        st.warning(f"The run's dataset {run_dataset} is not on this machine (see docs/DATASETS.md); "
                   f"its images cannot be shown, so {preferred} is offered instead.")
    chosen = (subject.run_id, subject.model_file, subject.config_json, preferred)
    if st.session_state.get("see_dataset") not in ready or st.session_state.get("see_images_for") != chosen:
        st.session_state["see_dataset"] = preferred
    st.session_state["see_images_for"] = chosen
    dataset = left.selectbox("Images from", ready, key="see_dataset",
                             help="; ".join(f"{n}: {dataset_info(n)['description']}" for n in ready))
    index = fields.number(right, "Image", 0, MAX_IMAGE_INDEX, "see_image", 0, help="Index in the test split")
    return dataset, index


def layer_label(layer: SpatialLayer) -> str:
    """'block5.4 — 128×7×7, field 150': the layer as the box shows it."""
    return f"{layer.name} — {'×'.join(map(str, layer.shape))}, field {format_pair(layer.rf)}"


def choose_layer(layers: list[SpatialLayer]) -> SpatialLayer:
    """The layer; a link's `layer` (a box clicked on Build's diagram) picks it once, and one that is not
    a layer of the model is named. The box describes the model on screen: when the layers' shapes or
    fields change (another model with the same layer names), its value is set again, so the browser
    shows the new label rather than the one it kept."""
    names, state = [layer.name for layer in layers], st.session_state
    linked = st.query_params.get("layer")
    if linked is not None and state.get("see_linked_layer") != linked:
        state["see_linked_layer"] = linked
        if linked in names:
            state["see_layer"] = linked
        else:
            st.error(literal(f"The link's layer {linked} is not a layer of this model with a map; its "
                             f"layers are {names[0]} to {names[-1]} (the box lists them)."))
    labels = {layer.name: layer_label(layer) for layer in layers}
    if state.get("see_layer") not in names:
        state["see_layer"] = names[-1]
    elif state.get("see_layer_labels") != labels:
        state["see_layer"] = state["see_layer"]  # set by the page: the browser is sent the new label
    state["see_layer_labels"] = labels
    name = st.selectbox("Layer", names, key="see_layer", format_func=labels.get)
    return layers[names.index(name)]


def choose_unit(layer: SpatialLayer, fields: Fields) -> tuple[int, int] | None:
    """Row and column inputs, and a click on the map's grid, set the unit; a new layer starts at its
    centre, and a unit the layer's new map (another model) has no more is brought to its edge. A row or
    column typed outside the map is named with its range (None)."""
    _, rows, cols = layer.shape
    state = st.session_state
    if state.get("see_unit_layer") != layer.name:
        state["see_unit_layer"] = layer.name
        state["see_row"], state["see_col"] = map(str, layer.centre_unit)
        state["see_clicked"] = None
    elif state.get("see_unit_map") != layer.shape:
        for key, side in (("see_row", rows), ("see_col", cols)):
            if (value := whole(state.get(key))) is not None:
                state[key] = str(min(value, side - 1))
    state["see_unit_map"] = layer.shape
    event = state.get("see_grid")
    points = (event or {}).get("selection", {}).get("points", [])
    if points:
        clicked = (int(points[0]["y"]), int(points[0]["x"]))
        if clicked != state.get("see_clicked"):
            state["see_clicked"] = clicked
            state["see_row"], state["see_col"] = map(str, clicked)
    a, b = st.columns(2)
    row = fields.number(a, "Row", 0, rows - 1, "see_row", layer.centre_unit[0])
    col = fields.number(b, "Column", 0, cols - 1, "see_col", layer.centre_unit[1])
    st.caption(literal(f"{layer.name}: a {rows}×{cols} map. Click a unit."))
    unit = None if row is None or col is None else (row, col)
    st.plotly_chart(unit_grid_figure(layer, unit or layer.centre_unit), key="see_grid", on_select="rerun",
                    selection_mode="points", width="stretch", config={"displayModeBar": False})
    return unit


def show_fields(sources: list[Source], dataset: str, index: int, layer: SpatialLayer, unit: tuple[int, int],
                count: int) -> None:
    scale = st.radio("Heat", heat.SCALES, horizontal=True, key="see_heat_scale", format_func=heat.title)
    columns = st.columns(len(sources))
    for source, column in zip(sources, columns, strict=True):
        subject = load(source)
        with column:
            field = field_of(source, dataset, count, layer, unit)
        if field is None:
            continue
        image = images_of(dataset, 1, str(subject.input), first=index)[0]
        with column:  # the heat first, where the eye goes; its numbers below it
            title = f"{layer.name} unit {unit} — {source.label}"
            st.plotly_chart(field_figure(image, field, title, scale=scale), key=f"see_field_{source.trained}",
                            width="stretch")
            if field.dead:
                st.warning(f"The unit's gradient is zero on all {count} images: it never responds to them.")
            else:  # one row of four; two rows of two when two models share the width
                slots = st.columns(4 if len(sources) == 1 else 2) * 2
                slots[0].metric("Theoretical field", f"{format_pair(layer.rf)} px",
                                help="From the analysis engine")
                slots[1].metric("50% within", f"{field.side50} px", help="Side of the smallest square, "
                                "centred on the field, holding half the gradient")
                slots[2].metric("95% within", f"{field.side95} px")
                slots[3].metric("95% area share", f"{field.area_ratio95:.2f}",
                                help="The 95% square's area ÷ the theoretical field's area: how much of "
                                     "what it could see the unit really uses")
    if field is None:
        return
    st.caption(f"Box: the theoretical field (rows {field.box[0]}..{field.box[2]}, columns "
               f"{field.box[1]}..{field.box[3]}; grey: padding outside the image). Heat: the mean absolute "
               f"gradient of the unit over {count} {dataset} test images (Luo et al., 2016), float64.")


def show_feature_maps(source: Source, dataset: str, index: int | None, layers: list[SpatialLayer],
                      fields: Fields) -> None:
    left, right = st.columns([1, 3])
    channels = fields.number(left, "Channels per layer", 1, MAX_FEATURE_CHANNELS, "see_channels", 8)
    every = left.checkbox("Every layer", False, key="see_every_layer",
                          help="Off: the top-level layers (blocks) only")
    if shown_problems(fields) or index is None or channels is None:
        return
    chosen = tuple(layer for layer in layers if every or ("." not in layer.module and layer.call == 1))
    subject = load(source)
    image = images_of(dataset, 1, str(subject.input), first=index)[0]
    left.image(np.repeat(image, 3, 0).transpose(1, 2, 0) if image.shape[0] == 1 else image.transpose(1, 2, 0),
               caption=f"{dataset} test image {index}", clamp=True, width="stretch")
    with right:
        for maps in maps_of(source, dataset, index, chosen or tuple(layers), channels):
            st.plotly_chart(feature_maps_figure(maps), key=f"see_maps_{maps.layer}", width="stretch")


def show_kernels(sources: list[Source]) -> None:
    subject = load(sources[-1])
    names = conv_layers(subject.model)
    if not names:
        st.info("This model has no convolution.")
        return
    name = st.selectbox("Convolution", names, key="see_conv")
    for source, column in zip(sources, st.columns(len(sources)), strict=True):
        with column:
            st.caption(source.label)
            st.plotly_chart(kernels(load(source).model, name).figure(),
                            key=f"see_kernels_{source.trained}", width="stretch")


def show_top_images(source: Source, dataset: str, layer: SpatialLayer, fields: Fields) -> None:
    a, b, c = st.columns(3)
    channel = fields.number(a, "Channel", 0, layer.shape[0] - 1, "see_channel", 0)
    k = fields.number(b, "Images", 1, MAX_TOP_K, "see_top_k", 8)
    sample = fields.number(c, "Out of the first N test images", 1, MAX_TOP_SAMPLE, "see_sample", 256)
    if shown_problems(fields) or channel is None or k is None or sample is None:
        return
    tops = tops_of(source, dataset, sample, layer, channel, min(k, sample))
    if tops is None:
        return
    subject = load(source)
    images = images_of(dataset, sample, str(subject.input))
    st.plotly_chart(top_images_figure(images, tops, layer.name, channel), key="see_tops", width="stretch")
    st.caption(f"{source.label}. Box: the field of the unit where the channel peaks in each image.")


def shown_problems(fields: Fields) -> bool:
    """Each field's problem as an error, where the result would be (none is drawn under them)."""
    for problem in fields.problems:
        st.error(literal(problem))
    return bool(fields.problems)


def default_count(macs: int) -> int:
    """16 images, fewer for a model so large that 16 would keep the page waiting."""
    return int(min(16, max(1, BUDGET_MACS // max(macs, 1))))


st.title("See what the network sees")
st.caption("Pick a layer and a unit: the box is what the unit can see (its theoretical receptive field), "
           "the heat is where it really looks (its effective receptive field).")
try:
    fields = Fields()  # every number typed on the page: out of range, no result is drawn
    sources, run_dataset = choose_sources(fields)
    layers, inp, macs = facts(sources[0])
    data, image_at, layer_at, count_at = st.columns([3, 1, 3, 1])
    dataset, index = choose_data(inp, run_dataset, sources[0], data, image_at, fields)
    with layer_at:
        layer = choose_layer(layers)
    count = fields.number(count_at, "Images", 1, MAX_INSPECT_IMAGES, "see_images", default_count(macs),
                          help="Test images the effective field is averaged over")
    view = st.radio("View", VIEWS, horizontal=True, key="see_view", label_visibility="collapsed")
    if view == VIEWS[0]:
        left, right = st.columns([1, 1.6 * len(sources)])
        with left:
            unit = choose_unit(layer, fields)
        with right:
            if not shown_problems(fields):
                show_fields(sources, dataset, index, layer, unit, count)
    elif view == VIEWS[1]:
        show_feature_maps(sources[-1], dataset, index, layers, fields)
    elif view == VIEWS[2]:
        if not shown_problems(fields):
            show_kernels(sources)
    elif view == VIEWS[3]:
        show_top_images(sources[-1], dataset, layer, fields)
    elif not shown_problems(fields):
        unit_view.show(load(sources[-1]), repr(sources[-1]), layers, dataset, index)
except ConfigError as exc:
    st.error(literal(exc))
