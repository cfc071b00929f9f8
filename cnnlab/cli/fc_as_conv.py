"""`summary --fc-as-conv [CxHxW]`: the summary of a network whose FC layers are rewritten as convolutions."""

from __future__ import annotations

import argparse

from cnnlab.analysis import Summary, analyze
from cnnlab.fc_as_conv import fc_as_conv_summary
from cnnlab.spec import InputSpec, ModelConfig


def add_fc_as_conv_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fc-as-conv", nargs="?", const="", metavar="CxHxW",
        help="rewrite AlexNet's/VGG's/LeNet's FC layers as convolutions (weights copied) and run on CxHxW "
             "(a larger image: the output is a class-score map); without CxHxW, on --input")


def analyze_fc_as_conv(config: ModelConfig, args: argparse.Namespace) -> Summary:
    """The plain summary, or with `--fc-as-conv` the converted network's on the larger input."""
    if args.fc_as_conv is None:
        return analyze(config, levels=args.levels)
    run_input = InputSpec.parse(args.fc_as_conv) if args.fc_as_conv else None
    return fc_as_conv_summary(config, run_input, levels=args.levels)
