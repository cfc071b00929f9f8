"""A whole-number field that takes whatever is typed, so a value out of range is answered with the range
(a Streamlit field with bounds only turns red and keeps its old value, without a word)."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator


def whole_number(where: DeltaGenerator, label: str, low: int, high: int, key: str,
                 help: str | None = None, default: int | None = None) -> int | None:
    """A whole-number input under `key` (first `default`, when given); None while it is empty. Its help
    names the range; `range_problem` checks it."""
    if default is not None:
        st.session_state.setdefault(key, default)
    text = f"{help + ' ' if help else ''}A whole number from {low:,} to {high:,}."
    return where.number_input(label, value=None, step=1, key=key, help=text)


def range_problem(label: str, value: int | None, low: int, high: int) -> str | None:
    """'Width divisor must be a whole number from 1 to 64, got 0.'; None when `value` is in range."""
    if value is not None and low <= value <= high:
        return None
    shown = "nothing" if value is None else f"{value:,}"
    return f"{label} must be a whole number from {low:,} to {high:,}, got {shown}."
