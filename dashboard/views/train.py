"""Train: launch a run of the Build page's model and watch its curves live."""

from __future__ import annotations

import json
import time

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cnnlab import ConfigError, ModelConfig
from cnnlab.access import may_act
from cnnlab.data import DATASET_NAMES, available_datasets, dataset_info, split_sizes
from cnnlab.errors import quoted
from cnnlab.reports import status_line
from cnnlab.reports.eta import Countdown
from cnnlab.reports.follow import after_launch, follow
from cnnlab.runs import service
from cnnlab.runs.cluster import dashboard_cluster
from cnnlab.runs.store import Run
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.options import OPTIONS, options
from cnnlab.train.recipes import chance_warning, recipe_for, recipe_of
from cnnlab.train.status import TERMINAL
from dashboard import identity, model_state
from dashboard.charts import curves_figure
from dashboard.run_store import open_store
from dashboard.text import literal, plot_lines, plot_text
from dashboard.train import form_memory, sweep_panel
from dashboard.train import widgets as train_widgets

WATCH = "watch_run"  # the run the live panel shows (its list's key, and a link parameter)
MINE = "my_runs"  # the ids this session's launches returned, in order
FOLLOW = "watch_next"  # the run the panel moves to at the page's next run (set by a launch or the panel)
BANNER = "launch_banner"  # the run whose launch the banner above the panel describes
COUNTDOWNS = "eta_countdowns"  # run id -> Countdown: the ETA shown, which only goes down
RESIZES = {"native": None, "32": 32, "64": 64, "96": 96, "224": 224}
# A first run's recipe: Adam at 0.01 trains the textbook's sigmoid LeNet in a few epochs (SGD needs a large
# rate, 0.9, and many epochs). Every other value starts at the option's default.
NAME_CHARS = 80  # a run name typed on the page
TITLE_WIDTH = 50  # characters per line of the live chart's title: its half of a projector's 1024 px


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


def own_resize(config: ModelConfig, dataset: str) -> str:
    """The resize of the model's own size: its family recipe's where the recipe sets one, else the Build
    model's input side; "native" where that is the dataset's own size or not one offered."""
    size = recipe_of(config).size or config.input.height
    label = str(size)
    return label if label in RESIZES and size != dataset_info(dataset)["size"] else "native"


def offer_fix(config: ModelConfig, dataset: str, resize: int | None) -> None:
    """Offer a resize at which the same check passes, as a button: the model's own size if it does, else
    the smallest larger one that does."""
    larger = [label for label, size in RESIZES.items() if size and size > (resize or 0)]
    own = own_resize(config, dataset)
    order = [own, *larger] if own in larger else larger
    fix = next((label for label in order if check(config, dataset, RESIZES[label])[1] is None), None)
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
    st.session_state.setdefault("resize", own_resize(config, dataset))  # unless the link or the user set it
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


def dataset_parser(text: str) -> str:
    value = train_widgets.option_parser(OPTIONS["dataset"], "dataset")(text)
    if not available_datasets()[value]:
        raise ConfigError(f"the dataset {value} is not on this machine")
    return value


def resize_parser(text: str) -> str:
    if text not in RESIZES:
        raise ConfigError(f"URL parameter resize={quoted(text)} is not one of {', '.join(RESIZES)}")
    return text


def name_parser(text: str) -> str:
    if len(text) > NAME_CHARS:
        raise ConfigError(f"URL parameter run_name is {len(text)} characters long; the field takes "
                          f"{NAME_CHARS}")
    return text


def parsers() -> dict[str, form_memory.Parser]:
    """Every field of the launch form and the watched run (widget key -> the parser of its link text)."""
    return {"dataset": dataset_parser, "resize": resize_parser, "run_name": name_parser,
            WATCH: train_widgets.whole_parser(WATCH, 1, 2**63 - 1),
            **{o.name: train_widgets.option_parser(o, o.name) for o in options() if o.section}}


def load_link() -> None:
    """Every field of the page (the launch form and the sweep panel) gets its value before it is drawn:
    kept while Streamlit still has it, else from the page's link, else as this session left it."""
    for sentence in form_memory.restore(parsers() | sweep_panel.parsers()):
        st.error(literal(f"The link's training options could not all be used: {sentence}"))


def launch_form(config: ModelConfig, result: DeltaGenerator) -> dict[str, str]:
    """Dataset, hyper-parameters (from the option table) and the Launch button; a launch that fails says
    why in `result`. Only the button launches (Enter in a field applies the value). Returns the link's
    parameters for the form's values. A visitor (class mode) only watches."""
    if identity.actor() is None:
        st.info("Visitors watch; sign in to launch runs.")
        return {}
    st.write(f"Model from the Build page: **{literal(model_state.describe(config))}**")
    dataset, resize, fitted, problem = data_choice(config)
    recipe = recipe_for(config, dataset)  # the family's first-run values (cnnlab.train.recipes)
    values = train_widgets.draw_section("main", list(st.columns(2)), "", recipe)
    with st.expander("More"):
        values |= train_widgets.draw_section("more", list(st.columns(3)), "", recipe)
        name = st.text_input("Run name (optional)", key="run_name", max_chars=NAME_CHARS)
    with st.expander("Advanced"):
        values |= train_widgets.draw_section("advanced", list(st.columns(3)), "", recipe)
    wrong = train_widgets.problems(values, recipe)
    for sentence in wrong:
        st.error(literal(sentence))
    if fitted is not None and not wrong:
        warn_at_chance(fitted, dataset, resize, values)
    blocked = problem or (wrong[0] if wrong else None)
    if blocked:  # no launch banner stays above an error
        st.session_state.pop(BANNER, None)
    launched = st.button("Launch run", key="launch", type="primary", disabled=blocked is not None,
                         help=blocked and f"Cannot launch: {blocked}")
    link = train_widgets.to_link(values, recipe)
    if dataset != OPTIONS["dataset"].default:
        link["dataset"] = dataset
    if st.session_state["resize"] != own_resize(config, dataset):
        link["resize"] = st.session_state["resize"]
    if name:
        link["run_name"] = name
    if launched and blocked is None:
        launch(fitted, dataset, resize, values, name.strip() or None, result)
    return link


def warn_at_chance(fitted: ModelConfig, dataset: str, resize: int | None, values: dict) -> None:
    """Name, before Launch, a run too short to leave chance, with the fix (cnnlab.train.recipes)."""
    try:
        sentence = chance_warning(RunConfig(model=fitted, dataset=dataset, resize=resize, **values))
    except ConfigError:  # values the launch itself refuses, with its own message
        return
    if sentence:
        st.warning(literal(sentence))


def launch(fitted: ModelConfig, dataset: str, resize: int | None, values: dict, name: str | None,
           result: DeltaGenerator) -> None:
    """Launch the run (named `name`, else as every run is: cnnlab.runs.service.run_name); the live
    panel says where it stands (started, or queued behind others) and follows it."""
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
    mine = st.session_state.setdefault(MINE, [])
    status = {run.id: run.status for run in store.list_runs()}
    st.session_state[FOLLOW] = after_launch(st.session_state.get(WATCH), mine, run_id, status)
    mine.append(run_id)
    st.session_state[BANNER] = run_id


def banner(run: Run, runs: list[Run]) -> None:
    """What became of this session's last launch, as long as it says something the panel does not: queued
    behind others, or started. It goes when the run ends (the panel shows how)."""
    if run.status in TERMINAL:
        st.session_state.pop(BANNER, None)
        return
    config = RunConfig.from_dict(run.config)  # a run this session launched: cnnlab's own
    what = run.name  # as the 'Watch run' list names it
    try:
        queued = run.status == "queued"
        ahead = service.waiting_for(run, runs, service.max_runs_per_device()) if queued else []
    except ConfigError:  # a malformed limit: the launch check says so
        ahead = []
    if ahead:
        st.info(literal(f"Run #{run.id} queued ({what}): waiting behind {', '.join(f'#{i}' for i in ahead)}. "
                        "It starts by itself when they end."))
    else:
        where = "" if run.cluster is None else f" on the Ray cluster at {run.cluster}"
        st.success(literal(f"Run #{run.id} launched{where}: {what}, input {config.model.input}. It keeps "
                           "going if you close this tab."))


def run_entry(run: Run) -> str:
    """A run in the list and in the queued-or-running line: "#3 lenet on mnist · epochs=3"."""
    return f"#{run.id} {run.name}"


def watch_select(runs: list[Run]) -> int:
    """Which run to watch; drawn outside the refreshing panel so an open list stays open. The run this
    session launched (cnnlab.reports.follow); with none, the running run, else the next queued one, else
    the latest."""
    if FOLLOW in st.session_state:
        st.session_state[WATCH] = st.session_state.pop(FOLLOW)
    if st.session_state.get(WATCH) not in {run.id for run in runs}:
        going = sorted((run for run in runs if run.status not in TERMINAL),
                       key=lambda run: (run.status != "running", run.id))
        st.session_state[WATCH] = (going[0] if going else runs[0]).id
    names = {run.id: run_entry(run) for run in runs}
    pick, log = st.columns([2, 1], vertical_alignment="bottom")  # one row: the chart starts higher
    log.toggle("Log loss axis", key="live_log")
    return pick.selectbox("Watch run", list(names), format_func=names.get, key=WATCH)


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
    status = {r.id: r.status for r in runs}
    if (target := follow(run_id, st.session_state.get(MINE, []), status)) != run_id:
        st.session_state[FOLLOW] = target  # this session's run ended: on to its next one
        st.rerun()
    # Said or not, the banner and the run's error each keep one place: the panel's elements never shift, so
    # none of them is left behind from an earlier second (a fragment's rerun clears only what it redraws).
    with st.empty():
        if st.session_state.get(BANNER) in status:
            banner(next(r for r in runs if r.id == st.session_state[BANNER]), runs)
    run = next(r for r in runs if r.id == run_id)
    metrics = store.metrics_frame([run_id])
    countdown = st.session_state.setdefault(COUNTDOWNS, {}).setdefault(run.id, Countdown())
    fraction, line = status_line.progress(run, metrics, runs, time.time(), countdown)
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
    with st.empty():
        if run.error:
            (st.warning if run.status in ("cancelled", "interrupted") else st.error)(literal(run.error))
    # Loss and accuracy both on a projector's first screen (1024×768)
    st.plotly_chart(curves_figure(metrics, {run_id: plot_text(run.name)},
                                  title=plot_lines(f"Run {run_id}: {run.name}", TITLE_WIDTH), height=380,
                                  log_loss=bool(st.session_state.get("live_log"))),
                    width="stretch", key="live_curves")
    going = [r for r in runs if r.status not in TERMINAL]
    st.caption(literal(f"{len(going)} run{'s' if len(going) != 1 else ''} queued or running"
                       + (": " + ", ".join(f"{run_entry(r)} [{r.status}]" for r in going) if going else "")))


def watch_panel() -> None:
    """Pick a run and watch it live."""
    store = open_store()
    if store is None:
        return
    runs = identity.visible(store.list_runs(), identity.actor())
    if not runs:
        st.info("No runs yet: launch one.")
        await_first_run()
        return
    live(watch_select(runs), tuple(run.id for run in runs))


@st.fragment(run_every=1.0)
def await_first_run() -> None:
    """With no run to watch, the page reruns once one is launched elsewhere (another tab or user, the
    CLI), as the live panel does for a run it has not listed yet; runs this session launched meanwhile
    keep their page (and its launch message) as it is."""
    store = open_store()
    if store is None:
        return
    swept = st.session_state.get(sweep_panel.WATCH, {}).get("runs", [])
    own = set(st.session_state.get(MINE, [])) | set(swept)
    if any(run.id not in own for run in identity.visible(store.list_runs(), identity.actor())):
        st.rerun()


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
with watching:
    watch_panel()
if identity.actor() is not None and WATCH in st.session_state:
    link[WATCH] = str(st.session_state[WATCH])
link |= sweep_panel.render()
form_memory.keep(parsers() | sweep_panel.parsers())
model_state.remember(model, link)  # the model and every field's value are in this page's link
