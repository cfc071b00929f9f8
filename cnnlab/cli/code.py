"""`cnnlab code`: the model as a self-contained PyTorch file."""

from __future__ import annotations

import argparse

from cnnlab.cli.options import model_command, model_config_from_args
from cnnlab.cli.output import emit
from cnnlab.code_export import python_code


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = model_command(sub, "code", run, help="the model as a PyTorch file that needs only torch",
                           description="Write MODEL as a self-contained .py file: the nn.Module as cnnlab "
                                       "builds it and build_model(). Not for tv: models.")
    parser.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")


def run(args: argparse.Namespace) -> int:
    emit(python_code(model_config_from_args(args)), args.output)
    return 0
