"""VGG's controls: the paper's presets and the block table (add, delete and change rows)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cnnlab import ConfigError, ModelConfig, limits
from cnnlab.families.vgg import VGG_BLOCKS, VGGSpec
from dashboard.build.number_field import whole

PRESETS = {f"VGG-{name[3:]}": name for name in VGG_BLOCKS} | {"custom": None}
KEYS = ("vgg_preset", "vgg_base", "blocks", "preset_shown", "preset_chosen")


def init(arch: VGGSpec) -> dict[str, Any]:
    """Session defaults for `arch`."""
    if "preset_shown" in st.session_state:  # the table's blocks changed the preset (see `sync`)
        st.session_state["vgg_preset"] = st.session_state.pop("preset_shown")
    # The table's edits are kept relative to `vgg_base`. Without them (a first visit, a return from
    # another page, "custom" chosen) the table starts from the model itself; after a preset choice,
    # from that preset.
    if "blocks" not in st.session_state and not st.session_state.pop("preset_chosen", False):
        st.session_state["vgg_base"] = [list(b) for b in arch.blocks]
    return {"vgg_preset": preset_label(arch.blocks)}


def preset_label(blocks: tuple[tuple[int, int], ...]) -> str:
    """The preset with these blocks, or "custom"."""
    return next((label for label, name in PRESETS.items() if name and VGG_BLOCKS[name] == blocks), "custom")


def on_preset_change() -> None:
    name = PRESETS[st.session_state["vgg_preset"]]
    if name:
        st.session_state["vgg_base"] = [list(b) for b in VGG_BLOCKS[name]]
        st.session_state["preset_chosen"] = True
    st.session_state.pop("blocks", None)


def draw(side: DeltaGenerator) -> Callable[[], dict[str, Any]]:
    """The preset picker and the block table; returns the reader of the blocks (called once every
    control is drawn)."""
    side.selectbox("Preset", list(PRESETS), key="vgg_preset", on_change=on_preset_change,
                   help="The VGG paper's configurations A, B, D and E; edit the table for your own.")
    side.caption("Blocks: each is N 3×3 convolutions then a 2×2 max-pool. Add or delete rows.")
    divisor = whole(st.session_state.get("width_divisor"))  # the field's text; None while it holds none
    if divisor is not None and divisor > 1:
        side.caption(f"Channels as the paper writes them: the network builds each ÷ {divisor} (width "
                     f"divisor below): 64 → {64 // divisor}, 512 → {512 // divisor}.")
    base = pd.DataFrame(st.session_state["vgg_base"], columns=["num_convs", "out_channels"])
    last = int(base["out_channels"].iloc[-1]) if len(base) else 64  # a new row starts filled in, no "None"
    with side:
        table = st.data_editor(
            base, key="blocks", num_rows="dynamic", width="stretch", hide_index=True,
            column_config={
                "num_convs": st.column_config.NumberColumn(
                    "convs", help="3×3 convolutions in the block", min_value=1,
                    max_value=limits.MAX_CONVS_PER_BLOCK, step=1, width="small", default=1),
                "out_channels": st.column_config.NumberColumn(
                    "channels", help="output channels of the block", min_value=1,
                    max_value=limits.MAX_CHANNELS, step=1, width="small", default=last),
            })
    return lambda: {"blocks": blocks_of(table)}


def blocks_of(table: pd.DataFrame) -> tuple[tuple[int, int], ...]:
    blocks = []
    for i, (convs, channels) in enumerate(table.itertuples(index=False), 1):
        if pd.isna(convs) or pd.isna(channels):
            raise ConfigError(f"VGG block {i} has an empty cell; fill in both numbers or delete the row")
        blocks.append((int(convs), int(channels)))
    return tuple(blocks)


def sync(config: ModelConfig) -> None:
    """After a table edit, show the preset the blocks now match, or "custom" (one more rerun)."""
    label = preset_label(config.arch.blocks)
    if st.session_state.get("vgg_preset") != label:
        st.session_state["preset_shown"] = label
        st.rerun()
