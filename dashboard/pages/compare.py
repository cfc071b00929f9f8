"""Compare: all runs in a table; overlay the chosen ones, see accuracy against size, diff their configs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from cnnlab import ConfigError
from cnnlab.train.store import Run, RunStore
from dashboard.charts import bubble_figure, curves_figure, small_multiples
from dashboard.run_store import open_store
from dashboard.text import literal, plot_text


def runs_frame(store: RunStore, runs: list[Run]) -> pd.DataFrame:
    """One row per run with its best test accuracy (from the metrics) and duration."""
    metrics = store.metrics_frame([run.id for run in runs])
    best = metrics[metrics["name"] == "test_acc"].groupby("run_id")["value"].max()
    return pd.DataFrame([{
        "id": run.id, "name": run.name, "model": run.model, "dataset": run.dataset, "status": run.status,
        "params": run.params, "macs": run.macs, "best test acc": best.get(run.id),
        "examples/s": run.examples_per_sec, "epochs": run.epochs_done,
        "duration (s)": (run.finished_at - run.started_at) if run.started_at and run.finished_at else None,
    } for run in runs])


def flatten(config: dict, prefix: str = "") -> dict[str, str]:
    """Nested config -> {'model.arch.blocks': '[[1, 64], ...]', 'lr': '0.05', ...}."""
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = str(value)
    return flat


def config_diff(runs: list[Run]) -> pd.DataFrame:
    """The config and provenance fields on which the runs differ: one row per field, one column per run."""
    flat = {f"#{run.id} {run.name}": flatten(run.config) | flatten(run.provenance or {}, "provenance.")
            for run in runs}
    table = pd.DataFrame(flat, dtype=object).fillna("—")
    return table[table.nunique(axis=1) > 1] if len(runs) > 1 else table


def manage(store: RunStore, runs: list[Run]) -> None:
    """Export a run's metrics; delete a run after a confirmation."""
    left, right = st.columns(2)
    labels = {run.id: f"#{run.id} {run.name} [{run.status}]" for run in runs}
    with left:
        chosen = st.selectbox("Export the metrics of", list(labels), format_func=labels.get, key="export_run")
        st.download_button("Download CSV", store.export(chosen, "csv"), file_name=f"cnnlab-run-{chosen}.csv",
                           mime="text/csv", key="export_csv")
    with right:
        doomed = st.selectbox("Delete", list(labels), format_func=labels.get, key="delete_run")
        # One confirmation per run: a ticked box never carries over to another run.
        sure = st.checkbox("Yes, delete this run and its metrics", key=f"delete_confirm_{doomed}")
        if st.button("Delete run", key="delete_button", disabled=not sure):
            try:
                store.delete(doomed)
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
try:
    all_runs = store.list_runs()
    table = runs_frame(store, all_runs)
except ConfigError as exc:  # a store damaged beyond its first page
    st.error(literal(exc))
    st.stop()
if not all_runs:
    st.info("No runs yet: launch one on the Train page.")
    st.stop()
left, middle, right = st.columns(3)
statuses = left.multiselect("Status", sorted(table["status"].unique()), key="filter_status")
models = middle.multiselect("Model", sorted(table["model"].dropna().unique()), key="filter_model")
datasets = right.multiselect("Dataset", sorted(table["dataset"].dropna().unique()), key="filter_dataset")
keep = pd.Series(True, index=table.index)
for column, chosen in (("status", statuses), ("model", models), ("dataset", datasets)):
    if chosen:
        keep &= table[column].isin(chosen)
shown = table[keep]
st.dataframe(shown, hide_index=True, width="stretch", key="runs_table",
             column_config={"best test acc": st.column_config.NumberColumn(format="%.3f"),
                            "examples/s": st.column_config.NumberColumn(format="%.0f"),
                            "params": st.column_config.NumberColumn(format="localized"),
                            "macs": st.column_config.NumberColumn("MACs", format="localized"),
                            "duration (s)": st.column_config.NumberColumn(format="%.1f")})
if shown.empty:
    st.info("No run matches the filters: clear one to see the runs again.")
by_id = {run.id: run for run in all_runs}
options = [int(i) for i in shown["id"]]
selected = st.multiselect("Runs to compare", options, default=options[:4], key="compare_runs",
                          format_func=lambda i: f"#{i} {by_id[i].name}")
if selected:
    labels = {i: plot_text(f"#{i} {by_id[i].name}") for i in selected}
    metrics = store.metrics_frame(selected)
    tabs = st.tabs(["Overlay", "Side by side", "Accuracy vs size", "Config diff"])
    with tabs[0]:
        st.plotly_chart(curves_figure(metrics, labels, "Selected runs on shared axes"), width="stretch",
                        key="overlay_chart")
    with tabs[1]:
        st.plotly_chart(small_multiples(metrics, labels), width="stretch", key="multiples_chart")
    with tabs[2]:
        chosen = shown[shown["id"].isin(selected)]
        a, b = st.columns(2)
        a.plotly_chart(bubble_figure(chosen, "params"), width="stretch", key="bubble_params")
        b.plotly_chart(bubble_figure(chosen, "macs"), width="stretch", key="bubble_macs")
    with tabs[3]:
        st.dataframe(config_diff([by_id[i] for i in selected]), width="stretch", key="config_diff")
st.divider()
manage(store, all_runs)
