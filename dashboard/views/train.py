"""Train: launch a run of the Build page's model and watch its curves live."""

from __future__ import annotations

import json
import time

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cnnlab import ConfigError, ModelConfig
from cnnlab.access import may_act
from cnnlab.data import DATASET_NAMES, available_datasets, dataset_info, split_sizes
from cnnlab.errors import quoted
from cnnlab.runs import service
from cnnlab.runs.cluster import dashboard_cluster
from cnnlab.runs.store import Run
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.mfu import utilisation
from cnnlab.train.options import OPTIONS, options
from cnnlab.train.status import TERMINAL
from cnnlab.train.timings import timings
from cnnlab.units import format_bytes, format_count
from dashboard import identity, model_state
from dashboard.charts import curves_figure
from dashboard.run_exports import setting, source_of
from dashboard.run_store import open_store
from dashboard.text import literal, plot_text
from dashboard.train import sweep_panel
from dashboard.train import widgets as train_widgets
from dashboard.train.eta import Countdown

WATCH = "watch_run"  # the run the live panel shows
COUNTDOWNS = "eta_countdowns"  # run id -> Countdown: the ETA shown, which only goes down
RESIZES = {"native": None, "32": 32, "64": 64, "96": 96, "224": 224}
# A first run's recipe: Adam at 0.01 trains the textbook's sigmoid LeNet in a few epochs (SGD needs a large
# rate, 0.9, and many epochs). Every other value starts at the option's default.
RECIPE = {"optimizer": "adam", "lr": 0.01}
LINKED = ("dataset", "resize", *(o.name for o in options() if o.section))  # kept in the page's link


@st.cache_data(ttl=60, show_spinner=False)
def sizes_on_disk(name: str) -> tuple[int, int] | None:
    """(training, test) examples the data folder holds for `name` (checked once a minute)."""
    return split_sizes(name)


@st.cache_data(ttl=30, max_entries=64, show_spinner=False)
def launch_problem(run_config_json: str) -> str | None:
    """What the launch's own check (service.check_runnable) says about this run config, None if it would
    start. Cached briefly: the check may read the dataset's files."""
    try:
        service.check_runnable(RunConfig.from_dict(json.loads(run_config_json)))
    except ConfigError as exc:
        return str(exc)
    return None


def check(config: ModelConfig, dataset: str, resize: int | None) -> tuple[ModelConfig | None, str | None]:
    """The model fitted to the data and the launch check's message (None: it can be launched)."""
    try:
        fitted = fit_input(config, dataset, resize)
        run_config = RunConfig(model=fitted, dataset=dataset, resize=resize)
    except ConfigError as exc:
        return None, str(exc)
    return fitted, launch_problem(json.dumps(run_config.to_dict()))


def dataset_label(name: str) -> str:
    """'mnist — MNIST: 28×28 grey handwritten digits, 4,000 + 1,000 here'."""
    sizes = sizes_on_disk(name)
    found = f", {sizes[0]:,} + {sizes[1]:,} images" if sizes else ""
    return f"{name} — {dataset_info(name)['description']}{found}"


def set_resize(label: str) -> None:
    st.session_state["resize"] = label


def offer_fix(config: ModelConfig, dataset: str, resize: int | None) -> None:
    """Offer the smallest resize at which the same check passes, as a button."""
    larger = [label for label, size in RESIZES.items() if size and size > (resize or 0)]
    fix = next((label for label in larger if check(config, dataset, RESIZES[label])[1] is None), None)
    if fix:
        st.button(f"Resize to {fix}×{fix}", key="fix_resize", on_click=set_resize, args=(fix,),
                  help=f"The same check passes with the images resized to {fix}×{fix}.")
    else:
        st.caption("No offered resize fits this model: change it on the Build page.")


def data_choice(config: ModelConfig) -> tuple[str, int | None, ModelConfig | None, str | None]:
    """Dataset, resize, the model fitted to them and the launch check's message (None: launchable);
    outside the form so the input the run will get, and whether it can run, show before launching."""
    ready = available_datasets()
    names = [name for name in DATASET_NAMES if ready[name]]
    missing = [name for name in DATASET_NAMES if not ready[name]]
    left, right = st.columns([2, 1])
    dataset = left.selectbox(OPTIONS["dataset"].label, names, key="dataset", format_func=dataset_label)
    resize = RESIZES[right.selectbox(OPTIONS["resize"].label, list(RESIZES), key="resize",
                                     help="The textbook trains AlexNet and VGG on Fashion-MNIST resized "
                                          "to 224 (slow on a CPU; 64 or 96 keeps a class waiting less).")]
    # One container for whatever is said here, so the form below keeps its place in the page between
    # reruns (a moved form can linger as a stale copy while the live panel refreshes).
    notes = st.container()
    if missing:
        notes.caption(f"Not found on this machine: {', '.join(missing)}. Put their files in the data folder "
                      "(see docs/DATASETS.md) or run where the machine is online, and they appear here.")
    fitted, problem = check(config, dataset, resize)
    if problem:
        notes.error(literal(f"Cannot launch: {problem}"))
        with notes:
            offer_fix(config, dataset, resize)
    elif fitted != config:
        notes.caption(f"The run's model is fitted to {dataset}: input {fitted.input}, "
                   f"{fitted.arch.classes} classes (the Build page has {config.input}, "
                   f"{config.arch.classes} classes).")
    return dataset, resize, fitted, problem


def load_link() -> None:
    """The training values in the page's link (as the model is), for the widgets not yet drawn in this
    session: a reloaded page keeps its form."""
    for name in LINKED:
        if name in st.session_state or name not in st.query_params:
            continue
        try:
            text = st.query_params[name]
            if name == "resize" and text not in RESIZES:
                raise ConfigError(f"URL parameter resize={quoted(text)} is not one of {', '.join(RESIZES)}")
            value = text if name == "resize" else train_widgets.from_link(OPTIONS[name], text)
            if name == "dataset" and not available_datasets()[value]:
                raise ConfigError(f"the dataset {value} is not on this machine")
            st.session_state[name] = value
        except ConfigError as exc:
            st.error(literal(f"The link's training options could not all be used: {exc}"))


def launch_form(config: ModelConfig, result: DeltaGenerator) -> dict[str, str]:
    """Dataset, hyper-parameters (from the option table) and the Launch button; the launch's outcome is
    written in `result`. Only the button launches (Enter in a field applies the value). Returns the link's
    parameters for the form's values. A visitor (class mode) only watches."""
    if identity.actor() is None:
        st.info("Visitors watch; sign in to launch runs.")
        return {}
    st.write(f"Model from the Build page: **{literal(model_state.describe(config))}**")
    dataset, resize, fitted, problem = data_choice(config)
    values = train_widgets.draw_section("main", list(st.columns(2)), "", RECIPE)
    with st.expander("More"):
        values |= train_widgets.draw_section("more", list(st.columns(3)), "", RECIPE)
        name = st.text_input("Run name (optional)", key="run_name", max_chars=80)
    with st.expander("Advanced"):
        values |= train_widgets.draw_section("advanced", list(st.columns(3)), "", RECIPE)
    wrong = train_widgets.problems(values)
    for sentence in wrong:
        st.error(literal(sentence))
    blocked = problem or (wrong[0] if wrong else None)
    launched = st.button("Launch run", key="launch", type="primary", disabled=blocked is not None,
                         help=blocked and f"Cannot launch: {blocked}")
    link = train_widgets.to_link(values, RECIPE)
    if dataset != OPTIONS["dataset"].default:
        link["dataset"] = dataset
    if st.session_state["resize"] != "native":
        link["resize"] = st.session_state["resize"]
    if launched and blocked is None:
        launch(fitted, dataset, resize, values, name.strip() or None, result)
    return link


def launch(fitted: ModelConfig, dataset: str, resize: int | None, values: dict, name: str | None,
           result: DeltaGenerator) -> None:
    """Launch the run and say where it stands: started, or queued behind others."""
    limit = values["limit_train"]
    try:
        user = identity.actor()
        if user is None:
            raise ConfigError("visitors may not launch runs")
        run_config = RunConfig(model=fitted, dataset=dataset, resize=resize, **values,
                               limit_test=max(limit // 5, 1) if limit else None, save_weights=True)
        run_id = service.launch(run_config, name=name, owner=user.name, cluster=dashboard_cluster())
    except ConfigError as exc:
        result.error(literal(exc))
        return
    store = open_store()
    if store is None:
        return
    runs = {run.id: run for run in store.list_runs()}
    ahead = service.waiting_for(runs[run_id], list(runs.values()), service.max_runs_per_device())
    if ahead:
        if st.session_state.get(WATCH) not in ahead:
            st.session_state[WATCH] = min(ahead, key=lambda i: (runs[i].status != "running", i))
        result.info(literal(f"Run #{run_id} queued ({run_config.model.name} on {dataset}): waiting behind "
                            f"{', '.join(f'#{i}' for i in ahead)}. It starts by itself when they end."))
    else:
        st.session_state[WATCH] = run_id
        where = "" if runs[run_id].cluster is None else f" on the Ray cluster at {runs[run_id].cluster}"
        result.success(literal(f"Run #{run_id} launched{where}: {run_config.model.name} on {dataset}, input "
                               f"{run_config.model.input}. It keeps going if you close this tab."))


def progress(run: Run, metrics: pd.DataFrame, runs: list[Run], now: float) -> tuple[float, str]:
    """Fraction done and a status line with an ETA that only counts down."""
    epochs = setting(run, int, "epochs")  # an external run's config may have none
    done = float(metrics["epoch"].max()) if len(metrics) else 0.0
    fraction = 1.0 if run.status == "done" else min(done / epochs, 1.0) if epochs else 0.0
    parts = [run.status]
    if run.status == "queued":
        try:
            ahead = service.waiting_for(run, runs, service.max_runs_per_device())
        except ConfigError:  # a malformed limit: the launch check above says so
            ahead = []
        if ahead:
            parts.append("waiting behind " + ", ".join(f"#{i}" for i in ahead))
    # Claimed, no point reported yet: the data loads and the speed probe compiles (cnnlab's own runs).
    preparing = run.status == "running" and run.started_at is not None and not len(metrics) and not run.source
    if preparing:
        parts.append(f"preparing ({preparation(run.config)}) for {max(now - run.started_at, 0):.0f} s")
    else:
        parts.append(f"epoch {done:.2f}" + (f" of {epochs}" if epochs else ""))
    if run.source:
        parts.append(f"external ({source_of(run)})")
    if run.status == "running" and run.started_at and not preparing:
        countdown = st.session_state.setdefault(COUNTDOWNS, {}).setdefault(run.id, Countdown())
        eta = countdown.update(run.started_at, fraction, now)
        if eta is not None:
            parts.append(f"about {eta:.0f} s left" if eta >= 1 else "finishing")
    if run.final_test_acc is not None:
        parts.append(f"test acc {run.final_test_acc:.3f}")
    if run.examples_per_sec:
        parts.append(f"{format_count(run.examples_per_sec)} examples/s")
    if run.device:
        parts.append(f"on {run.device}")
    mfu = utilisation(run)
    if mfu is not None:
        parts.append(mfu.describe())
    if not preparing and timings(run).describe():  # the wait, the time to the first point and to done
        parts.append(timings(run).describe())
    if run.peak_memory is not None:
        estimate = "" if run.memory_estimate is None else f" (estimated {format_bytes(run.memory_estimate)})"
        parts.append(f"peak memory {format_bytes(run.peak_memory)}{estimate}")
    return fraction, " · ".join(parts)


def preparation(config: dict) -> str:
    """What a run does before its first report, from its config: loading the data, and compiling the
    model when it asked to be compiled or measures its fastest path (`speed auto`)."""
    if config.get("speed", "auto") == "auto":
        return "loading the data, timing eager, channels-last and compiled steps; compiling takes a while"
    return "loading the data, compiling the model" if config.get("compile") else "loading the data"


def run_label(run: Run) -> str:
    return f"#{run.id} {run.name}"


def watch_select(runs: list[Run]) -> int:
    """Which run to watch; drawn outside the refreshing panel so an open list stays open. By default
    the running run, else the next queued one, else the latest."""
    if st.session_state.get(WATCH) not in {run.id for run in runs}:
        going = sorted((run for run in runs if run.status not in TERMINAL),
                       key=lambda run: (run.status != "running", run.id))
        st.session_state[WATCH] = (going[0] if going else runs[0]).id
    labels = {run.id: run_label(run) for run in runs}
    return st.selectbox("Watch run", list(labels), format_func=labels.get, key=WATCH)


@st.fragment(run_every=1.0)
def live(run_id: int, known: tuple[int, ...]) -> None:
    """The watched run, redrawn from the run store every second; a run launched elsewhere (another tab,
    the CLI) reruns the page so the list offers it."""
    store = open_store()
    if store is None:
        return
    user = identity.actor()
    runs = identity.visible(store.list_runs(), user)
    if tuple(run.id for run in runs) != known:
        st.rerun()
    run = next(r for r in runs if r.id == run_id)
    metrics = store.metrics_frame([run_id])
    fraction, line = progress(run, metrics, runs, time.time())
    bar, stop = st.columns([6, 1], vertical_alignment="bottom")
    bar.progress(fraction, text=literal(line))
    stoppable = (run.status in ("queued", "running") and not run.source  # an external run stops where it runs
                 and user is not None and may_act(user, run.owner))
    if stoppable and stop.button("Stop", key=f"stop_{run_id}", type="secondary"):
        try:
            service.cancel(run_id, actor=user)
        except ConfigError as exc:  # it ended meanwhile
            st.toast(literal(exc))
        else:
            st.toast(f"Stopping run {run_id}…")
    if run.error:
        (st.warning if run.status in ("cancelled", "interrupted") else st.error)(literal(run.error))
    log = st.toggle("Log loss axis", key="live_log")
    st.plotly_chart(curves_figure(metrics, {run_id: plot_text(run.name)},
                                  title=plot_text(f"Run {run_id}: {run.name}"), height=400, log_loss=log),
                    width="stretch", key="live_curves")
    going = [r for r in runs if r.status not in TERMINAL]
    if len(going) > 1:
        st.caption(literal(f"{len(going)} runs queued or running: "
                           + ", ".join(f"{run_label(r)} [{r.status}]" for r in going)))


def watch_panel() -> None:
    """Pick a run and watch it live."""
    store = open_store()
    if store is None:
        return
    runs = identity.visible(store.list_runs(), identity.actor())
    if not runs:
        st.info("No runs yet: launch one.")
        return
    live(watch_select(runs), tuple(run.id for run in runs))


st.title("Train")
st.caption("Train the model from the Build page. Runs go on in the background, one at a time per device; "
           "close the tab and come back, they are still here.")
model = model_state.current()
load_link()
controls, watching = st.columns([5, 6], gap="large")
with watching:
    launch_result = st.container()
with controls:
    link = launch_form(model, launch_result)
model_state.remember(model, link)  # the model and the form's values are in this page's link
with watching:
    watch_panel()
sweep_panel.render()
