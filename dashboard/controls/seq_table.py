"""`seq`'s controls: the layer table (one row per layer: its type and arguments) and "start from"."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cnnlab import ConfigError, ModelConfig, limits
from cnnlab.errors import quoted
from cnnlab.families import PRESETS, family_of
from cnnlab.families.seq import KINDS, Layer, SeqSpec
from dashboard import model_state

COLUMNS = ("#", "type", "kernel", "out", "stride", "padding", "dilation", "groups", "bias", "ceil", "p")
KEYS = ("seq_base", "seq_layers", "seq_start", "seq_renumber")
WIDE = True  # a layer's eleven columns need the page's width


def _has_seq(spec: Any) -> bool:
    try:
        family_of(spec).seq_of(spec)
    except ConfigError:
        return False
    return True


def starts() -> list[str]:
    """"Start from"'s choices: the presets with a seq form, the plain chains (ResNet's residual blocks
    have none)."""
    return ["—", *(name for name, spec in PRESETS.items() if _has_seq(spec))]


def rows_of(layers: tuple[Layer, ...]) -> list[dict[str, Any]]:
    """One table row per layer; arguments the layer's type does not take are left empty."""
    return [{"#": i, "type": layer.kind, **{name: getattr(layer, name) for name in KINDS[layer.kind].args}}
            for i, layer in enumerate(layers, 1)]


def table_of(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The rows as the editor's frame: numbers as floats, padding as text, flags as nullable booleans."""
    padded = [{**row, "padding": str(row["padding"]) if "padding" in row else None} for row in rows]
    frame = pd.DataFrame(padded, columns=COLUMNS).astype({"padding": object})
    frame[["bias", "ceil"]] = frame[["bias", "ceil"]].astype("boolean")
    numbers = ["#", "kernel", "out", "stride", "dilation", "groups", "p"]
    frame[numbers] = frame[numbers].astype(float)
    return frame


def init(arch: SeqSpec) -> dict[str, Any]:
    if "seq_layers" not in st.session_state:
        st.session_state["seq_base"] = rows_of(arch.layers)
    return {"seq_start": "—"}


def start() -> SeqSpec:
    """Picking the family starts from LeNet's layers (the textbook's first network)."""
    return family_of(PRESETS["lenet"]).seq_of(PRESETS["lenet"])


def on_start_change() -> None:
    """Make the model a preset's layers at the preset's input; the table and inputs follow it."""
    name = st.session_state["seq_start"]
    if name == "—":
        return
    preset = PRESETS[name]
    family = family_of(preset)
    st.session_state[model_state.KEY] = ModelConfig(family.seq_of(preset), family.default_input)
    for key in ("seq_layers", "in_channels", "in_size", "classes"):
        st.session_state.pop(key, None)


def draw(side: DeltaGenerator) -> Callable[[], dict[str, Any]]:
    """"Start from" and the layer table; returns the reader of the layers."""
    side.selectbox("Start from", starts(), key="seq_start", on_change=on_start_change,
                   help="Fill the table with a preset's layers (ResNet has none: its blocks branch).")
    side.caption("One row per layer; the classifier (classes) comes last. Edit **#** to move a row "
                 "(2.5 goes between rows 2 and 3); add or delete rows at the table's edge.")
    base = table_of(st.session_state["seq_base"])
    def number(label: str, **args: Any) -> Any:  # narrow, so that more of the arguments show
        return st.column_config.NumberColumn(label, width="small", **args)

    with side:
        table = st.data_editor(
            base, key="seq_layers", num_rows="dynamic", width="stretch", hide_index=True, placeholder="—",
            column_config={
                "#": number("#", help="position; edit it to move the row"),
                "type": st.column_config.SelectboxColumn("type", options=list(KINDS), required=True,
                                                         help=", ".join(KINDS)),
                "kernel": number("kernel", min_value=1, max_value=limits.MAX_KERNEL, step=1),
                "out": number("out", help="conv: channels; fc: features", min_value=1,
                              max_value=max(limits.MAX_CHANNELS, limits.MAX_FC_WIDTH), step=1),
                "stride": number("stride", min_value=1, max_value=limits.MAX_STRIDE, step=1),
                "padding": st.column_config.TextColumn("padding", help="a number, or same (conv)",
                                                       width="small"),
                "dilation": number("dilation", min_value=1, max_value=limits.MAX_DILATION, step=1),
                "groups": number("groups", min_value=1, max_value=limits.MAX_CHANNELS, step=1),
                "bias": st.column_config.CheckboxColumn("bias"),
                "ceil": st.column_config.CheckboxColumn("ceil", help="pooling: ceil mode"),
                "p": number("p", help="dropout probability", min_value=0.0, max_value=0.99, step=0.05),
            })
    return lambda: {"layers": layers_of(table)}


def layers_of(table: pd.DataFrame) -> tuple[Layer, ...]:
    """The table's layers in the order of their # (a row without one goes last); ConfigError names the row."""
    rows = table.to_dict("records")
    order = sorted(range(len(rows)), key=lambda i: (_empty(rows[i]["#"]), _number(rows[i]["#"]), i))
    layers = []
    for position, i in enumerate(order, 1):
        row = rows[i]
        try:
            layers.append(_layer(row))
        except ConfigError as exc:
            raise ConfigError(f"layer {position} of {len(rows) + 1} (row {i + 1}): {exc}") from None
    if any(_number(rows[i]["#"]) != p for p, i in enumerate(order, 1)) or any(map(_stale, rows)):
        # a row moved or was added (renumber), or a type changed under cells it does not take (blank them):
        # the table restarts from the model (see `sync`)
        st.session_state["seq_renumber"] = True
    return tuple(layers)


def _stale(row: dict[str, Any]) -> bool:
    """Whether `row` holds a value in a cell its type does not take (left from the type it had)."""
    takes = KINDS[row["type"]].args
    return any(not _empty(row[name]) and row[name] != "" for name in COLUMNS[2:] if name not in takes)


def sync(config: Any) -> None:
    """After a row moved or was added, show the table in its new order, numbered 1, 2, 3, ..."""
    if st.session_state.pop("seq_renumber", False):
        st.session_state.pop("seq_layers", None)  # the table restarts from the model (see `init`)
        st.rerun()


def _layer(row: dict[str, Any]) -> Layer:
    kind = row["type"]
    if _empty(kind):
        raise ConfigError("choose a type")
    args = {}
    takes = KINDS[kind].args
    for name in takes:
        value = row[name]
        if _empty(value) or value == "":
            continue
        if name == "padding":
            text = str(value).strip().lower()
            if text != "same" and not re.fullmatch(r"[0-9]{1,9}(\.0*)?", text):
                raise ConfigError(f"padding {quoted(text)} is not a whole number or 'same'")
            value = text if text == "same" else int(float(text))
        elif name in ("bias", "ceil"):
            value = bool(value)
        elif name != "p":
            value = _whole(name, value)
        args[name] = value
    if "kernel" in takes and "kernel" not in args:
        raise ConfigError(f"a {kind} layer needs a kernel")
    if "out" in takes and "out" not in args:
        raise ConfigError(f"a {kind} layer needs its out size")
    return Layer(kind, **args)


def _whole(name: str, value: Any) -> int:
    """A cell's number (the table stores 3 as 3.0) as an int; 3.5 is refused, never cut to 3."""
    if not float(value).is_integer():
        raise ConfigError(f"{name} must be a whole number, got {quoted(value)}")
    return int(value)


def _empty(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _number(value: Any) -> float:
    return math.inf if _empty(value) else float(value)
