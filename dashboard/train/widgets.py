"""The training options' widgets (the Train page's and its sweep panel's), drawn from the option table
(cnnlab.train.options): one widget per option, its value checked against the option's own bounds, and
the values' form in the page's link."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cnnlab import ConfigError
from cnnlab.errors import quoted
from cnnlab.option import format_value, parse_flag
from cnnlab.train.options import OPTIONS, TrainOption, options

_INT = re.compile(r"^-?[0-9]{1,18}$")


def help_text(option: TrainOption) -> str:
    """'Passes over the training set: a whole number from 1 to 1,000.' (and what leaving it empty means)."""
    text = f"{option.help[0].upper()}{option.help[1:]}"
    if option.kind is bool:
        return text + "."
    return f"{text}: {option.bounds()}." + (f" Empty: {option.unset}." if option.unset else "")


def initial(option: TrainOption, recipe: Mapping[str, Any]) -> Any:
    """The widget's first value: the page's recipe (e.g. Adam at 0.01 for a first run), else the default."""
    return recipe.get(option.name, option.default)


def draw(option: TrainOption, where: DeltaGenerator, key: str, recipe: Mapping[str, Any]) -> Any:
    """The option's widget in `where` (its value kept in the session under `key`); returns its value."""
    if key not in st.session_state:
        st.session_state[key] = initial(option, recipe)
    text = help_text(option)
    if option.kind is bool:
        return where.checkbox(option.label, key=key, help=text)
    if option.choices:
        return where.selectbox(option.label, option.choices, key=key, help=text)
    if option.kind is int:
        return where.number_input(option.label, value=None, step=1, key=key, help=text)
    if option.kind is float:
        return where.number_input(option.label, value=None, step=0.001, format="%g", key=key, help=text)
    return where.text_input(option.label, key=key, help=text, max_chars=200)


def draw_section(section: str, columns: list[DeltaGenerator], prefix: str,
                 recipe: Mapping[str, Any]) -> dict[str, Any]:
    """Every option the page shows in `section`, spread over `columns` in table order."""
    return {o.name: draw(o, columns[i % len(columns)], prefix + o.name, recipe)
            for i, o in enumerate(options(section))}


def problems(values: Mapping[str, Any], recipe: Mapping[str, Any]) -> list[str]:
    """One sentence per value its option refuses, naming the field and what it takes:
    'Epochs must be a whole number from 1 to 1,000, got 0.' A field the page fills in first (its
    `recipe` or the option's default has a value) must not be left empty: the run would silently get
    another value than the one the page showed."""
    found = []
    for name, value in values.items():
        option = OPTIONS[name]
        try:
            if value is None and initial(option, recipe) is not None:
                raise ConfigError(f"{name} is empty")
            option.validate(value)
        except ConfigError:
            shown = "nothing" if value is None else f"{value:g}" if isinstance(value, float) else \
                f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
            found.append(f"{option.label} must be {option.bounds()}, got {shown}.")
    return found


def to_link(values: Mapping[str, Any], recipe: Mapping[str, Any]) -> dict[str, str]:
    """URL parameters for the values that differ from their first value ('' for an unset one)."""
    return {name: link_text(value) for name, value in values.items()
            if value != initial(OPTIONS[name], recipe)}


def from_link(option: TrainOption, text: str) -> Any:
    """A URL parameter's value for `option` (read by the option's own `parse`); ConfigError names the
    parameter when it is not of its kind (whether it is in bounds is the page's check, as for a typed
    value)."""
    if text == "" and option.unset:
        return None
    try:
        return option.parse(text)
    except ConfigError:
        raise ConfigError(f"URL parameter {option.name}={quoted(text)} is not {option.bounds()}") from None


def option_parser(option: TrainOption, key: str) -> Callable[[str], Any]:
    """The link parser of `option`'s widget under `key` (the sweep panel's keys have a prefix)."""
    def parse(text: str) -> Any:
        try:
            return from_link(option, text)
        except ConfigError:
            raise ConfigError(f"URL parameter {key}={quoted(text)} is not {option.bounds()}") from None
    return parse


def whole_parser(key: str, low: int, high: int) -> Callable[[str], int]:
    """The link parser of a whole-number widget (not an option) from `low` to `high`."""
    def parse(text: str) -> int:
        if _INT.match(text) and low <= int(text) <= high:
            return int(text)
        raise ConfigError(f"URL parameter {key}={quoted(text)} is not a whole number from {low:,} to "
                          f"{high:,}")
    return parse


def flag_parser(key: str) -> Callable[[str], bool]:
    """The link parser of a checkbox that is not an option."""
    def parse(text: str) -> bool:
        try:
            return parse_flag(text)
        except ConfigError as exc:
            raise ConfigError(f"URL parameter {key}={exc}") from None
    return parse


def link_text(value: Any) -> str:
    """A widget's value as a URL parameter ('' for an unset one)."""
    return format_value(value)
