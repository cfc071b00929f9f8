"""The model being built: kept in the session and in the URL, so a link reproduces it.

The URL carries the same words as the CLI: `?model=vgg:1x64,1x128&input=1x96x96&width_divisor=4`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import streamlit as st

from cnnlab import ConfigError, ModelConfig, model_config
from cnnlab.analysis import analyze
from cnnlab.spec import PRESETS, AlexNetSpec, ResNetSpec, VGGSpec, format_vgg_blocks
from dashboard.text import literal

DEFAULT = model_config("vgg11")
KEY = "model_config"
SIDES = (28, 256)
CHANNELS = (1, 3)
MAX_CLASSES = 1000
# URL parameter -> (spec field, parser)
OPTIONS = {"classes": int, "width_divisor": int, "fc_width": int, "stem": str, "batch_norm": bool}


def to_params(config: ModelConfig) -> dict[str, str]:
    """The shortest URL parameters that rebuild `config`."""
    arch = config.arch
    model = "vgg:" + format_vgg_blocks(arch.blocks) if isinstance(arch, VGGSpec) else config.name
    params = {"model": config.name if config.name in PRESETS else model, "input": str(config.input)}
    defaults = type(arch)()
    for name in OPTIONS:
        if hasattr(arch, name) and getattr(arch, name) != getattr(defaults, name):
            params[name] = "1" if getattr(arch, name) is True else str(getattr(arch, name))
    return params


def from_params(params: Mapping[str, str]) -> ModelConfig:
    """Parse URL parameters; ConfigError names what is wrong."""
    options = {}
    for name, kind in OPTIONS.items():
        if name in params:
            text = params[name]
            if kind is bool:
                if text.lower() not in ("1", "true", "0", "false"):
                    raise ConfigError(f"URL parameter {name}={text!r} is not 1/true or 0/false")
                options[name] = text.lower() in ("1", "true")
            elif kind is int:
                if not re.fullmatch(r"-?[0-9]{1,9}", text):
                    raise ConfigError(f"URL parameter {name}={text!r} is not a whole number")
                options[name] = int(text)
            else:
                options[name] = text
    return model_config(params.get("model", "vgg11"), params.get("input"), **options)


def checked(config: ModelConfig) -> ModelConfig:
    """`config` if the dashboard's controls can show it (square 1- or 3-channel input of 28 to 256
    pixels, at most 1000 classes) and the engine can analyse it; else a ConfigError saying why."""
    c, h, w = config.input.as_tuple()
    if c not in CHANNELS or h != w or not SIDES[0] <= h <= SIDES[1]:
        raise ConfigError(f"the dashboard takes square 1- or 3-channel inputs of {SIDES[0]} to {SIDES[1]} "
                          f"pixels, not {config.input} (the CLI takes any size)")
    if config.arch.classes > MAX_CLASSES:
        raise ConfigError(f"the dashboard takes at most {MAX_CLASSES} classes, not {config.arch.classes}")
    analyze(config)
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


def remember(config: ModelConfig) -> None:
    """Make `config` the session's model and put it in the URL."""
    st.session_state[KEY] = config
    params = to_params(config)
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


def describe(config: ModelConfig) -> str:
    """One line for the model: 'vgg11 (width ÷4) · input 1x224x224 · 10 classes'."""
    arch, extras = config.arch, []
    if isinstance(arch, VGGSpec | ResNetSpec) and arch.width_divisor != 1:
        extras.append(f"width ÷{arch.width_divisor}")
    if isinstance(arch, VGGSpec) and arch.batch_norm:
        extras.append("batch norm")
    if isinstance(arch, ResNetSpec) and arch.stem != "imagenet":
        extras.append(f"{arch.stem} stem")
    if isinstance(arch, AlexNetSpec | VGGSpec) and arch.fc_width != 4096:
        extras.append(f"FC {arch.fc_width}")
    name = config.name + (f" ({', '.join(extras)})" if extras else "")
    return f"{name} · input {config.input} · {arch.classes} classes"
