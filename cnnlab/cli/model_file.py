"""MODEL as a model file (`FILE.pt2`, saved with `torch.export.save`) for `summary` and `field`."""

from __future__ import annotations

import argparse

from cnnlab.errors import ConfigError
from cnnlab.families import all_options
from cnnlab.inspect import Subject, from_file
from cnnlab.spec import InputSpec


def file_subject(args: argparse.Namespace) -> Subject:
    """The file's model with its weights, on --input or the input it was exported with."""
    given = [f"--{o.replace('_', '-')}" for o in all_options() if getattr(args, o, None) is not None]
    if getattr(args, "fc_as_conv", None) is not None:
        given.append("--fc-as-conv")
    if given:
        raise ConfigError(f"{', '.join(given)} apply to presets and model strings, not to a model file")
    return from_file(args.model, InputSpec.parse(args.input) if args.input else None)
