"""Run and group labels that say what differs: from the model family's defaults (÷4 width, batch norm),
from the dataset's own size (64 px) and from the defaults of the page or tool that launched the run (the
Train page's Adam at 0.01, not the CLI's SGD), and between the groups drawn together."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cnnlab.families import family_of
from cnnlab.spec import ModelConfig
from cnnlab.train.options import describe, options

# Set per run by nature, not by choice: a group's runs differ in them without being different settings.
PER_RUN = ("seed", "data_dir", "device", "save_weights", "limit_test")


def model_words(model: ModelConfig, resize: int | None = None) -> str:
    """'vgg11 ÷4 at 64 px': the model, its options set away from the family's defaults and the size the
    images were resized to."""
    arch = model.arch
    defaults = type(arch)()
    words = [model.name]
    for option in family_of(arch).options:
        value = getattr(arch, option.name)
        if option.name == "classes" or value == getattr(defaults, option.name):
            continue
        words.append(f"÷{value}" if option.name == "width_divisor" else option.label.lower()
                     if value is True else f"{option.label.lower()} {value}")
    if resize:
        words.append(f"at {resize} px")
    return " ".join(words)


def changed_options(values: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The training options in `values` set away from `defaults` (the launching page's first values,
    the option table's defaults for the rest), in table order; unset (None) values are left out."""
    firsts = {o.name: o.default for o in options()} | dict(defaults)
    return {o.name: values[o.name] for o in options() if o.group == "training" and o.name in values
            and values[o.name] is not None and values[o.name] != firsts.get(o.name)}


def run_label(model: ModelConfig, dataset: str, resize: int | None, values: Mapping[str, Any],
              defaults: Mapping[str, Any]) -> str:
    """'vgg11 ÷4 at 64 px on mnist · epochs=3 optimizer=sgd lr=0.9': what a run trained and every
    training option set away from the launching page's `defaults`."""
    changed = changed_options(values, defaults)
    head = f"{model_words(model, resize)} on {dataset}"
    return head + (f" · {describe(changed)}" if changed else "")


def flat(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested run config as {'model.arch.width_divisor': 4, 'lr': 0.01, ...}."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            out |= flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = tuple(value) if isinstance(value, list) else value
    return out


def short(key: str) -> str:
    """'model.arch.width_divisor' -> 'width_divisor'; 'model.input' stays 'input'."""
    return key.rsplit(".", 1)[-1]


def group_differences(groups: Mapping[int, Sequence[Mapping[str, Any]]]) -> dict[int, str]:
    """{group id: 'lr=0.01 width_divisor=2'}: for each group (its runs' configs), the settings that are
    the same within it and differ between the groups, by name in alphabetical order; '' when nothing
    does (one group, or groups of the same settings)."""
    common: dict[int, dict[str, Any]] = {}
    for gid, configs in groups.items():
        flats = [flat(c) for c in configs]
        common[gid] = {k: v for k, v in flats[0].items()
                       if short(k) not in PER_RUN and all(f.get(k) == v for f in flats[1:])}
    keys = sorted({k for shared in common.values() for k in shared})
    differing = [k for k in keys if len({repr(shared.get(k)) for shared in common.values()}) > 1]
    return {gid: describe({short(k): shared[k] for k in differing if k in shared})
            for gid, shared in common.items()}
