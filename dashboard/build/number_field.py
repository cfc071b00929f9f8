"""A whole-number field that takes whatever is typed, as text, so a value out of range is answered with the
range and the text as it was typed (a Streamlit number field keeps its old value without a word when a
bound is crossed, and reads "1e9" as 1)."""

from __future__ import annotations

import re

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

MAX_CHARS = 24  # more digits than any bound: a longer text is not cut short in the message
_WHOLE = re.compile(r"\s*([0-9]+)\s*")  # ASCII digits only, as the CLI's words


def whole_number(where: DeltaGenerator, label: str, low: int, high: int, key: str,
                 help: str | None = None, default: int | None = None) -> str:
    """A text field for a whole number under `key` (first `default`); returns the text as typed. Its
    help names the range; `range_problem` checks the text and `whole` reads it."""
    if default is not None:
        st.session_state.setdefault(key, str(default))
    if isinstance(st.session_state.get(key), int):  # a model's own value, put there as a number
        st.session_state[key] = str(st.session_state[key])
    text = f"{help + ' ' if help else ''}A whole number from {low:,} to {high:,}."
    return where.text_input(label, key=key, help=text, max_chars=MAX_CHARS)


def whole(text: str | None) -> int | None:
    """The whole number `text` holds (surrounding spaces allowed); None if it holds none."""
    match = _WHOLE.fullmatch(text or "")
    return None if match is None else int(match.group(1))


def range_problem(label: str, text: str | None, low: int, high: int) -> str | None:
    """'Input size must be a whole number from 28 to 256, got 1e9.' (the text as typed); None when `text`
    is a whole number in range."""
    value = whole(text)
    if value is not None and low <= value <= high:
        return None
    shown = (text or "").strip() or "nothing"
    return f"{label} must be a whole number from {low:,} to {high:,}, got {shown}."


class Fields:
    """A page's or panel's whole-number fields: each takes whatever is typed and is checked against its
    range, so a value out of range is named with the range (not clamped or ignored without a word);
    `problems` holds the sentences, and no result should be drawn while there is one."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def number(self, where: DeltaGenerator, label: str, low: int, high: int, key: str, default: int,
               help: str | None = None) -> int | None:
        """The field's whole number, or None (its problem noted) when it holds none in range."""
        typed = whole_number(where, label, low, high, key, help=help, default=default)
        if (problem := range_problem(label, typed, low, high)) is not None:
            self.problems.append(problem)
            return None
        return whole(typed)
