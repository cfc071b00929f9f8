"""The Train page's Sweep section: launch the Build page's model ×N seeds, or a sweep on Ray, and watch
every run of it live (each run's curve, and each group's mean in its band)."""

from __future__ import annotations

import streamlit as st

from cnnlab import ConfigError, limits
from cnnlab.access import Actor
from cnnlab.classroom import active_class
from cnnlab.reports.labels import group_differences
from cnnlab.runs import service
from cnnlab.runs.cluster import dashboard_cluster
from cnnlab.runs.store import TERMINAL, Run, RunStore
from cnnlab.sweep import cancel_sweep, create_sweep, launch_sweep, parse_space, repeat_configs
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.options import options
from cnnlab.train.recipes import recipe_for
from dashboard import identity, model_state
from dashboard.compare import band_charts
from dashboard.run_store import open_store
from dashboard.text import literal, plot_text
from dashboard.train import widgets as train_widgets
from dashboard.train.form_memory import Parser

WATCH = "watch_sweep"  # {"sweep": id or None, "runs": [run ids]}
EXAMPLE_GRID = "lr=0.001,0.01\nwidth_divisor=2,4"
PREFIX = "sweep_"  # the widgets' keys: sweep_epochs, ...
FIRST_EPOCHS = 3  # a short first sweep


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _input() -> tuple[str, int | None]:
    """The dataset and resize chosen above on the page (the launch form's own widgets)."""
    resize = str(st.session_state.get("resize", "native"))
    return st.session_state.get("dataset", "shapes"), int(resize) if resize.isdigit() else None


def recipe() -> dict[str, object]:
    """The options' first values: a short first sweep with the model family's recipe on the dataset
    chosen above (cnnlab.train.recipes)."""
    try:
        return {"epochs": FIRST_EPOCHS} | recipe_for(model_state.current(), _input()[0])
    except ConfigError:  # no model yet, or a dataset the launch form names as wrong
        return {"epochs": FIRST_EPOCHS}


def parsers() -> dict[str, Parser]:
    """Every field of the panel (widget key -> the parser of its link text)."""
    return {"sweep_grid": str, "sweep_random": str, "sweep_cluster": str,
            "sweep_samples": train_widgets.whole_parser("sweep_samples", 1, limits.SWEEP_CONFIRM_TRIALS),
            "sweep_repeats": train_widgets.whole_parser("sweep_repeats", 1, limits.MAX_REPEATS),
            "sweep_asha": train_widgets.flag_parser("sweep_asha"),
            **{PREFIX + o.name: train_widgets.option_parser(o, PREFIX + o.name)
               for o in options() if o.section}}


def first_values() -> dict[str, object]:
    """The panel's own fields' first values (the options' come from `recipe`)."""
    return {"sweep_grid": "", "sweep_random": "", "sweep_cluster": dashboard_cluster() or "",
            "sweep_samples": 1, "sweep_repeats": 1, "sweep_asha": False}


def launch() -> dict[str, str]:
    """The panel's form; launches on its button. Returns the link's parameters for the form's values."""
    user = identity.actor()
    if user is None:
        return {}
    server_set = active_class() is not None  # a class's server, not its students, picks the cluster
    for key, value in first_values().items():
        st.session_state.setdefault(key, value)
    if server_set:
        st.session_state["sweep_cluster"] = first_values()["sweep_cluster"]
    # Not an st.form: a form keeps typed values to itself until it is submitted, and they would be lost
    # from the link and the session. As on the launch form, Enter applies a value; only the button launches.
    with st.container(key="sweep_form"):
        a, b, c = st.columns(3)
        grid = a.text_area("Grid: one option per line", key="sweep_grid", placeholder=EXAMPLE_GRID,
                           help="NAME=V1,V2: every combination is a trial. Models: model=vgg:1x8,1x16;lenet")
        random = b.text_area("Random: one option per line", key="sweep_random",
                             placeholder="lr=1e-4..1e-1\noptimizer=sgd,adam",
                             help="NAME=LOW..HIGH (log-uniform for lr and weight_decay) or choices A,B")
        samples = b.number_input("Random samples", 1, limits.SWEEP_CONFIRM_TRIALS, key="sweep_samples")
        repeats = c.number_input("Seeds per combination (repeats)", 1, limits.MAX_REPEATS,
                                 key="sweep_repeats")
        asha = c.checkbox("Stop clearly worse trials early (ASHA)", key="sweep_asha")
        cluster = c.text_input("Ray cluster address (empty: this machine)", key="sweep_cluster",
                               max_chars=200, placeholder="ray://head:10001", disabled=server_set,
                               help="Set by the server (cnnlab dashboard --cluster)" if server_set else None)
        first = recipe()
        values = train_widgets.draw_section("main", list(st.columns(4)), PREFIX, first)
        with st.expander("Other options"):
            columns = list(st.columns(3))
            values |= train_widgets.draw_section("more", columns, PREFIX, first)
            values |= train_widgets.draw_section("advanced", columns, PREFIX, first)
        submitted = st.button("Launch", key="sweep_launch", type="primary")
    link = {PREFIX + name: text for name, text in train_widgets.to_link(values, first).items()}
    link |= {key: train_widgets.link_text(st.session_state[key]) for key, first in first_values().items()
             if st.session_state[key] != first}
    if submitted:
        if server_set:  # whatever a client sent for the disabled field
            cluster = first_values()["sweep_cluster"]
        start(user, values, first, grid, random, int(samples), int(repeats), asha, cluster)
    return link


def start(user: Actor, values: dict, first: dict, grid: str, random: str, samples: int, repeats: int,
          asha: bool, cluster: str) -> None:
    """Launch the repeats or the sweep the form asked for (`first`: the options' first values), and
    watch it."""
    wrong = train_widgets.problems(values, first)
    for sentence in wrong:
        st.error(literal(sentence))
    if wrong:
        return
    try:
        dataset, resize = _input()
        limit = values["limit_train"]
        base = RunConfig(model=fit_input(model_state.current(), dataset, resize), dataset=dataset,
                         resize=resize, **values, limit_test=max(limit // 5, 1) if limit else None,
                         save_weights=True)
        if not _lines(grid) and not _lines(random):
            # Named as every run is (service.run_name): a repeat reads as the Train form's run would.
            ids = [service.launch(config, owner=user.name, cluster=cluster.strip() or None)
                   for config in repeat_configs(base, repeats)]
            store = open_store()
            if store is None:
                return
            store.tag_group(ids)
            st.session_state[WATCH] = {"sweep": None, "runs": ids}
            st.success(f"Runs {ids[0]}-{ids[-1]} launched as one group (seeds {base.seed}-"
                       f"{base.seed + len(ids) - 1}).")
            return
        space = parse_space(_lines(grid), _lines(random), samples=samples, repeats=repeats)
        sweep_id = create_sweep(base.to_dict(), space, early_stop="asha" if asha else None,
                                cluster=cluster.strip() or None, owner=user.name)
        launch_sweep(sweep_id)
    except ConfigError as exc:
        st.error(literal(exc))
        return
    store = open_store()
    if store is None:
        return
    runs = store.sweep_runs(sweep_id)
    st.session_state[WATCH] = {"sweep": sweep_id, "runs": [r.id for r in runs]}
    st.success(f"Sweep {sweep_id} launched: {len(runs)} trials on {cluster.strip() or 'this machine'}.")


@st.fragment(run_every=1.0)
def live() -> None:
    """The launched sweep or group, redrawn from the run store every second."""
    watched = st.session_state.get(WATCH)
    if not watched:
        return
    store = open_store()
    if store is None:
        return
    try:
        runs = [store.get(i) for i in watched["runs"]]
    except ConfigError as exc:
        st.error(literal(f"The run store cannot be read: {exc}"))
        return
    sweep_id = watched["sweep"]
    what = f"Sweep {sweep_id}" if sweep_id is not None else f"Group {runs[0].group_id}"
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.status] = counts.get(run.status, 0) + 1
    st.text(f"{what}: " + ", ".join(f"{n} {status}" for status, n in counts.items()))
    # Always drawn (disabled once everything ended), so the fragment's elements keep their places.
    active = any(run.status not in TERMINAL for run in runs)
    if st.button("Cancel all", key="cancel_sweep", disabled=not active):
        _cancel(store, sweep_id, runs)
    metrics = store.metrics_frame(watched["runs"])
    labels = {run.id: f"#{run.id} {run.name} (seed {run.config['seed']})" for run in runs}
    left, right = st.columns(2)
    left.plotly_chart(band_charts.trial_curves(metrics, labels, metric="train_loss"), width="stretch",
                      key="sweep_live_curves")
    groups: dict[int, list[Run]] = {}
    for run in runs:
        groups.setdefault(run.group_id or run.id, []).append(run)
    repeated = {gid: members for gid, members in groups.items() if len(members) > 1}
    differ = group_differences({gid: [run.config for run in members] for gid, members in repeated.items()})
    banded = {plot_text(differ[gid] or f"group {gid}"): [run.id for run in members]
              for gid, members in repeated.items()}
    if banded:
        right.plotly_chart(band_charts.band_figure(metrics, banded, {}, metric="train_loss"), width="stretch",
                           key="sweep_live_bands")
    else:
        right.caption("No repeats: each combination ran once, so there is no band (set seeds per "
                      "combination above 1).")


def _cancel(store: RunStore, sweep_id: int | None, runs: list) -> None:
    user = identity.actor()
    try:
        if user is None:
            raise ConfigError("visitors may not cancel runs")
        if sweep_id is not None:
            cancel_sweep(sweep_id, actor=user)
        else:
            for run in runs:
                if run.status not in TERMINAL:
                    service.cancel(run.id, actor=user)
    except ConfigError as exc:  # it ended meanwhile
        st.toast(str(exc))
    else:
        st.toast("Cancelling…")


def render() -> dict[str, str]:
    """The whole section; returns the link's parameters for its form's values."""
    st.divider()
    st.subheader("Sweep and repeats")
    st.caption("Train the Build page's model on the dataset chosen above several times: N seeds of one "
               "configuration (one group, drawn as a mean in a band), or a grid / random sweep of options "
               "on Ray (each trial a run; see them all on the Compare page).")
    link = launch()
    live()
    return link
