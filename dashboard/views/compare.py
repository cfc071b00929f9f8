"""Compare: all runs in a table; overlay the chosen ones, see accuracy against size, diff their configs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from cnnlab import ConfigError
from cnnlab.access import Actor, may_act
from cnnlab.runs.store import Run, RunStore
from cnnlab.train.timings import timings
from dashboard import identity
from dashboard.charts import bubble_figure, curves_figure, small_multiples
from dashboard.compare import class_pins, group_views
from dashboard.compare.config_diff import config_diff
from dashboard.run_exports import (
    MISSING,
    model_of,
    selected_configs_json,
    selected_metrics_csv,
    setting,
    source_of,
)
from dashboard.run_store import open_store
from dashboard.text import literal, plot_text

# Table columns shown as text so a missing value reads "—": column -> how a value is written
TEXT_COLUMNS = {"best test acc": "{:.3f}", "examples/s": "{:,.0f}", "epochs": "{:g}",
                "first point (s)": "{:.1f}", "duration (s)": "{:.1f}"}


def runs_frame(store: RunStore, runs: list[Run]) -> pd.DataFrame:
    """One row per run: its name, status, best test accuracy (from the metrics) and whether it saved
    weights; what it trained (model words, dataset, optimiser, learning rate, batch size, width divisor);
    size, speed, owner, where it comes from (cnnlab, or external: your loop or TensorBoard), memory and
    duration."""
    metrics = store.metrics_frame([run.id for run in runs])
    best = metrics[metrics["name"] == "test_acc"].groupby("run_id")["value"].max()
    return pd.DataFrame([{  # what tells runs apart first: a narrow window shows these without scrolling
        "id": run.id, "name": run.name, "status": run.status, "best test acc": best.get(run.id),
        "weights": bool(run.weights_path), "model": model_of(run), "dataset": run.dataset,
        "optimizer": setting(run, str, "optimizer"), "lr": setting(run, float, "lr"),
        "batch size": setting(run, int, "batch_size"),
        "width ÷": setting(run, int, "model", "arch", "width_divisor"), "epochs": run.epochs_done,
        "params": run.params, "macs": run.macs, "examples/s": run.examples_per_sec,
        "owner": run.owner, "class pin": class_pins.MARK if run.class_pinned else "",
        "source": source_of(run),
        "peak memory (MiB)": mebibytes(run.peak_memory),
        "memory estimate (MiB)": mebibytes(run.memory_estimate),
        "first point (s)": timings(run).first_point, "duration (s)": timings(run).done,
    } for run in runs])


def mebibytes(value: float | None) -> float | None:
    return None if value is None else round(value / 2**20, 1)


def table_view(table: pd.DataFrame) -> pd.DataFrame:
    """The runs table as shown: missing results (a cancelled run's accuracy) read "—", not None."""
    view = table.copy()
    for column, text in TEXT_COLUMNS.items():
        view[column] = [MISSING if pd.isna(v) else text.format(v) for v in table[column]]
    view["width ÷"] = [MISSING if pd.isna(v) else str(int(v)) for v in table["width ÷"]]
    return view


def runs_table(table: pd.DataFrame) -> None:
    st.dataframe(table_view(table), hide_index=True, width="stretch", key="runs_table",
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
    ours, where = config_diff(runs)
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
runs_table(shown)
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
