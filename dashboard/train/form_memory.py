"""The Train page's form, kept for the session and in the link.

Streamlit forgets a widget's value once a run of the script does not draw it (the user went to Compare),
and page navigation drops the link's parameters. So every field's value is also kept under one session
key that no widget owns, and put back before the widgets are drawn: the widget's own value if Streamlit
still has it, else the link's (a shared link, a reload, a tour step), else the one kept earlier in the
session. Nothing resets silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import streamlit as st

from cnnlab import ConfigError

KEPT = "train_form_kept"  # field key -> its last value in this session

Parser = Callable[[str], Any]  # a link's text -> the widget's value; ConfigError names what is wrong


def restore(parsers: Mapping[str, Parser]) -> list[str]:
    """Give every field in `parsers` (widget key -> parser of its link text) its value before it is
    drawn; returns one sentence per link value that could not be used (that field keeps its kept value
    or its default)."""
    kept = st.session_state.get(KEPT, {})
    wrong = []
    for key, parse in parsers.items():
        if key in st.session_state:
            continue
        if key in st.query_params:
            try:
                st.session_state[key] = parse(st.query_params[key])
                continue
            except ConfigError as exc:
                wrong.append(str(exc))
        if key in kept:
            st.session_state[key] = kept[key]
    return wrong


def keep(keys: Iterable[str]) -> None:
    """Remember the fields' current values for the session (called once the form is drawn)."""
    kept = st.session_state.setdefault(KEPT, {})
    kept.update({key: st.session_state[key] for key in keys if key in st.session_state})
