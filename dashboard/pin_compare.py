"""Pin A, compare B: the Build page's model pinned as A stays beside the model being edited (B).

The URL carries A with the Build page's own words, prefixed: `?model=vgg16&pin_model=vgg11`.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cnnlab import ConfigError, ModelConfig
from cnnlab.analysis import Summary, analyze, format_pair
from cnnlab.compare import Stage, aligned_stages
from cnnlab.reports.headline import headline_rows
from cnnlab.units import format_count
from dashboard import model_state
from dashboard.text import literal

KEY = "pinned_model"
PREFIX = "pin_"

# Pixel widths that fit a third of the page each (the stages' MACs are in the CLI's `compare`).
HEADLINE_WIDTHS = {name: st.column_config.TextColumn(name, width=width)
                   for name, width in (("", 120), ("A", 72), ("B", 72), ("B/A", 55))}
STAGE_WIDTHS = {name: st.column_config.TextColumn(name, width=width)
                for name, width in (("layers", 95), ("output", 85), ("params", 62), ("RF", 40))}


# The three tables need about 920 px side by side: in a narrower window (a projector's 1024 px) the
# headline takes its own row, above A's and B's stages, so no column (B/A, RF) is cut off.
WRAP = """<style>@media (max-width: 1300px) {
.st-key-pin_row [data-testid="stHorizontalBlock"] {flex-wrap: wrap}
.st-key-pin_row [data-testid="stColumn"]:has(.st-key-pin_headline) {flex: 1 1 100% !important;
  min-width: 100% !important}
.st-key-pin_headline [data-testid="stDataFrame"] {max-width: 420px}}</style>"""


@st.cache_data(max_entries=64, show_spinner=False)
def stage_summary(config_json: str) -> Summary:
    """The depth-1 analysis of one config (cached); stages group its rows."""
    return analyze(ModelConfig.from_dict(json.loads(config_json)), levels=1)


def link_params(a: ModelConfig | None, b: ModelConfig) -> dict[str, str]:
    """The Build page's URL parameters for B, with A pinned beside it."""
    return model_state.to_params(b) | _pin_params(a)


def _pin_params(a: ModelConfig | None) -> dict[str, str]:
    return {} if a is None else {PREFIX + k: v for k, v in model_state.to_params(a).items()}


def pinned() -> ModelConfig | None:
    """Model A: the session's, or on a first visit the one in the link's `pin_` parameters."""
    if KEY not in st.session_state:
        params = {k[len(PREFIX):]: v for k, v in st.query_params.to_dict().items() if k.startswith(PREFIX)}
        st.session_state[KEY] = None
        if params:
            try:
                st.session_state[KEY] = model_state.checked(model_state.from_params(params))
            except ConfigError as exc:
                st.error(literal(f"The link's pinned model A could not be used: {exc}"))
    return st.session_state[KEY]


def _pin(config: ModelConfig | None) -> None:
    st.session_state[KEY] = config


def _sync_url(a: ModelConfig | None) -> None:
    wanted = _pin_params(a)
    current = st.query_params.to_dict()
    for key in [k for k in current if k.startswith(PREFIX) and k not in wanted]:
        del st.query_params[key]
    if any(current.get(k) != v for k, v in wanted.items()):
        st.query_params.update(wanted)


def panel(config: ModelConfig, side: DeltaGenerator) -> None:
    """The pin buttons in `side` (under the controls) and, with A pinned, A beside B (`config`) here."""
    a = pinned()
    side.divider()
    side.button("Pin this model as A", key="pin_a", on_click=_pin, args=(config,),
                help="Keep this model as A, then change the controls: B is compared with it.")
    if a is not None:
        side.caption(f"A: {model_state.describe(a)}")
        side.button("Unpin A", key="unpin_a", on_click=_pin, args=(None,))
    _sync_url(a)
    if a is None:
        return
    sa, sb = (stage_summary(json.dumps(c.to_dict())) for c in (a, config))
    pairs = aligned_stages(sa, sb)
    st.html(WRAP)
    first, *sides = st.container(key="pin_row").columns([1.1, 1, 1])
    with first.container(key="pin_headline"):
        st.caption("A beside B: B is the model of the controls; the ratios are B/A.")
        st.dataframe(headline_frame(sa, sb), hide_index=True, width="stretch", column_config=HEADLINE_WIDTHS)
    for column, side, model, stages in zip(sides, "AB", (a, config), zip(*pairs, strict=True), strict=True):
        with column.container(key=f"pin_stages_{side.lower()}"):
            st.caption(literal(f"{side}: {model_state.describe(model)}"))
            st.dataframe(stage_frame(list(stages)), hide_index=True, width="stretch",
                         column_config=STAGE_WIDTHS)


def headline_frame(a: Summary, b: Summary) -> pd.DataFrame:
    """One row per headline figure: A's, B's and B/A."""
    return pd.DataFrame(headline_rows(a, b, missing="—"), columns=["", "A", "B", "B/A"])


def stage_frame(stages: list[Stage | None]) -> pd.DataFrame:
    """The stages of one side, row k beside the other side's row k (blank where it has fewer)."""
    blank = dict.fromkeys(STAGE_WIDTHS, "")
    return pd.DataFrame([blank if s is None else {
        "layers": s.name, "output": "×".join(map(str, s.output_shape)), "params": format_count(s.params),
        "RF": "—" if s.rf is None else format_pair(s.rf)} for s in stages])
