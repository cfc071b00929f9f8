"""Compare's groups and sweeps: repeats as a mean curve in a band, a sweep's trials and what drove them."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from cnnlab import ConfigError
from cnnlab.access import Actor, may_act
from cnnlab.reports.groups import band_curves, final_summary, outliers
from cnnlab.reports.labels import group_differences
from cnnlab.runs.store import TERMINAL, Run, RunStore
from cnnlab.sweep import cancel_sweep, param_value
from cnnlab.sweep.space import sweep_params
from dashboard import identity
from dashboard.charts import bubble_figure
from dashboard.compare import band_charts as charts
from dashboard.run_store import open_store
from dashboard.text import literal, plot_text


def groups_of(runs: list[Run]) -> dict[int, list[Run]]:
    """Groups with at least two runs, newest first: {group id: its runs}."""
    groups: dict[int, list[Run]] = {}
    for run in sorted(runs, key=lambda r: r.id):
        if run.group_id is not None:
            groups.setdefault(run.group_id, []).append(run)
    return {gid: members for gid, members in sorted(groups.items(), reverse=True) if len(members) > 1}


def group_labels(groups: dict[int, list[Run]]) -> dict[int, str]:
    """'group 5: lr=0.01 width_divisor=2 ×3': each group by the settings that tell it from the others
    (cnnlab.reports.labels); else by its first run's name ('group 5: lenet on mnist ×3'), an external
    group by the name it was given ('group 5: 0.1 ×3')."""
    differ = group_differences({gid: [run.config for run in members] for gid, members in groups.items()})
    return {gid: f"group {gid}: "
                 f"{differ[gid] or (members[0].source or {}).get('group') or members[0].name} ×{len(members)}"
            for gid, members in groups.items()}


def render(store: RunStore, runs: list[Run], user: Actor | None) -> None:
    """The 'Groups and sweeps' section of the Compare page (the sweeps `user` is shown)."""
    st.divider()
    st.subheader("Groups and sweeps")
    groups_tab, sweeps_tab = st.tabs(["Groups (repeats)", "Sweeps"])
    with groups_tab:
        groups_view(store, runs)
    with sweeps_tab:
        sweeps = open_store()
        if sweeps is not None:
            sweep_view(sweeps, user)


def groups_view(store: RunStore, runs: list[Run]) -> None:
    groups = groups_of(runs)
    if not groups:
        st.info("No groups yet: launch a run with repeats (Train page, or cnnlab train ... --repeats N).")
        return
    labels = group_labels(groups)
    singles = {run.id: f"#{run.id} {run.name}" for run in runs if run.group_id not in groups}
    left, right = st.columns(2)
    chosen = left.multiselect("Groups", list(labels), default=list(labels)[:3], format_func=labels.get,
                              key="band_groups")
    alone = right.multiselect("Single runs on the same axes", list(singles), format_func=singles.get,
                              key="band_singles")
    ids = [run.id for gid in chosen for run in groups[gid]] + list(alone)
    metrics = store.metrics_frame(ids)
    names = band_curves(metrics, [run.id for run in runs if run.id in ids and run.source is not None])
    a, b = st.columns(2)
    metric = a.radio("Curve", names, format_func=lambda n: charts.METRIC_NAMES.get(n) or literal(n),
                     horizontal=True, key="band_metric")
    odd = outliers([run for gid in chosen for run in groups[gid]])
    spread = b.radio("Band", list(charts.SPREADS), format_func=charts.SPREADS.get, horizontal=True,
                     key="band_spread", index=list(charts.SPREADS).index("seeds" if odd else "std"))
    log = "loss" in metric and st.toggle("Log scale", key="band_log", help="A log axis for a loss curve.")
    if not chosen and not alone:
        return
    if odd:
        st.warning(literal("; ".join(odd.values()) + ". A mean ± std band over these and the others spans "
                           "both outcomes, so each seed is drawn first (choose a band above to see it)."))
    # Run and group names are the user's: shown as text in the figure (plot_text)
    st.plotly_chart(charts.band_figure(metrics, {plot_text(labels[gid]): [r.id for r in groups[gid]]
                                                 for gid in chosen},
                                       {i: plot_text(singles[i]) for i in alone}, metric, spread, log),
                    width="stretch", key="band_chart")
    finals = pd.DataFrame([{"group": labels[gid], "final test acc": run.final_test_acc}
                           for gid in chosen for run in groups[gid] if run.status == "done"])
    if len(finals):
        summary = final_summary(finals)
        summary["final test acc"] = [f"{m:.3f} ± {s:.3f}" if pd.notna(s) else f"{m:.3f}"
                                     for m, s in zip(summary["mean"], summary["std"], strict=True)]
        st.dataframe(summary[["group", "runs", "final test acc"]], hide_index=True, width="stretch",
                     key="band_summary")
        st.caption("Final test accuracy of each group's finished runs: mean ± standard deviation.")


def trials_frame(runs: list[Run], varied: list[str]) -> pd.DataFrame:
    """One row per trial: id, label, status, each varied parameter, final test acc, the node it ran on
    ("node 1", "node 2"... in the order the sweep's trials first used them: Ray's node ids are 56 hex
    digits), size and speed."""
    nodes = {node: f"node {i}" for i, node in enumerate(dict.fromkeys(r.node for r in runs if r.node), 1)}
    return pd.DataFrame([{
        "id": run.id, "label": f"#{run.id} " + " ".join(f"{n}={_text(param_value(run.config, n))}"
                                                          for n in varied),
        "status": run.status, **{n: param_value(run.config, n) for n in varied},
        "epochs": run.epochs_done, "final test acc": run.final_test_acc, "node": nodes.get(run.node, ""),
        "params": run.params, "macs": run.macs, "examples/s": run.examples_per_sec,
        "name": f"#{run.id}", "best test acc": run.final_test_acc,
    } for run in runs])


def _text(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def sweep_view(store: RunStore, user: Actor | None) -> None:
    sweeps = identity.visible(store.list_sweeps(), user)
    if not sweeps:
        st.info("No sweeps yet: launch one from the Train page's Sweep section or with cnnlab sweep.")
        return
    labels = {s.id: f"sweep {s.id}: {s.name} [{s.status}]" for s in sweeps}
    sweep_id = st.selectbox("Sweep", list(labels), format_func=labels.get, key="sweep_pick")
    sweep = store.get_sweep(sweep_id)
    runs = store.sweep_runs(sweep_id)
    varied = sweep.spec.get("varied", [])
    frame = trials_frame(runs, varied)
    counts = frame["status"].value_counts()
    st.text(f"{len(runs)} trials on {sweep.cluster or 'this machine'}: "
            + ", ".join(f"{n} {status}" for status, n in counts.items()))
    if (sweep.status not in TERMINAL and user is not None and may_act(user, sweep.owner)
            and st.button("Cancel sweep", key="cancel_sweep_compare")):
        try:
            cancel_sweep(sweep_id, store.home, user)
        except ConfigError as exc:
            st.toast(str(exc))
    finished = frame.dropna(subset=["final test acc"])
    best = int(finished.loc[finished["final test acc"].idxmax(), "id"]) if len(finished) else None
    if best is not None:
        row = finished[finished["id"] == best].iloc[0]
        st.text(f"Best trial: {row['label']} — test accuracy {row['final test acc']:.3f}")
    metrics = store.metrics_frame(frame["id"].tolist())
    trial_labels = dict(zip(frame["id"], frame["label"], strict=True))
    st.plotly_chart(charts.trial_curves(metrics, trial_labels, best=best), width="stretch",
                    key="sweep_curves")
    st.dataframe(frame.drop(columns=["name", "best test acc", "label"]), hide_index=True, width="stretch",
                 key="sweep_table", column_config={
                     "final test acc": st.column_config.NumberColumn(format="%.3f"),
                     "examples/s": st.column_config.NumberColumn(format="%.0f")})
    if not varied or finished.empty:
        return
    if len(varied) > 1:  # one parameter: its scatter below says it all (parallel axes need two)
        st.plotly_chart(charts.parallel_figure(finished, varied), width="stretch", key="sweep_parallel")
    columns = st.columns(min(len(varied), 3))
    for i, name in enumerate(varied):
        columns[i % len(columns)].plotly_chart(charts.param_scatter(finished, name), width="stretch",
                                               key=f"sweep_scatter_{name}")
    params = sweep_params()
    if any(params[name].model for name in varied if name in params):
        a, b = st.columns(2)
        a.plotly_chart(bubble_figure(finished, "params"), width="stretch", key="sweep_bubble_params")
        b.plotly_chart(bubble_figure(finished, "macs"), width="stretch", key="sweep_bubble_macs")
