"""The family registry: every family cnnlab can build, declared once (see `family.Family`).

The CLI's options and model list, the dashboard's family picker and widget bounds, URL parsing and
spec files all read `FAMILIES`. Adding a family is one module and one line here.
"""

from __future__ import annotations

from typing import Any

from cnnlab.errors import ConfigError
from cnnlab.families import alexnet, lenet, resnet, seq, tv, vgg
from cnnlab.families.family import Family, Option

FAMILIES: dict[str, Family] = {f.name: f for f in (
    lenet.FAMILY,
    alexnet.FAMILY,
    vgg.FAMILY,
    resnet.FAMILY,
    seq.FAMILY,
    tv.FAMILY,
)}
PRESETS: dict[str, Any] = {name: spec for f in FAMILIES.values() for name, spec in f.presets.items()}


def family_of(spec: Any) -> Family:
    """The family of a spec."""
    return FAMILIES[spec.family]


def parse_model(text: str) -> Any:
    """A preset name ('vgg16', 'resnet50', ...) or a family's model string ('vgg:1x64', 'seq:c3-8,fc10')."""
    key = str(text).strip()
    prefix, colon, rest = key.partition(":")
    if colon and prefix.lower() in FAMILIES and FAMILIES[prefix.lower()].parse is not None:
        return FAMILIES[prefix.lower()].parse(rest)
    if key.lower() in PRESETS:
        return PRESETS[key.lower()]
    raise ConfigError(f"unknown model {text!r}; choose {models_help()}")


def models_help() -> str:
    """What MODEL may be, from every family."""
    return "; ".join(f.model_help for f in FAMILIES.values())


def all_options() -> dict[str, tuple[Option, list[str]]]:
    """Every option once, with the families that take it."""
    options: dict[str, tuple[Option, list[str]]] = {}
    for family in FAMILIES.values():
        for option in family.options:
            options.setdefault(option.name, (option, []))[1].append(family.name)
    return options


__all__ = ["FAMILIES", "PRESETS", "Family", "Option", "all_options", "family_of", "models_help",
           "parse_model"]
