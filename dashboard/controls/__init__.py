"""The Build page's model controls, drawn from the family registry.

Every family gets its options as widgets (bounds from the registry); a family with a control of its
own (VGG's block table, seq's layer table, tv's and timm's model pickers) has a module here with
`init`, `draw` and `KEYS` (and optionally `sync`; `start`: the spec the family starts from when picked;
`WIDE = True`: its control is drawn across the page, not in the control column).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cnnlab import ConfigError, ModelConfig, limits, model_config
from cnnlab.families import FAMILIES, Family, Option, family_of
from cnnlab.inputs import InputSpec
from dashboard import model_state
from dashboard.build.number_field import range_problem, whole, whole_number
from dashboard.controls import seq_table, timm_picker, tv_picker, vgg_table

OWN_CONTROLS: dict[str, ModuleType] = {"vgg": vgg_table, "seq": seq_table, "tv": tv_picker,
                                       "timm": timm_picker}
INPUT_KEYS = ("family", "in_channels", "in_size")


def family_labelled(label: str) -> Family:
    """The registered family shown as `label` in the picker."""
    return next(family for family in FAMILIES.values() if family.label == label)


def init_widgets(config: ModelConfig) -> None:
    """Give every control its value from `config` unless the user has set it already."""
    arch = config.arch
    family = family_of(arch)
    defaults = {"family": family.label, "in_channels": config.input.channels,
                "in_size": str(config.input.height)}
    for option in family.options:
        value = getattr(arch, option.name)
        defaults[option.name] = str(value) if typed(option) else value
    if family.name in OWN_CONTROLS:
        defaults |= OWN_CONTROLS[family.name].init(arch)
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)


def reset_controls() -> None:
    """Forget every control's value (after a family switch or an upload) so they follow the model."""
    keys = [*INPUT_KEYS, *model_state.OPTIONS, *(k for module in OWN_CONTROLS.values() for k in module.KEYS)]
    for key in keys:
        st.session_state.pop(key, None)


def on_family_change() -> None:
    """Start the new family from its own control's `start()`, else its first preset, else its defaults."""
    family = family_labelled(st.session_state["family"])
    own = OWN_CONTROLS.get(family.name)
    if own is not None and hasattr(own, "start"):
        start = own.start()
    else:
        start = next(iter(family.presets.values()), family.spec())
    reset_controls()
    st.session_state[model_state.KEY] = model_config(start)


def typed(option: Option) -> bool:
    """Whether `option` is a whole number typed as text (`whole_number`), not a choice or a flag."""
    return option.kind is int and not option.choices


def bounds(option: Option) -> tuple[int, int]:
    """A number option's range on this page: the registry's (the dashboard's upper one for classes)."""
    high = limits.DASHBOARD_MAX_CLASSES if option.name == "classes" else option.high
    return option.low, high


def option_widget(side: DeltaGenerator, option: Option) -> Any:
    """One option as a widget: a choice as a selectbox (radio for words), a flag as a checkbox, a
    number as a whole-number input (its range checked in `controls`)."""
    if option.kind is bool:
        return side.checkbox(option.label, key=option.name, help=option.help)
    if option.choices and option.kind is str:
        return side.radio(option.label, option.choices, key=option.name, horizontal=True, help=option.help)
    if option.choices:
        return side.selectbox(option.label, option.choices, key=option.name, help=option.help)
    return whole_number(side, option.label, *bounds(option), key=option.name, help=option.help)


def controls(side: DeltaGenerator, wide: DeltaGenerator) -> ModelConfig:
    """Draw the model controls in `side` (a family's wide control in `wide`), then turn them into a model
    config (ConfigError naming every number out of its range, or what else makes no sense). Every control
    is drawn before anything is checked, so an error leaves them all in place."""
    labels = [family.label for family in FAMILIES.values()]  # read now: a family may register late
    family = family_labelled(side.selectbox("Family", labels, key="family", on_change=on_family_change))
    own = OWN_CONTROLS.get(family.name)
    read = own.draw(wide if getattr(own, "WIDE", False) else side) if own is not None else dict
    values = {o.name: option_widget(side, o) for o in family.options if o.name != "classes"}
    side.divider()
    left, right = side.columns(2)
    channels = left.selectbox("Input channels", limits.DASHBOARD_CHANNELS, key="in_channels",
                              help="1: grey, 3: colour.")
    sides = limits.DASHBOARD_MIN_SIDE, limits.DASHBOARD_MAX_SIDE
    size = whole_number(right, "Input size", *sides, key="in_size", help="Height = width, in pixels.")
    values |= {o.name: option_widget(side, o) for o in family.options if o.name == "classes"}
    numbers = [(o.label, values[o.name], *bounds(o)) for o in family.options if typed(o)]
    found = [p for p in (range_problem(*number) for number in [*numbers, ("Input size", size, *sides)]) if p]
    if found:
        raise ConfigError(" ".join(found))
    values |= {o.name: whole(values[o.name]) for o in family.options if typed(o)}
    spec = family.spec(**values, **read())
    side_px = whole(size)
    return ModelConfig(spec, InputSpec(channels, side_px, side_px))


def drawn_wide() -> bool:
    """Whether the picked family's own control is drawn across the page (its errors go right under it)."""
    own = OWN_CONTROLS.get(family_labelled(st.session_state["family"]).name)
    return getattr(own, "WIDE", False)


def sync(config: ModelConfig) -> None:
    """After a valid edit, let the family's own control catch up (e.g. show the matching preset)."""
    own = OWN_CONTROLS.get(config.arch.family)
    if own is not None and hasattr(own, "sync"):
        own.sync(config)
