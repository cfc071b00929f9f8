"""`cnnlab diagram`: the network drawn as boxes and arrows, as an SVG or PNG file."""

from __future__ import annotations

import argparse
from pathlib import Path

from cnnlab.cli.options import model_command, model_config_from_args
from cnnlab.cli.output import emit
from cnnlab.diagram import FORMATS, diagram
from cnnlab.errors import ConfigError, quoted


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = model_command(sub, "diagram", run, help="the network drawn as boxes and arrows (SVG or PNG)",
                           description="Draw MODEL's traced graph with Graphviz: one box per layer (or, "
                                       "with --collapse, per block), residual additions and "
                                       "concatenations as such. The format follows the file's suffix.")
    parser.add_argument("--collapse", action="store_true", help="one box per block, repeats as '× n'")
    parser.add_argument("--output", metavar="FILE.svg|FILE.png", required=True, help="the file to write")


def run(args: argparse.Namespace) -> int:
    fmt = Path(args.output).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ConfigError(f"--output must end in .svg or .png, not {quoted(args.output)}")
    emit(diagram(model_config_from_args(args), collapse=args.collapse).render(fmt), args.output)
    return 0
