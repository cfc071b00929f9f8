"""The words that rebuild a model on the command line: 'vgg11 --width-divisor 4'."""

from __future__ import annotations

from dataclasses import fields

from cnnlab.families import all_options
from cnnlab.spec import ArchSpec, model_name, parse_model

FITTED = {"classes"}  # a run fits these to its dataset: `train` sets them without being told


def model_words(arch: ArchSpec) -> str:
    """MODEL and the model options of `cnnlab summary`/`train` that give `arch` (the options left at the
    preset's defaults are left out, and so are the classes, which `train` takes from the dataset).
    A field the command line has no option for is added as 'field=value' after a '+'."""
    name = model_name(arch)
    base = parse_model(name)
    flags = {name: option.flag for name, (option, _) in all_options().items()}
    words, rest = [name], []
    for field in fields(arch):
        value = getattr(arch, field.name)
        if field.name in FITTED or value == getattr(base, field.name):
            continue
        if field.name not in flags:
            rest.append(f"{field.name}={value}")
        elif isinstance(value, bool):
            words.append(flags[field.name])  # the only flag of this kind (--batch-norm) turns it on
        else:
            words += [flags[field.name], str(value)]
    return " ".join(words) + (f" + {' '.join(rest)}" if rest else "")

