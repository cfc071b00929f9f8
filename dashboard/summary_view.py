"""A summary's headline and layer table as the Build page draws them, for its own model and for an
uploaded one (`model_upload.panel`): counts with thousands separators, bytes in units, a dash for a
value a row has not."""

from __future__ import annotations

import streamlit as st

from cnnlab.analysis import Summary, format_pair
from cnnlab.units import format_bytes, format_count
from dashboard.text import literal

ROW_PX, TABLE_ROWS = 35, 60  # Streamlit's table row height; rows shown before a table scrolls
WINDOW_COLUMNS = {"kernel": "kernel", "stride": "stride", "padding": "pad", "dilation": "dilation",
                  "groups": "groups"}


def table_height(rows: int) -> int:
    """Pixels that show every row of a table up to TABLE_ROWS rows (then it scrolls)."""
    return ROW_PX * (min(rows, TABLE_ROWS) + 1) + 3


def headline(summary: Summary, key: str, stale: str | None = None) -> None:
    """The model's totals, the exact parameter count under the rounded one; after an error (`stale`
    names the model shown), greyed and captioned as the last valid model."""
    t, final = summary.totals, summary.final_field
    if stale:
        st.html(f"<style>.st-key-{key}_stale [data-testid='stMetric'] {{opacity: 0.4}}</style>")
        st.caption(literal(f"⚠ Last valid model, not the controls' current values: {stale}"))
    cols = st.container(key=f"{key}_stale" if stale else key).columns(5)
    cols[0].metric("Parameters", format_count(t.params), help="Weights and biases")
    cols[0].caption(f"{t.params:,} exactly", help="The exact count of weights and biases")
    cols[1].metric("MACs per image", format_count(t.macs),
                   help="Multiply-accumulates of one forward pass (convolutions and linear layers).")
    cols[2].metric("Weight memory", format_bytes(t.param_bytes), help="float32 parameters")
    cols[3].metric("Activation memory", format_bytes(t.activation_bytes),
                   help="The distinct layer outputs of one image (float32; in-place layers and views "
                        "share memory), kept for the backward pass.")
    cols[4].metric("Receptive field", "-" if final is None else f"{format_pair(final.rf)} px",
                   help="How many input pixels one unit of the last feature map sees (padding included).")


def layer_table(rows: Summary, key: str) -> None:
    """Every row with its window, shape, field, parameters and MACs; the whole table shows up to
    TABLE_ROWS rows, and names are never cut."""
    frame = rows.to_frame()
    windows = [row.window for row in rows.layers if row.window is not None]
    shown = [c for c in ("kernel", "stride", "padding") if windows]
    shown += [c for c in ("dilation", "groups") if any(frame[c].dropna().astype(str) != "1")]
    frame = frame[["name", "type", "output_shape", *shown, "rf", "jump", "params", "macs", "output_bytes"]]
    frame["output_bytes"] = frame["output_bytes"].map(format_bytes)
    text = [c for c in frame.columns if c in WINDOW_COLUMNS or c in ("rf", "jump")]
    frame[text] = frame[text].astype(object).where(frame[text].notna(), "—")
    longest = max((len(name) for name in frame["name"]), default=4)
    st.dataframe(frame, hide_index=True, width="stretch", key=key, height=table_height(len(frame)),
                 column_config={
                     "name": st.column_config.TextColumn("layer", width=max(7 * longest + 24, 70)),
                     "type": st.column_config.TextColumn("type", width=95),
                     "output_shape": st.column_config.TextColumn("output shape", width=90),
                     "output_bytes": st.column_config.TextColumn("output", help="float32, 1 image", width=78),
                     **{c: st.column_config.TextColumn(WINDOW_COLUMNS[c], width=48) for c in shown},
                     "params": st.column_config.NumberColumn("params", format="localized", width=92),
                     "macs": st.column_config.NumberColumn("MACs", format="localized", width=105),
                     "rf": st.column_config.TextColumn("RF", help="receptive field, input pixels", width=45),
                     "jump": st.column_config.TextColumn("jump", help="stride product", width=45)})
