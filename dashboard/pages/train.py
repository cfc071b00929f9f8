"""Train: launch a run of the Build page's model and watch its curves live."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from cnnlab import ConfigError, ModelConfig
from cnnlab.data import DATASET_NAMES, available_datasets, dataset_info
from cnnlab.train import runner
from cnnlab.train.config import OPTIMIZERS, RunConfig, fit_input
from cnnlab.train.status import TERMINAL
from cnnlab.train.store import Run
from cnnlab.units import format_count
from dashboard import model_state
from dashboard.charts import curves_figure
from dashboard.run_store import open_store
from dashboard.text import literal, plot_text

WATCH = "watch_run"  # the run the live panel shows
RESIZES = {"native": None, "32": 32, "64": 64, "96": 96, "224": 224}


def data_choice(config: ModelConfig) -> tuple[str, int | None, ModelConfig | None]:
    """Dataset, resize and the model fitted to them (None, with an error, if it cannot take them);
    outside the form so the input the run will get shows before launching."""
    ready = available_datasets()
    names = [name for name in DATASET_NAMES if ready[name]]
    missing = [name for name in DATASET_NAMES if not ready[name]]
    left, right = st.columns([2, 1])
    dataset = left.selectbox("Dataset", names, key="dataset",
                             format_func=lambda n: f"{n} — {dataset_info(n)['description']}")
    resize = RESIZES[right.selectbox("Resize to", list(RESIZES), key="resize",
                                     help="The textbook trains AlexNet and VGG on Fashion-MNIST resized "
                                          "to 224 (slow on a CPU; 64 or 96 keeps a class waiting less).")]
    if missing:
        st.caption(f"Not found on this machine: {', '.join(missing)}. Put their files in the data folder "
                   "(see docs/DATASETS.md) or run where the machine is online, and they appear here.")
    try:
        fitted = fit_input(config, dataset, resize)
    except ConfigError as exc:
        st.error(literal(exc))
        return dataset, resize, None
    if fitted != config:
        st.caption(f"The run's model is fitted to {dataset}: input {fitted.input}, "
                   f"{fitted.arch.classes} classes (the Build page has {config.input}, "
                   f"{config.arch.classes} classes).")
    return dataset, resize, fitted


def launch_form() -> None:
    config = model_state.current()
    st.write(f"Model from the Build page: **{literal(model_state.describe(config))}**")
    dataset, resize, fitted = data_choice(config)
    with st.form("launch"):
        left, right = st.columns(2)
        epochs = left.number_input("Epochs", 1, 200, 10, key="epochs")
        batch = left.number_input("Batch size", 1, 4096, 128, key="batch_size")
        optimizer = right.selectbox("Optimiser", OPTIMIZERS, index=OPTIMIZERS.index("adam"), key="optimizer",
                                    help="Adam at 0.01 trains the textbook's sigmoid LeNet in a few epochs; "
                                         "SGD needs a large rate (0.9) and many epochs.")
        lr = right.number_input("Learning rate", 0.0001, 10.0, 0.01, step=0.001, format="%.4f", key="lr")
        with st.expander("More"):
            a, b, c = st.columns(3)
            device = a.selectbox("Device", ["auto", "cpu", "cuda"], key="device",
                                 help="auto: a CUDA GPU when there is one, else the CPU.")
            amp = a.checkbox("Mixed precision (bf16 on CUDA)", True, key="amp")
            momentum = b.number_input("Momentum (SGD)", 0.0, 0.99, 0.0, key="momentum")
            limit = b.number_input("Use only the first N training images (0: all)", 0, 10**7, 0,
                                   key="limit_train")
            name = c.text_input("Run name (optional)", key="run_name", max_chars=80)
        submitted = st.form_submit_button("Launch run", type="primary", disabled=fitted is None)
    if not submitted or fitted is None:
        return
    try:
        run_config = RunConfig(
            model=fitted, dataset=dataset, resize=resize,
            epochs=int(epochs), batch_size=int(batch), optimizer=optimizer,
            lr=float(lr), momentum=float(momentum), device=device,
            amp=amp, limit_train=int(limit) or None,
            limit_test=max(int(limit) // 5, 1) if limit else None)
        run_id = runner.launch(run_config, name=name.strip() or None)
    except ConfigError as exc:
        st.error(literal(exc))
        return
    st.session_state[WATCH] = run_id
    st.success(literal(f"Run {run_id} launched: {run_config.model.name} on {dataset}, input "
                       f"{run_config.model.input}. It keeps going if you close this tab."))


def progress(run: Run, metrics: pd.DataFrame) -> tuple[float, str]:
    """Fraction done and a status line with the ETA."""
    epochs = run.config.get("epochs") or 1
    done = float(metrics["epoch"].max()) if len(metrics) else 0.0
    fraction = 1.0 if run.status == "done" else min(done / epochs, 1.0)
    parts = [run.status, f"epoch {done:.2f} of {epochs}"]
    if run.status == "running" and run.started_at and 0 < fraction < 1:
        eta = (time.time() - run.started_at) * (1 - fraction) / fraction
        parts.append(f"about {eta:.0f} s left")
    if run.examples_per_sec:
        parts.append(f"{format_count(run.examples_per_sec)} examples/s")
    if run.device:
        parts.append(f"on {run.device}")
    return fraction, " · ".join(parts)


@st.fragment(run_every=1.0)
def live() -> None:
    """The watched run, redrawn from the run store every second."""
    store = open_store()
    if store is None:
        return
    runs = store.list_runs()
    if not runs:
        st.info("No runs yet: launch one above.")
        return
    labels = {run.id: f"#{run.id} {run.name} [{run.status}]" for run in runs}
    active = [run.id for run in runs if run.status not in TERMINAL]
    if st.session_state.get(WATCH) not in labels:
        st.session_state[WATCH] = active[0] if active else runs[0].id
    run_id = st.selectbox("Watch run", list(labels), format_func=labels.get, key=WATCH)
    run = store.get(run_id)
    metrics = store.metrics_frame([run_id])
    fraction, line = progress(run, metrics)
    st.progress(fraction, text=literal(line))
    if run.status in ("queued", "running") and st.button("Stop", key=f"stop_{run_id}", type="secondary"):
        try:
            runner.cancel(run_id)
        except ConfigError as exc:  # it ended meanwhile
            st.toast(literal(exc))
        else:
            st.toast(f"Stopping run {run_id}…")
    if run.error:
        (st.warning if run.status in ("cancelled", "interrupted") else st.error)(literal(run.error))
    st.plotly_chart(curves_figure(metrics, {run_id: plot_text(run.name)},
                                  title=plot_text(f"Run {run_id}: {run.name}")),
                    width="stretch", key="live_curves")
    if len(active) > 1:
        st.caption(literal(f"{len(active)} runs queued or running: " + ", ".join(labels[i] for i in active)))


st.title("Train")
st.caption("Train the model from the Build page. Runs go on in the background, one at a time per device; "
           "close the tab and come back, they are still here.")
launch_form()
st.divider()
live()
