"""The family registry: every family cnnlab can build, declared once (see `family.Family`).

The CLI's options and model list, the dashboard's family picker and widget bounds, URL parsing and
spec files all read `FAMILIES`. Adding a family is one module and one line here (or `register` at run
time).
"""

from __future__ import annotations

from typing import Any

from cnnlab.errors import ConfigError, quoted
from cnnlab.families import alexnet, lenet, resnet, seq, timm_models, tv, vgg
from cnnlab.families.family import Family
from cnnlab.families.options import Option

FAMILIES: dict[str, Family] = {}
PRESETS: dict[str, Any] = {}


def register(family: Family) -> None:
    """Add a family: its model strings, presets and options reach the CLI, spec files and URLs (the
    dashboard's family picker reads the registry when it draws). A name or preset already taken is an
    error."""
    if family.name in FAMILIES:
        raise ValueError(f"a family named {family.name!r} is registered already")
    taken = sorted(set(family.presets) & set(PRESETS))
    if taken:
        raise ValueError(f"the {family.name} family's presets {', '.join(taken)} are taken already")
    FAMILIES[family.name] = family
    PRESETS.update(family.presets)


for _family in (lenet.FAMILY, alexnet.FAMILY, vgg.FAMILY, resnet.FAMILY, seq.FAMILY, tv.FAMILY,
                timm_models.FAMILY):
    register(_family)


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
    raise ConfigError(f"unknown model {quoted(text)}; choose {models_help()}")


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
           "parse_model", "register"]
