"""The model being built: kept in the session and in the URL, so a link reproduces it.

The URL carries the same words as the CLI: `?model=vgg:1x64,1x128&input=1x96x96&width_divisor=4`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import streamlit as st

from cnnlab import ConfigError, ModelConfig, limits, model_config
from cnnlab.analysis import Summary
from cnnlab.families import all_options, family_of
from cnnlab.jobs import tasks
from dashboard import jobs
from dashboard.text import literal

DEFAULT = model_config("vgg11")
KEY = "model_config"
OPTIONS = all_options()  # URL parameter -> (its option, the families that take it)


def to_params(config: ModelConfig) -> dict[str, str]:
    """The shortest URL parameters that rebuild `config`: the model string, the input and the options
    that differ from the family's defaults."""
    arch = config.arch
    params = {"model": config.name, "input": str(config.input)}
    defaults = type(arch)()
    for option in family_of(arch).options:
        value = getattr(arch, option.name)
        if value != getattr(defaults, option.name):
            params[option.name] = option.format(value)
    return params


def from_params(params: Mapping[str, str]) -> ModelConfig:
    """Parse URL parameters (each option's text by its own `parse`); ConfigError names what is wrong."""
    options: dict[str, object] = {}
    for name, (option, _) in OPTIONS.items():
        if name in params:
            try:
                options[name] = option.parse(params[name])
            except ConfigError as exc:
                raise ConfigError(f"URL parameter {name}={exc}") from None
    return model_config(params.get("model", "vgg11"), params.get("input"), **options)


def summarize(config_json: str, levels: int | None = None) -> Summary:
    """The analysis of one config, computed once per server by a worker process (dashboard/jobs.py) and
    shared by every session (a Summary is frozen): a class opening one link traces the model once, not
    once per visitor, and thirty new models are traced outside the server's own interpreter."""
    return jobs.result(("analysis", config_json, levels), "The analysis", tasks.analysis, config_json,
                       levels)


def checked(config: ModelConfig) -> ModelConfig:
    """`config` if the dashboard's controls can show it (square 1- or 3-channel input of 28 to 256
    pixels, at most 1000 classes) and the engine can analyse it; else a ConfigError saying why."""
    c, h, w = config.input.as_tuple()
    low, high = limits.DASHBOARD_MIN_SIDE, limits.DASHBOARD_MAX_SIDE
    if c not in limits.DASHBOARD_CHANNELS or h != w or not low <= h <= high:
        raise ConfigError(f"the dashboard takes square 1- or 3-channel inputs of {low} to {high} pixels, "
                          f"not {config.input} (the CLI takes any size)")
    if config.arch.classes > limits.DASHBOARD_MAX_CLASSES:
        raise ConfigError(f"the dashboard takes at most {limits.DASHBOARD_MAX_CLASSES} classes, "
                          f"not {config.arch.classes}")
    summarize(json.dumps(config.to_dict()))
    return config


def current() -> ModelConfig:
    """The session's model; on a first visit, the one in the URL (or VGG-11 with an error)."""
    if KEY not in st.session_state:
        config = DEFAULT
        if any(key in st.query_params for key in ("model", "input", *OPTIONS)):
            try:
                config = checked(from_params(st.query_params.to_dict()))
            except ConfigError as exc:
                st.error(literal(f"The link's model could not be used: {exc}. Showing VGG-11 instead."))
        st.session_state[KEY] = config
    return st.session_state[KEY]


def remember(config: ModelConfig, page_params: Mapping[str, str] | None = None) -> None:
    """Make `config` the session's model and put it in the URL, with the page's own parameters."""
    st.session_state[KEY] = config
    params = to_params(config) | dict(page_params or {})
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


def describe(config: ModelConfig) -> str:
    """One line for the model: 'vgg11 (width divisor 4, batch norm) · input 1x224x224 · 10 classes'."""
    arch = config.arch
    defaults = type(arch)()
    extras = [option.label.lower() if value is True else f"{option.label.lower()} {value}"
              for option in family_of(arch).options if option.name not in ("classes", "depth")
              and (value := getattr(arch, option.name)) != getattr(defaults, option.name)]
    name = config.name + (f" ({', '.join(extras)})" if extras else "")
    return f"{name} · input {config.input} · {arch.classes} classes"
