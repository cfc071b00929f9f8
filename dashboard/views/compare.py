"""Compare: all runs in a table; overlay the chosen ones, see accuracy against size, diff their configs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from cnnlab import ConfigError
from cnnlab.access import Actor, may_act
from cnnlab.reports import runs_table
from cnnlab.reports.config_diff import config_diff
from cnnlab.runs.store import Run, RunStore
from dashboard import identity
from dashboard.charts import bubble_figure, curves_figure, small_multiples
from dashboard.compare import class_pins, group_views
from dashboard.run_exports import model_of, selected_configs_json, selected_metrics_csv
from dashboard.run_store import open_store
from dashboard.text import literal, plot_text


def runs_frame(store: RunStore, runs: list[Run]) -> pd.DataFrame:
    """The runs table (cnnlab.reports.runs_table), its best accuracies from the store's metrics."""
    best = runs_table.best_test_acc(store.metrics_frame([run.id for run in runs]))
    return runs_table.runs_frame(runs, best, model_of)


def show_table(table: pd.DataFrame) -> None:
    st.dataframe(runs_table.table_view(table), hide_index=True, width="stretch", key="runs_table",
                 height=35 * (min(len(table), 20) + 1) + 3,
                 column_config={"lr": st.column_config.NumberColumn(format="%g"),
                                "params": st.column_config.NumberColumn(format="localized"),
                                "macs": st.column_config.NumberColumn("MACs", format="localized"),
                                "model": st.column_config.TextColumn(
                                    help="the words that rebuild it: python -m cnnlab train MODEL ...")})


def filtered(table: pd.DataFrame) -> pd.DataFrame:
    """The runs that match the status, model and dataset filters."""
    left, middle, right = st.columns(3)
    statuses = left.multiselect("Status", sorted(table["status"].unique()), key="filter_status")
    models = middle.multiselect("Model", sorted(table["model"].dropna().unique()), key="filter_model")
    datasets = right.multiselect("Dataset", sorted(table["dataset"].dropna().unique()), key="filter_dataset")
    keep = pd.Series(True, index=table.index)
    for column, chosen in (("status", statuses), ("model", models), ("dataset", datasets)):
        if chosen:
            keep &= table[column].isin(chosen)
    return table[keep]


def diff_panel(runs: list[Run]) -> None:
    """The settings that differ, in full text; the provenance that differs folded away below them."""
    ours, where = config_diff(runs, model_of)
    if ours.empty:
        st.caption("The runs were given the same settings.")
    else:
        st.table(ours)
    differ = "1 field differs" if len(where) == 1 else f"{len(where)} fields differ"
    with st.expander(f"Provenance: {differ}" if len(runs) > 1 else "Provenance", expanded=False):
        st.table(where)


def export(store: RunStore, runs: list[Run]) -> None:
    """Download the selected runs' metrics (one CSV) and configs (one JSON)."""
    ids = "-".join(str(run.id) for run in runs)
    left, right = st.columns(2)
    left.download_button(f"Metrics of the {len(runs)} selected runs (CSV)", selected_metrics_csv(store, runs),
                         file_name=f"cnnlab-runs-{ids}.csv", mime="text/csv", key="export_csv")
    right.download_button(f"Configs of the {len(runs)} selected runs (JSON)", selected_configs_json(runs),
                          file_name=f"cnnlab-runs-{ids}.json", mime="application/json", key="export_json")


def comparison(store: RunStore, shown: pd.DataFrame, runs: list[Run]) -> None:
    """The chosen runs' curves (overlaid and side by side), accuracy against size, config diff, export."""
    labels = {run.id: plot_text(f"#{run.id} {run.name}") for run in runs}
    metrics = store.metrics_frame(list(labels))
    log = st.toggle("Log loss axis", key="log_loss", help="Both curve views: a log scale keeps the detail "
                    "of a loss that falls by orders of magnitude.")
    tabs = st.tabs(["Overlay", "Side by side", "Accuracy vs size", "Config diff"])
    with tabs[0]:
        st.plotly_chart(curves_figure(metrics, labels, "Selected runs on shared axes", log_loss=log),
                        width="stretch", key="overlay_chart")
    with tabs[1]:
        st.plotly_chart(small_multiples(metrics, labels, log_loss=log), width="stretch",
                        key="multiples_chart")
    with tabs[2]:
        chosen = shown[shown["id"].isin(list(labels))]
        a, b = st.columns(2)
        a.plotly_chart(bubble_figure(chosen, "params"), width="stretch", key="bubble_params")
        b.plotly_chart(bubble_figure(chosen, "macs"), width="stretch", key="bubble_macs")
    with tabs[3]:
        diff_panel(runs)
    export(store, runs)


def delete_panel(store: RunStore, runs: list[Run], user: Actor | None) -> None:
    """Delete a run `user` may delete (cnnlab.access), after a confirmation."""
    labels = {run.id: f"#{run.id} {run.name} [{run.status}]" for run in runs
              if user is not None and may_act(user, run.owner)}
    if not labels:
        return
    left, _ = st.columns(2)
    with left:
        doomed = st.selectbox("Delete", list(labels), format_func=labels.get, key="delete_run")
        # One confirmation per run: a ticked box never carries over to another run.
        sure = st.checkbox("Yes, delete this run and its metrics", key=f"delete_confirm_{doomed}")
        if st.button("Delete run", key="delete_button", disabled=not sure):
            try:
                store.delete(doomed, user)
            except ConfigError as exc:
                st.error(literal(exc))
            else:
                st.session_state.pop(f"delete_confirm_{doomed}", None)
                st.rerun()


st.title("Compare runs")
st.caption("Every run recorded on this machine. Pick a few to put their curves on shared axes.")
store = open_store()
if store is None:
    st.stop()
user = identity.actor()
try:
    all_runs = class_pins.pinned_first(identity.visible(store.list_runs(), user))
    table = runs_frame(store, all_runs)
except ConfigError as exc:  # a store damaged beyond its first page
    st.error(literal(exc))
    st.stop()
if not all_runs:
    st.info("No runs yet: launch one on the Train page.")
    st.stop()
shown = filtered(table)
show_table(shown)
if shown.empty:
    st.info("No run matches the filters: clear one to see the runs again.")
by_id = {run.id: run for run in all_runs}
options = [int(i) for i in shown["id"]]
selected = st.multiselect("Runs to compare", options, default=options[:4], key="compare_runs",
                          format_func=lambda i: f"#{i} {by_id[i].name}")
if selected:
    comparison(store, shown, [by_id[i] for i in selected])
group_views.render(store, all_runs, user)
st.divider()
delete_panel(store, all_runs, user)
class_pins.panel(store, all_runs, user)
