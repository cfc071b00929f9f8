"""The class-score map drawn: the model's FC layers as convolutions slid over a mosaic of test images, with
a trained run's weights where one of this model has them (Build page's FC→conv panel, Lessons)."""

from __future__ import annotations

import json

import streamlit as st

from cnnlab import ConfigError, ModelConfig
from cnnlab.data import DATASET_NAMES, available_datasets
from cnnlab.fc_as_conv import ClassScoreMap, class_score_map, mosaic
from cnnlab.inspect import dataset_images, default_dataset, from_run, initial, model_input
from dashboard.run_store import open_store
from dashboard.text import literal

GRID = 2  # a 2×2 mosaic: a picture twice the training input's side


@st.cache_data(max_entries=16, show_spinner="Sliding the classifier over the picture…")
def score_map(config_json: str, run_id: int | None, home: str, dataset: str, first: int) -> ClassScoreMap:
    """The map over a GRID×GRID mosaic of test images `first`…, with run `run_id`'s weights (else the
    untrained seed-0 model)."""
    config = ModelConfig.from_dict(json.loads(config_json))
    subject = initial(config, seed=0) if run_id is None else from_run(run_id, home)
    images = dataset_images(dataset, GRID * GRID, config.input, subject.data_dir, first=first)
    picture = mosaic(images, GRID, GRID)
    fed = mosaic(model_input(images, subject.normalize), GRID, GRID)
    return class_score_map(subject.model, config.input, fed, shown=picture)


def trained_runs(config: ModelConfig) -> tuple[dict[int | None, str], dict[int, str], str]:
    """Runs of exactly this model with saved weights (labels by id, datasets by id), and the store's
    folder; None is the untrained model."""
    labels: dict[int | None, str] = {None: "untrained (seed 0)"}
    datasets: dict[int, str] = {}
    store = open_store()
    if store is None:
        return labels, datasets, ""
    wanted = config.to_dict()
    for run in store.list_runs({"done"}):
        if run.weights_path and (run.config or {}).get("model") == wanted:
            labels[run.id] = f"run #{run.id} {run.name} ({run.dataset})"
            datasets[run.id] = run.dataset
    return labels, datasets, str(store.home)


def show(config: ModelConfig, key: str) -> None:
    """The map's controls and figure for `config`; widget keys start with `key`."""
    if not st.toggle(f"Which window says which class: slide {config.name} over a {GRID}×{GRID} mosaic of "
                     f"test images ({GRID * config.input.height}×{GRID * config.input.width} pixels)",
                     key=f"{key}_on", help="One forward pass of the rewritten network on the mosaic"):
        return
    labels, datasets, home = trained_runs(config)
    weights, data, first, chosen = st.columns([3, 2, 1, 1])
    run_id = weights.selectbox("Weights", list(labels), index=min(1, len(labels) - 1),
                               format_func=labels.get, key=f"{key}_run",
                               help="A finished run of exactly this model with saved weights")
    ready = [name for name in DATASET_NAMES if available_datasets()[name]]
    preferred = datasets.get(run_id) if datasets.get(run_id) in ready else default_dataset(config.input)
    dataset = data.selectbox("Images from", ready, index=ready.index(preferred) if preferred in ready else 0,
                             key=f"{key}_dataset_{run_id}")
    start = first.number_input("First image", 0, 9999, 0, key=f"{key}_first")
    cls = chosen.number_input("Class", 0, config.arch.classes - 1, 0, key=f"{key}_class")
    try:
        scores = score_map(json.dumps(config.to_dict()), run_id, home, dataset, int(start))
    except ConfigError as exc:
        st.error(literal(exc))
        return
    st.plotly_chart(scores.figure(int(cls)), key=f"{key}_figure", width="stretch")
    rows, cols = scores.scores.shape[1:]
    st.caption(f"Left: class {int(cls)}'s score for each of the {rows}×{cols} windows of "
               f"{scores.window[0]}×{scores.window[1]} pixels, {scores.jump[0]} pixels apart, drawn at the "
               "window's centre; the box is its best window. Right: each window's highest-scoring class. "
               "One forward pass of the rewritten network computes them all."
               + ("" if run_id is not None else " Untrained weights: train this model (Train page, saving "
                                                 "its weights) to see the classes found where they are."))


def lesson_panel() -> None:
    """Under the Lessons FC→conv panel: the map for its network at its training input."""
    from cnnlab.spec import InputSpec, model_config

    state = st.session_state
    size = int(state.get("fc_conv_train", 224))
    with st.container(border=True, key="lesson_fc_map"):
        try:
            config = model_config(state.get("fc_conv_name", "vgg11"), InputSpec(1, size, size))
        except ConfigError as exc:
            st.error(literal(exc))
            return
        show(config, "lesson_fc_map")
